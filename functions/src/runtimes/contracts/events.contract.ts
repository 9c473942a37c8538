/**
 * The events port's contract: delivery semantics as a handler sees them.
 * Each adapter supplies a harness that wires the given subscriptions to its
 * bus, because delivery is the runtime's job rather than the port's alone.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RetryableError } from '../../platform/errors.js';
import type { DocumentStore, EventBus, EventEnvelope } from '../../platform/ports.js';

export interface SubscriptionUnderTest {
  /** Lower camel case; unique within the harness. */
  key: string;
  topic: string;
  maxAttempts: number;
  handler(event: EventEnvelope, documents: DocumentStore): Promise<void>;
}

export interface EventBusHarness {
  bus: EventBus;
  documents: DocumentStore;
  /** Waits until every published event has been delivered or dead-lettered. */
  settle(): Promise<void>;
  /** Delivers every event of `topic` from `fromOffset` again to one subscription (at-least-once in action). */
  redeliverAll(key: string): Promise<void>;
  deadLetters(key: string): Promise<Array<{ id: string; attempts: number; lastError: string | null }>>;
  teardown(): Promise<void>;
}

const fast = 0.01; // seconds of backoff: fast enough for tests on every adapter that allows it

export { fast as CONTRACT_MIN_BACKOFF_SECONDS };

export interface EventBusCapabilities {
  /**
   * Whether events sharing an ordering key reach the handler in publish order.
   * The embedded log does; Eventarc's push delivery of Pub/Sub does not, so on
   * Firebase ordered work goes through one task queue instead.
   * @default true
   */
  orderedDelivery?: boolean;
}

export function describeEventBusContract(
  name: string,
  setup: (subscriptions: SubscriptionUnderTest[]) => Promise<EventBusHarness>,
  capabilities: EventBusCapabilities = {},
): void {
  describe(`events port contract: ${name}`, () => {
    let h: EventBusHarness | undefined;
    afterEach(async () => {
      await h?.teardown();
      h = undefined;
    });

    it('delivers data, attributes and a stable id, first attempt numbered 1', async () => {
      const seen: EventEnvelope[] = [];
      h = await setup([
        { key: 'seen', topic: 'contract.basic', maxAttempts: 3, handler: async (e) => void seen.push(e) },
      ]);
      const id = await h.bus.publish(
        'contract.basic',
        { hello: 'world' },
        { attributes: { source: 'test' } },
      );
      await h.settle();
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({
        id,
        topic: 'contract.basic',
        data: { hello: 'world' },
        deliveryAttempt: 1,
      });
      expect(seen[0]?.attributes.source).toBe('test');
    });

    it('an event delivered twice produces one effect in a handler that keys on the event id', async () => {
      let deliveries = 0;
      h = await setup([
        {
          key: 'effect',
          topic: 'contract.once',
          maxAttempts: 3,
          async handler(event, documents) {
            deliveries++;
            await documents.transaction(async (tx) => {
              const effect = await tx.get(`effects/${event.id}`);
              const total = await tx.get('totals/once');
              if (effect) return; // already applied: the redelivery changes nothing
              tx.create(`effects/${event.id}`, { at: Date.now() });
              tx.set('totals/once', {
                sum: Number(total?.data.sum ?? 0) + (event.data as { amount: number }).amount,
              });
            });
          },
        },
      ]);
      await h.bus.publish('contract.once', { amount: 5 });
      await h.settle();
      await h.redeliverAll('effect');
      await h.settle();
      expect(deliveries).toBe(2);
      expect((await h.documents.get('totals/once'))?.data.sum).toBe(5);
    });

    it('retries a failing handler with a growing attempt number until it succeeds', async () => {
      const attempts: number[] = [];
      h = await setup([
        {
          key: 'flaky',
          topic: 'contract.flaky',
          maxAttempts: 5,
          async handler(e) {
            attempts.push(e.deliveryAttempt);
            if (attempts.length < 3) throw new RetryableError('not yet');
          },
        },
      ]);
      await h.bus.publish('contract.flaky', {});
      await h.settle();
      expect(attempts).toEqual([1, 2, 3]);
      expect(await h.deadLetters('flaky')).toHaveLength(0);
    });

    it('dead-letters an event after exactly maxAttempts, keeping the last error', async () => {
      let calls = 0;
      h = await setup([
        {
          key: 'poison',
          topic: 'contract.poison',
          maxAttempts: 4,
          async handler() {
            calls++;
            throw new Error(`boom ${calls}`);
          },
        },
      ]);
      const id = await h.bus.publish('contract.poison', {});
      await h.settle();
      expect(calls).toBe(4);
      const dead = await h.deadLetters('poison');
      expect(dead).toHaveLength(1);
      expect(dead[0]?.id).toContain(id);
      expect(dead[0]?.attempts).toBe(4);
      expect(dead[0]?.lastError).toContain('boom 4');
    });

    if (capabilities.orderedDelivery ?? true) {
      it('delivers events with one ordering key in publish order, even across a retry', async () => {
        const order: number[] = [];
        let failedOnce = false;
        h = await setup([
          {
            key: 'ordered',
            topic: 'contract.ordered',
            maxAttempts: 5,
            async handler(e) {
              const n = (e.data as { n: number }).n;
              if (n === 1 && !failedOnce) {
                failedOnce = true;
                throw new RetryableError('first try of #1 fails');
              }
              order.push(n);
            },
          },
        ]);
        for (let n = 0; n < 6; n++)
          await h.bus.publish('contract.ordered', { n }, { orderingKey: 'account-1' });
        await h.settle();
        expect(order).toEqual([0, 1, 2, 3, 4, 5]);
      });
    }

    it('fans one event out to every subscription on its topic', async () => {
      const got: string[] = [];
      h = await setup([
        { key: 'left', topic: 'contract.fanout', maxAttempts: 2, handler: async () => void got.push('left') },
        {
          key: 'right',
          topic: 'contract.fanout',
          maxAttempts: 2,
          handler: async () => void got.push('right'),
        },
        {
          key: 'other',
          topic: 'contract.elsewhere',
          maxAttempts: 2,
          handler: async () => void got.push('other'),
        },
      ]);
      await h.bus.publish('contract.fanout', {});
      await h.settle();
      expect(got.sort()).toEqual(['left', 'right']);
    });
  });
}

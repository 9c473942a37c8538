/**
 * The events port contract (runtimes/contracts/events.contract.ts) against
 * the firebase runtime's events: PubSubEventBus publishing to the Pub/Sub
 * emulator, and each subscription delivered through the same wrapper the
 * `onMessagePublished` functions use (eventHandler), as Eventarc would
 * deliver it: a subscription without message ordering, a failed delivery
 * nacked and delivered again, the delivery count passed as
 * `deliveryAttempt`. A harness stands in for Eventarc because the functions
 * emulator does not deliver Pub/Sub events with retries.
 *
 * The Pub/Sub emulator is a download from Google, so this file runs only
 * where PUBSUB_EMULATOR_HOST is set (`npm run test:emulators`). Elsewhere it
 * registers no test at all, neither skipped nor passing, and says why on
 * stderr; it is left out of the default Vitest run for that reason.
 */
import { type Message, PubSub, type Subscription } from '@google-cloud/pubsub';
import { Message as PublishedMessage } from 'firebase-functions/v2/pubsub';
import { z } from 'zod';
import { defineOrchestrator, defineSubscription, functionName } from '../../platform/orchestrator.js';
import { readPage } from '../../platform/stored.js';
import { testPorts } from '../../test-support/ports.js';
import { describeEventBusContract } from '../contracts/events.contract.js';
import { openDatabase } from '../embedded/sqlite.js';
import { DeadLetterDocument } from './dead-letters.js';
import { eventHandler } from './functions.js';
import { PubSubEventBus } from './pubsub.js';

const SETTLE_TIMEOUT_MS = 60_000;

if (process.env.PUBSUB_EMULATOR_HOST) {
  describeEventBusContract(
    `Pub/Sub (emulator at ${process.env.PUBSUB_EMULATOR_HOST})`,
    async (wanted) => {
      const projectId = process.env.GCLOUD_PROJECT ?? 'demo-seraphim';
      const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
      const client = new PubSub({ projectId });
      const bus = new PubSubEventBus({ client: async () => client });
      const db = openDatabase({ file: ':memory:' });
      const ports = testPorts(db, {
        events: bus,
        enqueue: async () => {
          throw new Error('no tasks in the events contract');
        },
      });
      const { documents } = ports;
      const definition = defineOrchestrator({
        name: 'contract',
        events: Object.fromEntries(
          wanted.map((s) => [
            s.key,
            defineSubscription({
              topic: s.topic,
              data: z.unknown(),
              retry: { maxAttempts: s.maxAttempts },
              handler: (event, ctx) => s.handler(event, ctx.documents),
            }),
          ]),
        ),
      });

      /** Per subscription: published ids not yet acknowledged, ids already settled, the last copy of each message. */
      const pending = new Map<string, Set<string>>();
      const settled = new Map<string, Set<string>>();
      const received = new Map<string, Map<string, { message: Message; attempts: number }>>();
      const subscriptions: Subscription[] = [];

      for (const s of wanted) {
        const topic = client.topic(s.topic);
        await topic.get({ autoCreate: true });
        const [subscription] = await topic.createSubscription(`contract-${s.key}-${run}`, {
          ackDeadlineSeconds: 10,
        });
        subscriptions.push(subscription);
        pending.set(s.key, new Set());
        settled.set(s.key, new Set());
        received.set(s.key, new Map());
        const sub = definition.events[s.key];
        if (!sub) throw new Error(`subscription ${s.key} missing from the definition`);
        const deliver = eventHandler(definition, s.key, sub, () => ports);
        subscription.on('message', (message: Message) => {
          const seen = received.get(s.key) as Map<string, { message: Message; attempts: number }>;
          const attempts = (seen.get(message.id)?.attempts ?? 0) + 1;
          seen.set(message.id, { message, attempts });
          deliver(cloudEvent(message, attempts, subscription.name)).then(
            () => {
              message.ack();
              pending.get(s.key)?.delete(message.id);
              settled.get(s.key)?.add(message.id);
            },
            () => message.nack(), // Eventarc redelivers a failed event
          );
        });
      }

      const deliverAgain = async (key: string) => {
        const sub = definition.events[key];
        if (!sub) throw new Error(`no subscription ${key}`);
        const deliver = eventHandler(definition, key, sub, () => ports);
        const seen = received.get(key) ?? new Map<string, { message: Message; attempts: number }>();
        for (const [id, entry] of seen) {
          entry.attempts += 1;
          await deliver(cloudEvent(entry.message, entry.attempts, `contract-${key}-${run}`)).catch(
            () => undefined,
          );
          seen.set(id, entry);
        }
      };

      return {
        bus: {
          async publish(topic, data, opts) {
            const id = await bus.publish(topic, data, opts);
            for (const s of wanted) {
              if (s.topic === topic && !settled.get(s.key)?.has(id)) pending.get(s.key)?.add(id);
            }
            return id;
          },
        },
        documents,
        async settle() {
          const deadline = Date.now() + SETTLE_TIMEOUT_MS;
          while ([...pending.values()].some((ids) => ids.size > 0)) {
            if (Date.now() > deadline) throw new Error('events did not settle in time');
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        },
        redeliverAll: deliverAgain,
        async deadLetters(key) {
          const page = readPage(
            DeadLetterDocument,
            await documents.query('deadLetters', {
              where: [{ field: 'source', op: '==', value: functionName('contract', key) }],
              limit: 100,
            }),
          );
          return page.docs.map((d) => ({
            id: d.data.workId,
            attempts: d.data.attempts,
            lastError: d.data.error.message,
          }));
        },
        async teardown() {
          for (const subscription of subscriptions) {
            await subscription.close();
            await subscription.delete();
          }
          await bus.close();
          db.close();
        },
      };
    },
    // Eventarc push subscriptions do not deliver in ordering-key order.
    { orderedDelivery: false },
  );
} else {
  process.stderr.write(
    "NOT RUN: Pub/Sub adapter contract suite needs PUBSUB_EMULATOR_HOST (run npm run test:emulators on a machine that can download Google's emulators)\n",
  );
}

/** A pulled message as the CloudEvent Eventarc would push for it. */
function cloudEvent(message: Message, deliveryAttempt: number, subscription: string) {
  const publishTime = message.publishTime.toISOString();
  return {
    specversion: '1.0' as const,
    id: message.id,
    source: '//pubsub.googleapis.com/contract',
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    time: publishTime,
    data: {
      message: new PublishedMessage<unknown>({
        messageId: message.id,
        data: message.data.toString('base64'),
        attributes: message.attributes,
        orderingKey: message.orderingKey ?? '',
        publishTime,
      }),
      subscription,
      deliveryAttempt,
    },
  };
}

/**
 * The Pub/Sub events adapter without the emulator (which cannot run here):
 * a fake client that follows Pub/Sub's documented rules for what the adapter
 * uses. Publishing to a topic that does not exist fails with gRPC NOT_FOUND
 * (5); `createTopic` creates it, or fails with ALREADY_EXISTS (6) when it
 * exists. The emulator contract suite (pubsub.contract.test.ts) holds the
 * adapter to the real thing under `npm run test:emulators`.
 */
import type { PubSub } from '@google-cloud/pubsub';
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../platform/errors.js';
import { PubSubEventBus } from './pubsub.js';

class GrpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Topics that exist, and what was published to each. `onNotFound` runs when a
 * publish finds no topic, before it fails: another instance acting meanwhile.
 */
function fakePubSub(onNotFound: (name: string, topics: Map<string, Buffer[]>) => void = () => {}) {
  const topics = new Map<string, Buffer[]>();
  let creates = 0;
  const client = {
    topic: (name: string) => ({
      async publishMessage({ data }: { data: Buffer }) {
        const log = topics.get(name);
        if (!log) {
          onNotFound(name, topics);
          throw new GrpcError(5, `Resource not found (resource=${name}).`);
        }
        log.push(data);
        return `m${log.length}`;
      },
      resumePublishing() {},
    }),
    async createTopic(name: string) {
      creates += 1;
      if (topics.has(name))
        throw new GrpcError(6, `Resource already exists in the project (resource=${name}).`);
      topics.set(name, []);
    },
    async close() {},
  };
  return { client: client as unknown as PubSub, topics, creates: () => creates };
}

describe('PubSubEventBus (issue 8, item 1)', () => {
  it('defect: publishing to a topic nobody subscribes to failed with NOT_FOUND; now the topic is created on first use', async () => {
    const fake = fakePubSub();
    const bus = new PubSubEventBus({ client: async () => fake.client });
    await expect(bus.publish('execution.finished', { id: 'e1' })).resolves.toBe('m1');
    expect(fake.topics.get('execution.finished')?.map((b) => b.toString())).toEqual(['{"id":"e1"}']);
    // Once it exists, a publish is one call, and no second create is tried.
    await expect(bus.publish('execution.finished', { id: 'e2' })).resolves.toBe('m2');
    expect(fake.creates()).toBe(1);
  });

  it('takes a topic created meanwhile by another instance (ALREADY_EXISTS) as created', async () => {
    // Another instance creates the topic between this one's failed publish and its create.
    const fake = fakePubSub((name, topics) => topics.set(name, []));
    const bus = new PubSubEventBus({ client: async () => fake.client });
    await expect(bus.publish('t.created', 1)).resolves.toBe('m1');
    expect(fake.creates()).toBe(1);
  });

  it('still fails permanently on other refusals, naming the topic', async () => {
    const fake = fakePubSub();
    (fake.client as unknown as { createTopic: () => Promise<void> }).createTopic = async () => {
      throw new GrpcError(7, 'The caller does not have permission');
    };
    const bus = new PubSubEventBus({ client: async () => fake.client });
    const error = await bus.publish('no.rights', 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect(String(error)).toMatch(/no\.rights.*permission/);
  });
});

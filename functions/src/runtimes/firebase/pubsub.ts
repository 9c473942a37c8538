/**
 * The events port on Cloud Pub/Sub. Subscribers are `onMessagePublished`
 * functions (see functions.ts), so this adapter only publishes.
 *
 * The client library (gRPC, protobufs) is a large import; it is loaded on the
 * first publish, so function instances that never publish do not pay for it
 * at cold start.
 *
 * Ordering keys are honoured by the publisher (`messageOrdering`). The push
 * subscriptions Eventarc creates for `onMessagePublished` do not enable
 * ordered delivery, so handlers must accept any order, as the delivery
 * semantics require everywhere anyway.
 */
import type { PubSub, Topic } from '@google-cloud/pubsub';
import {
  errorMessage,
  InvalidInputError,
  PayloadTooLargeError,
  PermanentError,
  RetryableError,
} from '../../platform/errors.js';
import type { EventBus, PublishOptions } from '../../platform/ports.js';
import { withTraceAttribute } from '../../platform/tracing.js';

/** Same bound as the embedded bus, far under Pub/Sub's 10 MB: publish references to anything big. */
export const MAX_EVENT_BYTES = 1024 * 1024;
/** Pub/Sub's topic id rule: a letter, then 2-254 of letters, digits and `-_.~+%`; never `goog…`. */
const TOPIC = /^(?!goog)[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/;
/** gRPC codes worth another try: cancelled, unknown, deadline exceeded, resource exhausted, aborted, internal, unavailable. */
const RETRYABLE_CODES = new Set([1, 2, 4, 8, 10, 13, 14]);

export interface PubSubEventBusOptions {
  /** @default the project of the environment (the function's own) */
  projectId?: string;
  /** Builds the client; a seam for tests. @default a new `PubSub` from a dynamic import */
  client?: () => Promise<PubSub>;
}

export class PubSubEventBus implements EventBus {
  readonly #createClient: () => Promise<PubSub>;
  #client: Promise<PubSub> | undefined;
  readonly #topics = new Map<string, Topic>();

  constructor(opts: PubSubEventBusOptions = {}) {
    const { projectId } = opts;
    this.#createClient =
      opts.client ??
      (async () => {
        const { PubSub } = await import('@google-cloud/pubsub');
        return new PubSub(projectId ? { projectId } : {});
      });
  }

  async #topic(name: string): Promise<Topic> {
    this.#client ??= this.#createClient().catch((error: unknown) => {
      this.#client = undefined; // a failed load is tried again on the next publish
      throw error;
    });
    const client = await this.#client;
    let topic = this.#topics.get(name);
    if (!topic) {
      // Messages without a key are unaffected by messageOrdering; keyed ones keep their order.
      topic = client.topic(name, { messageOrdering: true });
      this.#topics.set(name, topic);
    }
    return topic;
  }

  async publish(topic: string, data: unknown, opts: PublishOptions = {}): Promise<string> {
    if (!TOPIC.test(topic)) throw new InvalidInputError(`"${topic}" is not a valid topic name`);
    const json = JSON.stringify(data ?? null);
    const bytes = Buffer.byteLength(json);
    if (bytes > MAX_EVENT_BYTES) {
      throw new PayloadTooLargeError(
        `Event on ${topic} is ${bytes} bytes, over ${MAX_EVENT_BYTES}; publish a reference instead`,
      );
    }
    const attributes = opts.attributes ?? {};
    for (const [key, value] of Object.entries(attributes)) {
      if (typeof value !== 'string')
        throw new InvalidInputError(`Attribute "${key}" on ${topic} must be a string`);
    }
    const handle = await this.#topic(topic);
    const message = {
      data: Buffer.from(json),
      // The publisher's trace goes as an attribute; the subscriber's span continues it.
      attributes: withTraceAttribute(attributes),
      ...(opts.orderingKey ? { orderingKey: opts.orderingKey } : {}),
    };
    try {
      return await handle.publishMessage(message);
    } catch (error) {
      // A failed keyed publish pauses that key until resumed; the caller's retry must be able to go through.
      if (opts.orderingKey) handle.resumePublishing(opts.orderingKey);
      if (grpcCode(error) !== NOT_FOUND) throw toPlatformError(error, topic);
    }
    // Deploying a subscriber creates its topic; a topic nobody subscribes to yet is created on first use,
    // so that publishing never depends on what else is deployed.
    await this.#createTopic(topic);
    try {
      return await handle.publishMessage(message);
    } catch (error) {
      if (opts.orderingKey) handle.resumePublishing(opts.orderingKey);
      throw toPlatformError(error, topic);
    }
  }

  async #createTopic(name: string): Promise<void> {
    const client = await this.#client;
    try {
      await client?.createTopic(name);
    } catch (error) {
      // Created meanwhile by another instance, or by a deploy: what was wanted.
      if (grpcCode(error) !== ALREADY_EXISTS) throw toPlatformError(error, name);
    }
  }

  /** Flushes and closes the client: for tests and graceful shutdowns. */
  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    this.#topics.clear();
    if (client) await (await client).close();
  }
}

const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;

function grpcCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
}

function toPlatformError(error: unknown, topic: string): Error {
  const code = grpcCode(error);
  const message = `Publish to ${topic} failed: ${errorMessage(error)}`;
  if (code === NOT_FOUND)
    return new PermanentError(`${message} (the topic is missing, and could not be created)`);
  if (typeof code === 'number' && !RETRYABLE_CODES.has(code))
    return new PermanentError(message, { cause: error });
  return new RetryableError(message, { cause: error });
}

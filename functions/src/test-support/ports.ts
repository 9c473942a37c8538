/**
 * Ports for tests of the firebase runtime's wrappers without any cloud: an
 * in-memory SQLite document store, a memory kv, and a task queue that accepts
 * everything and runs nothing (record what it is given with `enqueue`).
 */
import type { DatabaseSync } from 'node:sqlite';
import { type Clock, systemClock } from '../platform/clock.js';
import { envConfig } from '../platform/config.js';
import { createUlids } from '../platform/ids.js';
import { createLogger, MemorySink } from '../platform/logger.js';
import type { BlobStore, EventBus, Ports, TaskQueue } from '../platform/ports.js';
import { createTracer, type Tracer } from '../platform/tracing.js';
import { SqliteDocumentStore } from '../runtimes/embedded/documents.js';
import { MemoryKv } from '../runtimes/embedded/kv.js';
import { LocalDirectory } from '../runtimes/embedded/people.js';

export function testPorts(
  db: DatabaseSync,
  opts: {
    clock?: Clock;
    sink?: MemorySink;
    events?: EventBus;
    enqueue?: TaskQueue['enqueue'];
    /** @default a tracer that records nothing but carries incoming trace context */
    tracer?: Tracer;
    /** @default a store that refuses every call: pass one to a test that uses blobs */
    blobs?: BlobStore;
  } = {},
): Ports {
  const clock = opts.clock ?? systemClock;
  const documents = new SqliteDocumentStore(db, { now: () => clock.now() });
  const ids = createUlids(() => clock.now());
  return {
    runtime: 'firebase',
    documents,
    events: opts.events ?? { publish: async () => 'event-1' },
    tasks: {
      enqueue: opts.enqueue ?? (async (_queue, _payload, o) => ({ id: o?.id ?? 'task-1', deduped: false })),
      stats: async (queue) => ({ queue, depth: 0, inFlight: 0, oldestAgeMs: 0, deadLettered: 0 }),
      list: async () => [],
      setRateLimits: async () => {},
      wake: async () => 0,
      deferral: 'requeue',
    },
    kv: new MemoryKv({ clock }),
    blobs: opts.blobs ?? noBlobs,
    clock,
    ids,
    config: envConfig({}),
    logger: createLogger({ sink: opts.sink ?? new MemorySink() }),
    people: new LocalDirectory({ mode: 'local', documents, clock, ids }),
    deployment: async () => [],
    tracer: opts.tracer ?? createTracer(),
  };
}

const absent = async (): Promise<never> => {
  throw new Error('testPorts() was given no blob store: pass { blobs }');
};
const noBlobs: BlobStore = {
  put: absent,
  get: absent,
  head: absent,
  delete: absent,
  list: absent,
  createUploadUrl: absent,
};

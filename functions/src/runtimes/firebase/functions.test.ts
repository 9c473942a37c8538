/**
 * The firebase runtime's wiring without any emulator: the functions
 * `toCloudFunctions` builds are invoked as the platform would (through
 * firebase-functions-test where it can build the event), over ports whose
 * documents are an in-memory SQLite store, so dead letters can be read back.
 */
import type { DatabaseSync } from 'node:sqlite';
import functionsTest from 'firebase-functions-test';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { orchestrators } from '../../orchestrators/registry.js';
import system from '../../orchestrators/system/index.js';
import { ManualClock } from '../../platform/clock.js';
import { envConfig } from '../../platform/config.js';
import { PermanentError, RetryableError } from '../../platform/errors.js';
import { LOCAL_OPERATOR } from '../../platform/identity.js';
import { createUlids } from '../../platform/ids.js';
import { createLogger, MemorySink } from '../../platform/logger.js';
import {
  defineOrchestrator,
  defineSubscription,
  defineTask,
  type Orchestrator,
} from '../../platform/orchestrator.js';
import type { DocumentChange, Ports } from '../../platform/ports.js';
import { SqliteDocumentStore } from '../embedded/documents.js';
import { MemoryKv } from '../embedded/kv.js';
import { openDatabase } from '../embedded/sqlite.js';
import type { DeadLetter } from './dead-letters.js';
import {
  type CloudFunctionGroup,
  cloudGroup,
  isLastDelivery,
  targetGroup,
  toCloudFunctions,
} from './functions.js';

const fft = functionsTest({ projectId: 'demo-seraphim' });
afterAll(() => fft.cleanup());

interface Harness {
  ports: Ports;
  sink: MemorySink;
  db: DatabaseSync;
}

let h: Harness;
beforeEach(() => {
  const db = openDatabase({ file: ':memory:' });
  const clock = new ManualClock(Date.now());
  const sink = new MemorySink();
  h = {
    db,
    sink,
    ports: {
      runtime: 'firebase',
      documents: new SqliteDocumentStore(db, { now: () => clock.now() }),
      events: { publish: async () => 'event-1' },
      tasks: {
        enqueue: async (_queue, _payload, opts) => ({ id: opts?.id ?? 'task-1', deduped: false }),
        stats: async (queue) => ({ queue, depth: 0, inFlight: 0, oldestAgeMs: 0, deadLettered: 0 }),
        list: async () => [],
      },
      kv: new MemoryKv({ clock }),
      clock,
      ids: createUlids(() => clock.now()),
      config: envConfig({}),
      logger: createLogger({ sink }),
    },
  };
});
afterEach(() => h.db.close());

const deadLetters = async () =>
  (await h.ports.documents.query<DeadLetter>('deadLetters', { limit: 100 })).docs.map((d) => d.data);

// ---------------------------------------------------------------- a test orchestrator

const calls: Array<{ mode: string; attempt: number }> = [];
const changes: DocumentChange[] = [];

const probe = defineOrchestrator({
  name: 'probe',
  tasks: {
    work: defineTask({
      payload: z.object({ mode: z.enum(['ok', 'retryable', 'permanent']) }),
      retry: { maxAttempts: 3, minBackoffSeconds: 2, maxBackoffSeconds: 30, maxDoublings: 2 },
      rateLimits: { maxConcurrentDispatches: 4, maxDispatchesPerSecond: 8 },
      async handler(payload, _ctx, task) {
        calls.push({ mode: payload.mode, attempt: task.attempt });
        if (payload.mode === 'retryable') throw new RetryableError('upstream is down');
        if (payload.mode === 'permanent') throw new PermanentError('this can never work');
      },
    }),
  },
  events: {
    seen: defineSubscription({
      topic: 'probe.seen',
      data: z.object({ n: z.number() }),
      async handler(event) {
        if (event.data.n < 0) throw new RetryableError('negative');
      },
    }),
  },
  documents: {
    runWritten: {
      document: 'workspaces/{ws}/runs/{run}',
      async handler(change) {
        changes.push(change);
      },
    },
  },
  schedules: { sweep: { cron: '*/5 * * * *', timeZone: 'Europe/Paris', handler: async () => {} } },
});

function group(o: Orchestrator = probe, extra: Parameters<typeof toCloudFunctions>[1] = {}) {
  return toCloudFunctions(o, { ports: () => h.ports, authenticate: async () => LOCAL_OPERATOR, ...extra });
}

/** The firebase-functions endpoint a function deploys as: what Firebase reads from the manifest. */
function endpoint(fn: CloudFunctionGroup[string]): Record<string, unknown> {
  return (fn as unknown as { __endpoint: Record<string, unknown> }).__endpoint;
}

// ---------------------------------------------------------------- the group

describe('toCloudFunctions', () => {
  it('makes the system orchestrator into api, ping and pingReceived, with its retry and rate settings', async () => {
    const g = group(system);
    expect(Object.keys(g).sort()).toEqual(['api', 'ping', 'pingReceived']);
    const ping = endpoint(g.ping as CloudFunctionGroup[string]);
    expect(ping.taskQueueTrigger).toMatchObject({
      retryConfig: { maxAttempts: 3, minBackoffSeconds: 1, maxBackoffSeconds: 300, maxDoublings: 5 },
      rateLimits: { maxConcurrentDispatches: 5, maxDispatchesPerSecond: 50 },
    });
    expect(ping.region).toEqual(['us-central1']);
    expect(ping.secretEnvironmentVariables).toEqual([{ key: 'UPSTASH_REDIS_REST_TOKEN' }]);
    const received = endpoint(g.pingReceived as CloudFunctionGroup[string]);
    expect(received.eventTrigger).toMatchObject({ eventFilters: { topic: 'system.ping' }, retry: true });
    expect(endpoint(g.api as CloudFunctionGroup[string]).httpsTrigger).toMatchObject({ invoker: ['public'] });
  });

  it('maps every trigger kind of a definition, schedules with their time zone', async () => {
    const g = group();
    expect(Object.keys(g).sort()).toEqual(['api', 'runWritten', 'seen', 'sweep', 'work']);
    expect(endpoint(g.work as CloudFunctionGroup[string]).taskQueueTrigger).toMatchObject({
      retryConfig: { maxAttempts: 3, minBackoffSeconds: 2, maxBackoffSeconds: 30, maxDoublings: 2 },
      rateLimits: { maxConcurrentDispatches: 4, maxDispatchesPerSecond: 8 },
    });
    expect(endpoint(g.runWritten as CloudFunctionGroup[string]).eventTrigger).toMatchObject({
      eventType: 'google.cloud.firestore.document.v1.written',
      eventFilterPathPatterns: { document: 'workspaces/{ws}/runs/{run}' },
      retry: true,
    });
    expect(endpoint(g.sweep as CloudFunctionGroup[string]).scheduleTrigger).toMatchObject({
      schedule: '*/5 * * * *',
      timeZone: 'Europe/Paris',
      retryConfig: { retryCount: 2 },
    });
  });

  it('builds a group only for the targeted orchestrator, and never loads the others', () => {
    let loads = 0;
    const load = () => {
      loads++;
      return { default: system };
    };
    expect(targetGroup('system.api')).toBe('system');
    expect(targetGroup('system-ping')).toBe('system');
    expect(targetGroup(undefined)).toBeUndefined();
    expect(cloudGroup('system', load, { FUNCTION_TARGET: 'pipelines.api' })).toEqual({});
    expect(loads).toBe(0);
    expect(Object.keys(cloudGroup('system', load, { FUNCTION_TARGET: 'system.ping' })).sort()).toEqual([
      'api',
      'ping',
      'pingReceived',
    ]);
    expect(Object.keys(cloudGroup('system', load, {}))).toHaveLength(3); // discovery: every group
    expect(() => cloudGroup('pipelines', load, {})).toThrow(
      /must load the default export of orchestrator "pipelines"/,
    );
    expect(orchestrators.map((o) => o.name)).toContain('system');
  });
});

// ---------------------------------------------------------------- tasks

describe('task functions', () => {
  const dispatch = (g: CloudFunctionGroup, data: unknown, retryCount: number, id = 'task-a') =>
    (g.work as unknown as { run(request: unknown): Promise<void> }).run({
      data,
      id,
      retryCount,
      queueName: 'probe-work',
      executionCount: retryCount,
      scheduledTime: new Date().toISOString(),
    });

  beforeEach(() => {
    calls.length = 0;
  });

  it('rethrows a retryable failure before the last attempt, so Cloud Tasks retries, and records nothing', async () => {
    const g = group();
    await expect(dispatch(g, { mode: 'retryable' }, 0)).rejects.toThrow('upstream is down');
    await expect(dispatch(g, { mode: 'retryable' }, 1)).rejects.toThrow('upstream is down');
    expect(calls).toEqual([
      { mode: 'retryable', attempt: 1 },
      { mode: 'retryable', attempt: 2 },
    ]);
    expect(await deadLetters()).toEqual([]);
    expect(h.sink.entries.filter((e) => e.severity === 'WARNING')).toHaveLength(2);
  });

  it('dead-letters a failing task on its last attempt instead of losing it', async () => {
    const g = group();
    await expect(dispatch(g, { mode: 'retryable' }, 2, 'task-last')).resolves.toBeUndefined();
    const [letter, ...rest] = await deadLetters();
    expect(rest).toEqual([]);
    expect(letter).toMatchObject({
      kind: 'task',
      source: 'probe-work',
      workId: 'task-last',
      attempts: 3,
      error: { code: 'retryable', message: 'upstream is down', retryable: true },
      payload: { mode: 'retryable' },
    });
    expect(await h.ports.documents.get('deadLetters/probe-work-task-last')).not.toBeNull();
  });

  it('dead-letters a permanent failure at once, and an invalid payload too', async () => {
    const g = group();
    await expect(dispatch(g, { mode: 'permanent' }, 0, 'task-p')).resolves.toBeUndefined();
    await expect(dispatch(g, { mode: 'nonsense' }, 0, 'task-bad')).resolves.toBeUndefined();
    const letters = await deadLetters();
    expect(letters.map((l) => [l.workId, l.error.code, l.attempts])).toEqual([
      ['task-bad', 'permanent', 1],
      ['task-p', 'permanent', 1],
    ]);
    expect(calls).toEqual([{ mode: 'permanent', attempt: 1 }]);
  });

  it('runs a succeeding task once and records nothing', async () => {
    const g = group();
    await dispatch(g, { mode: 'ok' }, 0);
    expect(calls).toEqual([{ mode: 'ok', attempt: 1 }]);
    expect(await deadLetters()).toEqual([]);
  });

  it('hands the work back when even the dead letter cannot be written', async () => {
    h.ports.documents.set = async () => {
      throw new Error('Firestore is unreachable');
    };
    const g = group();
    await expect(dispatch(g, { mode: 'permanent' }, 0)).rejects.toThrow('this can never work');
    expect(h.sink.entries.at(-1)).toMatchObject({
      severity: 'ERROR',
      deadLetterError: 'Firestore is unreachable',
    });
  });
});

// ---------------------------------------------------------------- events and documents

describe('event and document functions', () => {
  beforeEach(() => {
    changes.length = 0;
  });

  it('delivers a Pub/Sub message as an envelope, and rethrows a retryable failure of a fresh event', async () => {
    const seen = fft.wrap(group().seen as never);
    await seen({ data: { message: { json: { n: 1 }, messageId: 'm-1', attributes: { a: 'b' } } } });
    await expect(seen({ data: { message: { json: { n: -1 }, messageId: 'm-2' } } })).rejects.toThrow(
      'negative',
    );
    expect(await deadLetters()).toEqual([]);
  });

  it('dead-letters an event whose retry budget (maxAttempts × maxBackoff) is spent', async () => {
    const seen = fft.wrap(group().seen as never);
    const old = new Date(Date.now() - 10 * 60_000).toISOString(); // default delivery budget: 5 × 60 s
    await seen({ time: old, data: { message: { json: { n: -1 }, messageId: 'm-3', publishTime: old } } });
    expect(await deadLetters()).toMatchObject([
      { kind: 'event', source: 'probe-seen', workId: 'm-3', ref: 'probe.seen' },
    ]);
    const policy = { maxAttempts: 5, minBackoffSeconds: 1, maxBackoffSeconds: 60, maxDoublings: 5 };
    expect(isLastDelivery(0, 299_999, policy)).toBe(false);
    expect(isLastDelivery(0, 300_000, policy)).toBe(true);
  });

  it('maps a Firestore write to a DocumentChange: event id, params, versions, reserved fields stripped', async () => {
    const written = fft.wrap(group().runWritten as never);
    const path = 'workspaces/w1/runs/r1';
    const before = fft.firestore.makeDocumentSnapshot(
      { state: 'pending', __v: 1, __ct: 1000, __ut: 1000 },
      path,
    );
    const after = fft.firestore.makeDocumentSnapshot(
      { state: 'running', __v: 2, __ct: 1000, __ut: 2000 },
      path,
    );
    await written({ id: 'evt-1', params: { ws: 'w1', run: 'r1' }, data: fft.makeChange(before, after) });
    expect(changes).toEqual([
      {
        eventId: 'evt-1',
        path,
        params: { ws: 'w1', run: 'r1' },
        before: {
          path,
          id: 'r1',
          data: { state: 'pending' },
          version: 1,
          createTime: 1000,
          updateTime: 1000,
        },
        after: { path, id: 'r1', data: { state: 'running' }, version: 2, createTime: 1000, updateTime: 2000 },
      },
    ]);
  });

  it('maps a create (no before) and a delete (no after)', async () => {
    const written = fft.wrap(group().runWritten as never);
    const path = 'workspaces/w1/runs/r2';
    const snapshot = fft.firestore.makeDocumentSnapshot({ state: 'pending', __v: 1, __ct: 5, __ut: 5 }, path);
    const missing = fft.firestore.makeDocumentSnapshot({}, path);
    await written({ id: 'evt-c', params: { ws: 'w1', run: 'r2' }, data: fft.makeChange(missing, snapshot) });
    await written({ id: 'evt-d', params: { ws: 'w1', run: 'r2' }, data: fft.makeChange(snapshot, missing) });
    expect(changes.map((c) => [c.eventId, c.before?.version ?? null, c.after?.version ?? null])).toEqual([
      ['evt-c', null, 1],
      ['evt-d', 1, null],
    ]);
  });
});

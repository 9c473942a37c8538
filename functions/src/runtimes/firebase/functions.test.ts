/**
 * The firebase runtime's wiring without any emulator: the functions
 * `toCloudFunctions` builds are invoked as the platform would (through
 * firebase-functions-test where it can build the event), over ports whose
 * documents are an in-memory SQLite store, so dead letters can be read back.
 */
import type { DatabaseSync } from 'node:sqlite';
import { declaredParams } from 'firebase-functions/params';
import functionsTest from 'firebase-functions-test';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { orchestrators } from '../../orchestrators/registry.js';
import system from '../../orchestrators/system/index.js';
import { ManualClock } from '../../platform/clock.js';
import { DeferError, PermanentError, RetryableError } from '../../platform/errors.js';
import { LOCAL_OWNER } from '../../platform/identity.js';
import { MemorySink } from '../../platform/logger.js';
import {
  defineOrchestrator,
  defineSubscription,
  defineTask,
  type Orchestrator,
} from '../../platform/orchestrator.js';
import type { DocumentChange, EnqueueOptions, EnqueueResult, Ports } from '../../platform/ports.js';
import { readPage } from '../../platform/stored.js';
import { cloudTaskName, deferDelayMs, waitFallbackMs } from '../../platform/task-rules.js';
import { testPorts } from '../../test-support/ports.js';
import { openDatabase } from '../embedded/sqlite.js';
import { NOT_BEFORE_HEADER } from './cloud-tasks.js';
import { DeadLetterDocument } from './dead-letters.js';
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
  /** Every task the handlers enqueued. */
  enqueued: Array<{ queue: string; payload: unknown; opts: EnqueueOptions | undefined }>;
  /** What the fake queue answers an enqueue with. */
  enqueueResult: (id: string) => Promise<EnqueueResult>;
}

let h: Harness;
beforeEach(() => {
  const db = openDatabase({ file: ':memory:' });
  const clock = new ManualClock(Date.now());
  const sink = new MemorySink();
  h = {
    db,
    sink,
    enqueued: [],
    enqueueResult: async (id) => ({ id, deduped: false }),
    ports: testPorts(db, {
      clock,
      sink,
      enqueue: async (queue, payload, opts) => {
        h.enqueued.push({ queue, payload, opts });
        return h.enqueueResult(opts?.id ?? 'task-1');
      },
    }),
  };
});
afterEach(() => h.db.close());

const deadLetters = async () =>
  readPage(DeadLetterDocument, await h.ports.documents.query('deadLetters', { limit: 100 })).docs.map(
    (d) => d.data,
  );

// ---------------------------------------------------------------- a test orchestrator

const calls: Array<{ mode: string; attempt: number }> = [];
const changes: DocumentChange[] = [];

const probe = defineOrchestrator({
  name: 'probe',
  tasks: {
    work: defineTask({
      payload: z.object({ mode: z.enum(['ok', 'retryable', 'permanent', 'defer', 'deferLong', 'wait']) }),
      retry: { maxAttempts: 3, minBackoffSeconds: 2, maxBackoffSeconds: 30, maxDoublings: 2 },
      rateLimits: { maxConcurrentDispatches: 4, maxDispatchesPerSecond: 8 },
      async handler(payload, _ctx, task) {
        calls.push({ mode: payload.mode, attempt: task.attempt });
        if (payload.mode === 'retryable') throw new RetryableError('upstream is down');
        if (payload.mode === 'permanent') throw new PermanentError('this can never work');
        if (payload.mode === 'defer')
          throw new DeferError('the pool is full', { delayMs: 0, gate: 'pool-a' });
        if (payload.mode === 'deferLong')
          throw new DeferError('the upstream asked for 5 s', { delayMs: 5000, gate: 'pool-a' });
        if (payload.mode === 'wait')
          throw new DeferError('waiting in kv for a slot', { delayMs: 0, gate: 'pool-a', waiting: true });
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
  return toCloudFunctions(o, { ports: () => h.ports, resolvers: [async () => LOCAL_OWNER], ...extra });
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
    expect(ping.secretEnvironmentVariables).toEqual([
      { key: 'UPSTASH_REDIS_REST_TOKEN' },
      { key: 'LLM_API_KEY' },
    ]);
    const received = endpoint(g.pingReceived as CloudFunctionGroup[string]);
    expect(received.eventTrigger).toMatchObject({ eventFilters: { topic: 'system.ping' }, retry: true });
    expect(endpoint(g.api as CloudFunctionGroup[string]).httpsTrigger).toMatchObject({ invoker: ['public'] });
  });

  it('defect (issue 8, item 7): no deploy path for settings; every function is sized per kind and binds the secrets, and deploy knows every setting', async () => {
    const g = group();
    const sized = (name: string) => {
      const e = endpoint(g[name] as CloudFunctionGroup[string]);
      return {
        memory: e.availableMemoryMb,
        cpu: e.cpu,
        concurrency: e.concurrency,
        timeout: e.timeoutSeconds,
      };
    };
    expect(sized('api')).toEqual({ memory: 512, cpu: 1, concurrency: 80, timeout: 60 });
    expect(sized('work')).toMatchObject({ memory: 1024, cpu: 1, concurrency: 16 });
    expect(sized('seen')).toMatchObject({ memory: 512, cpu: 1, concurrency: 16 });
    expect(sized('runWritten')).toMatchObject({ memory: 512, cpu: 1, concurrency: 16 });
    expect(sized('sweep')).toMatchObject({ memory: 512, cpu: 1, concurrency: 1 });
    for (const name of Object.keys(g)) {
      expect(endpoint(g[name] as CloudFunctionGroup[string]).secretEnvironmentVariables, name).toEqual([
        { key: 'UPSTASH_REDIS_REST_TOKEN' },
        { key: 'LLM_API_KEY' },
      ]);
    }
    // What `firebase deploy` reads to ask for: the Upstash URL has no default, so deploy asks for it.
    const declared = new Map(declaredParams.map((p) => [p.name, p]));
    const options = (name: string) =>
      (declared.get(name) as { options?: { default?: unknown } } | undefined)?.options;
    expect(options('UPSTASH_REDIS_REST_URL')).toBeDefined();
    expect(options('UPSTASH_REDIS_REST_URL')).not.toHaveProperty('default');
    for (const name of ['SERAPHIM_POOL_GLOBAL', 'SERAPHIM_BLOB_BUCKET', 'SERAPHIM_HTTP_ALLOW', 'LLM_MODEL'])
      expect(options(name), name).toMatchObject({ default: '' });
    expect(declared.get('LLM_API_KEY')?.constructor.name).toBe('SecretParam');
    expect(declared.get('UPSTASH_REDIS_REST_TOKEN')?.constructor.name).toBe('SecretParam');
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
  const dispatch = (
    g: CloudFunctionGroup,
    data: unknown,
    retryCount: number,
    id = 'task-a',
    headers: Record<string, string> = {},
  ) =>
    (g.work as unknown as { run(request: unknown): Promise<void> }).run({
      data,
      id,
      headers,
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

  describe('deferred by its handler', () => {
    const deferredLog = () => h.sink.entries.filter((e) => e.message === 'task deferred');

    it('re-enqueues the same payload on its queue as <id>-d1, scheduled within the first deferral delay, and succeeds', async () => {
      const g = group();
      const now = h.ports.clock.now();
      await expect(dispatch(g, { mode: 'defer' }, 0, 'task-a')).resolves.toBeUndefined();
      const [copy, ...rest] = h.enqueued;
      expect(rest).toEqual([]);
      expect(copy).toMatchObject({
        queue: 'probe-work',
        payload: { mode: 'defer' },
        opts: { id: 'task-a-d1' },
      });
      const delay = (copy?.opts?.scheduleTime ?? 0) - now;
      expect(delay).toBeGreaterThanOrEqual(deferDelayMs(0, () => 0));
      expect(delay).toBeLessThanOrEqual(deferDelayMs(0, () => 1));
      expect(await deadLetters()).toEqual([]);
      expect(h.sink.entries.filter((e) => e.severity === 'WARNING' || e.severity === 'ERROR')).toEqual([]);
      expect(deferredLog()).toMatchObject([
        { severity: 'INFO', gate: 'pool-a', delayMs: delay, deferredId: 'task-a-d1', deduped: false },
      ]);
    });

    it('counts deferrals in the id, so a deferred copy deferred again becomes -d2 and waits longer', async () => {
      const g = group();
      const now = h.ports.clock.now();
      await dispatch(g, { mode: 'defer' }, 0, 'task-a-d1');
      expect(h.enqueued.map((t) => t.opts?.id)).toEqual(['task-a-d2']);
      const delay = (h.enqueued[0]?.opts?.scheduleTime ?? 0) - now;
      expect(delay).toBeGreaterThanOrEqual(deferDelayMs(1, () => 0));
      expect(delay).toBeLessThanOrEqual(deferDelayMs(1, () => 1));
    });

    it('schedules a copy that waits in a kv waiting list only as a late fallback: whoever frees the slot enqueues it', async () => {
      const now = h.ports.clock.now();
      await dispatch(group(), { mode: 'wait' }, 0, 'task-w');
      const first = (h.enqueued[0]?.opts?.scheduleTime ?? 0) - now;
      expect(first).toBeGreaterThanOrEqual(waitFallbackMs(0, () => 0));
      expect(first).toBeLessThanOrEqual(waitFallbackMs(0, () => 1));
      // Its woken copy (-d1w), refused again, becomes the second deferral, and its fallback waits longer.
      await dispatch(group(), { mode: 'wait' }, 0, 'task-w-d1w');
      expect(h.enqueued.map((t) => t.opts?.id)).toEqual(['task-w-d1', 'task-w-d2']);
      expect((h.enqueued[1]?.opts?.scheduleTime ?? 0) - now).toBeGreaterThanOrEqual(
        waitFallbackMs(1, () => 0),
      );
    });

    it('reads the task id out of the hash-prefixed name Cloud Tasks dispatches (issue 8, item 6): the copy is named from the id', async () => {
      await dispatch(group(), { mode: 'defer' }, 0, cloudTaskName('task-p'));
      expect(h.enqueued.map((t) => t.opts?.id)).toEqual(['task-p-d1']);
    });

    it('defect (issue 8, item 4): a wait past 30 days is chained: a task not due yet goes back until its time, unrun', async () => {
      const notBefore = h.ports.clock.now() + 40 * 24 * 3600_000;
      await dispatch(group(), { mode: 'ok' }, 0, 'task-l', { [NOT_BEFORE_HEADER]: String(notBefore) });
      expect(calls).toEqual([]);
      const [copy, ...rest] = h.enqueued;
      expect(rest).toEqual([]);
      expect(copy).toMatchObject({ queue: 'probe-work', payload: { mode: 'ok' }, opts: { id: 'task-l-d1' } });
      expect(copy?.opts?.scheduleTime ?? 0).toBeGreaterThanOrEqual(notBefore);
      // Due now (its time has come): it runs.
      await dispatch(group(), { mode: 'ok' }, 0, 'task-l-d1', {
        [NOT_BEFORE_HEADER]: String(notBefore - 41 * 24 * 3600_000),
      });
      expect(calls).toEqual([{ mode: 'ok', attempt: 1 }]);
    });

    it("never waits less than the deferral's own delayMs", async () => {
      const now = h.ports.clock.now();
      await dispatch(group(), { mode: 'deferLong' }, 0, 'task-b');
      expect((h.enqueued[0]?.opts?.scheduleTime ?? 0) - now).toBeGreaterThanOrEqual(5000);
    });

    it('succeeds when the copy already exists: this delivery is a duplicate', async () => {
      h.enqueueResult = async (id) => ({ id, deduped: true });
      await expect(dispatch(group(), { mode: 'defer' }, 0, 'task-a')).resolves.toBeUndefined();
      expect(await deadLetters()).toEqual([]);
      expect(deferredLog()).toMatchObject([{ deferredId: 'task-a-d1', deduped: true }]);
    });

    it('hands the original back for a retry when the copy cannot be enqueued, and dead-letters it on the last attempt', async () => {
      h.enqueueResult = async () => {
        throw new Error('Cloud Tasks is unreachable');
      };
      const g = group();
      const failure = dispatch(g, { mode: 'defer' }, 0, 'task-a');
      await expect(failure).rejects.toBeInstanceOf(RetryableError);
      await expect(failure).rejects.toThrow('Cloud Tasks is unreachable');
      expect(await deadLetters()).toEqual([]);

      await expect(dispatch(g, { mode: 'defer' }, 2, 'task-a')).resolves.toBeUndefined();
      expect(await deadLetters()).toMatchObject([
        { workId: 'task-a', attempts: 3, error: { code: 'retryable' }, payload: { mode: 'defer' } },
      ]);
      expect(deferredLog()).toEqual([]);
    });
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

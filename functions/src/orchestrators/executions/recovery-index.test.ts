/**
 * The recovery index (recovery.ts) and the sweep that reads it (maintenance.ts):
 * its rules on states built by hand, and the sweep on a SQLite store with a
 * queue that records what it is given and runs nothing, so a lost dispatch is
 * an enqueue the test drops.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../platform/clock.js';
import type { Context } from '../../platform/orchestrator.js';
import type { DocumentStore, DocumentTransaction } from '../../platform/ports.js';
import { openDatabase } from '../../runtimes/embedded/sqlite.js';
import { testPorts } from '../../test-support/ports.js';
import { executionWith } from '../../test-support/workflows.js';
import { UseCaseBodySchema } from '../use-cases/model.js';
import { saveUseCase } from '../use-cases/store.js';
import { builtinAgents, createAgentRegistry } from './agents/registry.js';
import { ExecutionEngine } from './engine.js';
import { initialStepState } from './machine.js';
import { recoverStalled } from './maintenance.js';
import type { Execution, StepState } from './model.js';
import { type StepTask, timerQueue } from './queues.js';
import {
  indexAfterLook,
  indexAtCommit,
  leaseKey,
  MAX_LOOK_AGAIN_MS,
  STALL_AFTER_MS,
  storedRecoverAt,
} from './recovery.js';
import { getExecution, paths } from './store.js';

const T = Date.UTC(2026, 0, 1);

function step(p: Partial<StepState>): StepState {
  return { ...initialStepState(), ...p };
}

function stateOf(
  steps: Record<string, Partial<StepState>>,
  status: Execution['status'] = 'running',
): Execution {
  return executionWith(steps, { status, at: T });
}

describe('the recovery index rules', () => {
  it('a new execution is due when its first lease expires; a finished one, or one waiting for people, never', () => {
    const queued = stateOf({ a: { status: 'queued', attempts: 1, queuedAt: T }, b: {} });
    expect(indexAtCommit(null, queued, T)).toEqual({ recoverAt: T + STALL_AFTER_MS, mustWrite: true });
    const timer = stateOf(
      { a: { status: 'waiting', waitingFor: 'timer', resumeAt: T + 3_600_000 } },
      'waiting',
    );
    expect(indexAtCommit(null, timer, T).recoverAt).toBe(T + 3_600_000 + STALL_AFTER_MS);
    const human = stateOf({ a: { status: 'waiting', waitingFor: 'human' } }, 'waiting');
    expect(indexAtCommit(T + 5, human, T)).toEqual({ recoverAt: null, mustWrite: true });
    const done = stateOf({ a: { status: 'succeeded' } }, 'succeeded');
    expect(indexAtCommit(T + 5, done, T)).toEqual({ recoverAt: null, mustWrite: true });
    expect(indexAtCommit(null, done, T)).toEqual({ recoverAt: null, mustWrite: false });
  });

  it('a step that settles and dispatches the next costs no snapshot write while the index is still ahead', () => {
    const stored = T + STALL_AFTER_MS;
    const next = stateOf({
      a: { status: 'succeeded' },
      b: { status: 'queued', attempts: 1, queuedAt: T + 2_000 },
    });
    expect(indexAtCommit(stored, next, T + 2_000).mustWrite).toBe(false);
  });

  it('a dispatch whose lease ends before the stored index moves it earlier', () => {
    const next = stateOf({ b: { status: 'queued', attempts: 1, queuedAt: T + 2_000 } });
    expect(indexAtCommit(T + 3_600_000, next, T + 2_000)).toEqual({
      recoverAt: T + 2_000 + STALL_AFTER_MS,
      mustWrite: true,
    });
  });

  it('an execution that keeps progressing moves its passed index on itself, so the sweep does not look', () => {
    const now = T + 100_000;
    const next = stateOf({ c: { status: 'queued', attempts: 1, queuedAt: now - 1_000 } });
    expect(indexAtCommit(T + STALL_AFTER_MS, next, now)).toEqual({
      recoverAt: now - 1_000 + STALL_AFTER_MS,
      mustWrite: true,
    });
  });

  it('a commit never moves the index later while a lease has expired that the sweep has not looked at', () => {
    const now = T + 100_000;
    const next = stateOf({
      lost: { status: 'queued', attempts: 1, queuedAt: T }, // expired at T + 30 s
      busy: { status: 'queued', attempts: 1, queuedAt: now },
    });
    expect(indexAtCommit(T + STALL_AFTER_MS, next, now)).toEqual({
      recoverAt: T + STALL_AFTER_MS,
      mustWrite: false,
    });
    // Even when the stored one was lost (a snapshot from before the index): due at once.
    expect(indexAtCommit(null, next, now).recoverAt).toBe(T + STALL_AFTER_MS);
  });

  it('after the sweep sent a lease again, it looks again after as long as the step has waited, within bounds', () => {
    const s = { status: 'queued' as const, attempts: 1, queuedAt: T };
    const state = stateOf({ a: s });
    const sent = new Set([leaseKey('a', step(s))]);
    expect(indexAfterLook(state, T + 40_000, sent)).toBe(T + 40_000 + 40_000);
    expect(indexAfterLook(state, T + STALL_AFTER_MS, sent)).toBe(T + 2 * STALL_AFTER_MS);
    expect(indexAfterLook(state, T + 10 * 3_600_000, sent)).toBe(T + 10 * 3_600_000 + MAX_LOOK_AGAIN_MS);
    // An expired lease the look did not send (a new attempt since) keeps the sweep coming.
    expect(indexAfterLook(state, T + 40_000, new Set())).toBe(T + STALL_AFTER_MS);
    // A lease that has not expired is due exactly.
    const fresh = stateOf({ a: s, b: { status: 'queued', attempts: 1, queuedAt: T + 39_000 } });
    expect(indexAfterLook(fresh, T + 40_000, sent)).toBe(T + 39_000 + STALL_AFTER_MS);
  });
});

/** Counts what the sweep reads: each document a get or query returns (at least one per call). */
function countingReads(documents: DocumentStore): { store: DocumentStore; reads: () => number } {
  let reads = 0;
  const txOf = (tx: DocumentTransaction): DocumentTransaction => ({
    ...tx,
    get: async (path) => {
      reads++;
      return tx.get(path);
    },
    create: (p, d) => tx.create(p, d),
    set: (p, d) => tx.set(p, d),
    update: (p, d, o) => tx.update(p, d, o),
    delete: (p, o) => tx.delete(p, o),
  });
  const store: DocumentStore = {
    get: async (path) => {
      reads++;
      return documents.get(path);
    },
    create: (p, d) => documents.create(p, d),
    set: (p, d, o) => documents.set(p, d, o),
    update: (p, d, o) => documents.update(p, d, o),
    delete: (p, o) => documents.delete(p, o),
    query: async (c, q) => {
      const page = await documents.query(c, q);
      reads += Math.max(1, page.docs.length);
      return page;
    },
    queryGroup: async (c, q) => {
      const page = await documents.queryGroup(c, q);
      reads += Math.max(1, page.docs.length);
      return page;
    },
    count: async (c, w) => {
      reads++;
      return documents.count(c, w);
    },
    transaction: (fn) => documents.transaction((tx) => fn(txOf(tx))),
  };
  return { store, reads: () => reads };
}

const hold = UseCaseBodySchema.parse({
  id: 'hold',
  name: 'Hold',
  vertical: 'test',
  workflow: { steps: [{ id: 'hold', agent: 'wait', output: 'held', config: { seconds: 3600 } }] },
});
const work = UseCaseBodySchema.parse({
  id: 'work',
  name: 'Work',
  vertical: 'test',
  workflow: {
    steps: [
      { id: 'one', agent: 'transform', output: 'a', config: { expression: '1' } },
      { id: 'two', agent: 'transform', inputs: { a: 'a' }, output: 'b', config: { expression: 'a + 1' } },
    ],
  },
});

/**
 * A store with `healthy` executions waiting on an hour's timer, `backlog` queued ones whose
 * tasks wait in the queue, and `lost` ones whose dispatch was lost (the enqueue dropped).
 */
async function scenario(counts: { healthy: number; backlog: number; lost: number }) {
  const clock = new ManualClock(T);
  const sent: Array<{ queue: string; payload: unknown; id: string }> = [];
  let drop = false;
  const ports = testPorts(openDatabase({ file: ':memory:' }), {
    clock,
    enqueue: async (queue, payload, o) => {
      if (!drop) sent.push({ queue, payload, id: o?.id ?? '' });
      return { id: o?.id ?? '', deduped: false };
    },
  });
  const ctx: Context = { ...ports, correlationId: 'sweep' };
  const engine = new ExecutionEngine(createAgentRegistry(builtinAgents));
  await ctx.documents.create('workspaces/ops', {});
  const held = (await saveUseCase(ctx.documents, 'ops', hold, T)).useCase;
  const worked = (await saveUseCase(ctx.documents, 'ops', work, T)).useCase;
  for (let i = 0; i < counts.healthy; i++) await engine.start(ctx, 'ops', held, {});
  // The hold steps run, and wait for their timers.
  for (const task of sent.splice(0))
    if (task.queue !== timerQueue()) await engine.runStep(ctx, task.payload as StepTask);
  sent.length = 0;
  for (let i = 0; i < counts.backlog; i++) await engine.start(ctx, 'ops', worked, {});
  drop = true;
  const lost: string[] = [];
  for (let i = 0; i < counts.lost; i++) lost.push((await engine.start(ctx, 'ops', worked, {})).id);
  drop = false;
  sent.length = 0;
  return { clock, ctx, engine, sent, lost };
}

describe('the recovery sweep', () => {
  it('defect (issue 8, item 9): the sweep walked every active execution every minute; it reads only those whose lease expired', async () => {
    const cost = async (healthy: number) => {
      const { clock, ctx, engine, sent, lost } = await scenario({ healthy, backlog: 0, lost: 3 });
      // The one-time pass over executions stored before the index, to its end.
      for (let run = 0; run < 10; run++) await recoverStalled(ctx, engine);
      expect(sent).toEqual([]); // nothing was due yet
      clock.advance(STALL_AFTER_MS + 1_000);
      const counted = countingReads(ctx.documents);
      const run = await recoverStalled({ ...ctx, documents: counted.store }, engine);
      expect(run).toMatchObject({ executions: 3, redispatched: 3, failed: 0, more: false });
      expect(sent.map((t) => t.id).sort()).toEqual(lost.map((id) => `${id}-one-a1`).sort());
      // Looked at, and moved on: the next run at once has nothing to look at.
      expect(await recoverStalled(ctx, engine)).toMatchObject({ executions: 0, redispatched: 0 });
      return counted.reads();
    };
    const small = await cost(20);
    const large = await cost(400);
    // The same reads with 20 or 400 healthy executions waiting: the cost follows the expired leases.
    expect(large).toBe(small);
    expect(small).toBeLessThan(40);
  });

  it('reads at most a bounded page a run, oldest lease first, and leaves the rest for the next run', async () => {
    const { clock, ctx, engine, sent, lost } = await scenario({ healthy: 0, backlog: 0, lost: 7 });
    clock.advance(STALL_AFTER_MS + 1_000);
    expect(await recoverStalled(ctx, engine, { maxExecutions: 3 })).toMatchObject({
      executions: 3,
      more: true,
    });
    expect(sent.map((t) => t.id)).toEqual(lost.slice(0, 3).map((id) => `${id}-one-a1`));
    expect(await recoverStalled(ctx, engine, { maxExecutions: 3 })).toMatchObject({
      executions: 3,
      more: true,
    });
    expect(await recoverStalled(ctx, engine, { maxExecutions: 3 })).toMatchObject({
      executions: 1,
      more: false,
    });
    expect(sent).toHaveLength(7);
  });

  it('a lost dispatch runs after the sweep and the execution finishes; its index is then gone', async () => {
    const { clock, ctx, engine, sent, lost } = await scenario({ healthy: 0, backlog: 0, lost: 1 });
    const id = lost[0] as string;
    clock.advance(STALL_AFTER_MS + 1_000);
    await recoverStalled(ctx, engine);
    while (sent.length > 0) {
      const task = sent.shift();
      if (task && task.queue !== timerQueue()) await engine.runStep(ctx, task.payload as StepTask);
    }
    expect((await getExecution(ctx.documents, 'ops', id)).data.status).toBe('succeeded');
    const stored = await ctx.documents.get(paths.execution('ops', id));
    expect(storedRecoverAt(stored?.data ?? {})).toBeNull();
  });

  it('looks at a backlog a logarithmic number of times, not once a minute', async () => {
    const { clock, ctx, engine, sent } = await scenario({ healthy: 0, backlog: 50, lost: 0 });
    let looks = 0;
    // Two hours of runs, one a minute, while the backlog's tasks wait in the queue.
    for (let minute = 0; minute < 120; minute++) {
      clock.advance(60_000);
      looks += (await recoverStalled(ctx, engine)).executions;
    }
    // Each execution is looked at after 1, 2, 4, 8, 16, 32, 64 minutes or so: about 7 times, not 120.
    expect(looks / 50).toBeLessThanOrEqual(8);
    expect(looks / 50).toBeGreaterThanOrEqual(5);
    // Each look sent the same attempt again, which the queue dedupes by its id.
    expect(new Set(sent.map((t) => t.id)).size).toBe(50);
  });

  it('gives executions stored before the index one look, once, and then reads none of them again', async () => {
    const { clock, ctx, engine, sent, lost } = await scenario({ healthy: 0, backlog: 0, lost: 2 });
    // As a snapshot written before the index: no recoverAt at all.
    for (const id of lost) {
      const path = paths.execution('ops', id);
      const doc = await ctx.documents.get(path);
      const { recoverAt: _, ...data } = doc?.data ?? {};
      await ctx.documents.set(path, data);
    }
    clock.advance(STALL_AFTER_MS + 1_000);
    expect(await recoverStalled(ctx, engine)).toMatchObject({ executions: 2, redispatched: 2 });
    expect(sent).toHaveLength(2);
    expect(await ctx.documents.get('maintenance/executions')).toMatchObject({ data: { backfilled: true } });
    expect(await recoverStalled(ctx, engine)).toMatchObject({ executions: 0 });
  });

  it('defect (issue 9, item 11): an execution in a workspace with no workspace document was never recovered', async () => {
    const { clock, ctx, engine, sent, lost } = await scenario({ healthy: 0, backlog: 0, lost: 2 });
    // As a workspace the API used without creating it, before use cases created its document.
    await ctx.documents.delete('workspaces/ops');
    clock.advance(STALL_AFTER_MS + 1_000);
    expect(await recoverStalled(ctx, engine)).toMatchObject({ executions: 2, redispatched: 2 });
    expect(sent.map((t) => t.id).sort()).toEqual(lost.map((id) => `${id}-one-a1`).sort());
  });

  it('repairs the admission count of a page of workspaces a run, going round them', async () => {
    const { ctx, engine } = await scenario({ healthy: 0, backlog: 4, lost: 0 });
    await ctx.kv.set('pool:inflight:ops', '90');
    await ctx.kv.set('pool:waiting:ops', '7');
    expect(await recoverStalled(ctx, engine)).toMatchObject({ reconciled: 1 });
    expect(await ctx.kv.get('pool:inflight:ops')).toBe('4');
    expect(await ctx.kv.get('pool:waiting:ops')).toBe('0');
  });
});

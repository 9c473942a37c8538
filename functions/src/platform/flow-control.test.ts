/**
 * Flow control as a declaration: the declaration is checked when the
 * orchestrator is defined, and the one wrapper (runTask) honours it: slots by
 * payload key, deferral on the full dimension, the handler's report feeding the
 * adaptive limit, and, on a requeueing runtime (Cloud Tasks), a wait that does
 * not poll: the refused task waits in kv and the release enqueues it.
 */
import type { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openDatabase } from '../runtimes/embedded/sqlite.js';
import { testPorts } from '../test-support/ports.js';
import { ManualClock } from './clock.js';
import { DeferError } from './errors.js';
import { runTask, withDeclaredFairness } from './flow-control.js';
import { type FlowControlDeclaration, flowControlOf } from './flow-declaration.js';
import { MemorySink } from './logger.js';
import { type Context, defineOrchestrator, defineTask, type TaskDefinition } from './orchestrator.js';
import type { EnqueueOptions, Ports, TaskInfo } from './ports.js';

const Payload = z.object({ tenant: z.string(), kind: z.string().optional() });
type Payload = z.infer<typeof Payload>;

const dbs: DatabaseSync[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
});

function task(flowControl: FlowControlDeclaration, handler: TaskDefinition<Payload>['handler']) {
  return defineTask({ payload: Payload, flowControl, timeoutSeconds: 30, handler });
}

function define(flowControl: unknown) {
  return () =>
    defineOrchestrator({
      name: 'flows',
      tasks: {
        work: defineTask({
          payload: Payload,
          flowControl: flowControl as FlowControlDeclaration,
          handler: async () => {},
        }),
      },
    });
}

describe('a flow-control declaration', () => {
  it('is accepted when it names payload fields and pool limits', () => {
    expect(
      define({
        fairness: { key: 'tenant' },
        concurrency: [
          { name: 'tenant', key: ['tenant'], limit: 'fairShare' },
          { name: 'kind', key: ['kind'], limit: 'perAgentKind', adaptive: true },
          { name: 'all', limit: 3 },
        ],
      }),
    ).not.toThrow();
  });

  it.each([
    [
      'a field the payload does not have',
      { concurrency: [{ name: 'a', key: ['nope'], limit: 2 }] },
      /"nope" is not a field of the task's payload/,
    ],
    ['an unknown limit', { concurrency: [{ name: 'a', limit: 'lots' }] }, /concurrency\.0\.limit/],
    [
      'a fair share without a fairness key',
      { concurrency: [{ name: 'a', key: ['tenant'], limit: 'fairShare' }] },
      /fairShare limit is keyed by the fairness key alone/,
    ],
    [
      'a per-agent-kind limit keyed by two fields',
      { concurrency: [{ name: 'a', key: ['tenant', 'kind'], limit: 'perAgentKind' }] },
      /keyed by one field, the agent kind/,
    ],
    [
      'a dimension declared twice',
      {
        concurrency: [
          { name: 'a', limit: 1 },
          { name: 'a', limit: 2 },
        ],
      },
      /concurrency\.1\.name: declared twice/,
    ],
    ['an unknown option', { concurrency: [{ name: 'a', limit: 1 }], debounce: 5 }, /debounce/],
    ['no dimension at all', { concurrency: [] }, /concurrency/],
  ])('is refused at definition time for %s', (_, flowControl, message) => {
    expect(define(flowControl)).toThrow(message);
  });
});

interface Harness {
  ctx: Context;
  sink: MemorySink;
  enqueued: Array<{ queue: string; payload: unknown; id: string | undefined }>;
  woken: string[];
}

/** Ports of a requeueing runtime (as Cloud Tasks) or a parking one (as the embedded queue), on one memory kv. */
function harness(deferral: 'requeue' | 'park'): Harness {
  const db = openDatabase({ file: ':memory:' });
  dbs.push(db);
  const enqueued: Harness['enqueued'] = [];
  const seen = new Set<string>();
  const sink = new MemorySink();
  const ports: Ports = testPorts(db, {
    sink,
    clock: new ManualClock(Date.UTC(2026, 11, 4)),
    enqueue: async (queue, payload, opts?: EnqueueOptions) => {
      // Cloud Tasks' name deduplication.
      const id = opts?.id ?? `t${enqueued.length}`;
      if (seen.has(`${queue}/${id}`)) return { id, deduped: true };
      seen.add(`${queue}/${id}`);
      enqueued.push({ queue, payload, id: opts?.id });
      return { id, deduped: false };
    },
  });
  const woken: string[] = [];
  const tasks = {
    ...ports.tasks,
    deferral,
    wake: async (gate: string) => {
      woken.push(gate);
      return 0;
    },
  };
  return { ctx: { ...ports, tasks, correlationId: 'test' }, sink, enqueued, woken };
}

/** A payload as a runtime hands it over: as delivered and as parsed (the same here). */
const delivered = (p: Payload) => ({ raw: p, parsed: p });

const info = (id: string, attempt = 1): TaskInfo => ({ queue: 'flows-work', id, attempt, maxAttempts: 5 });

/** Runs the held handlers at once, waits until all are running, then lets them finish. */
async function allRunTogether(
  holders: ReturnType<typeof held>[],
  start: (x: ReturnType<typeof held>, i: number) => Promise<void>,
) {
  const running = holders.map(start);
  await expect.poll(() => holders.every((x) => x.started() === 1)).toBe(true);
  for (const x of holders) x.finish();
  await Promise.all(running);
}

/** A handler that holds its slot until `finish()` is called. */
function held() {
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  let started = 0;
  return {
    finish,
    started: () => started,
    handler: async () => {
      started += 1;
      await done;
    },
  };
}

/** t1 of tenant a holds the tenant's one slot (until `first.finish()`); t2 is refused and waits. */
async function oneHoldsOneWaits(h: Harness) {
  const first = held();
  const work = task(ONE_PER_TENANT, first.handler);
  const running = runTask(work, delivered({ tenant: 'a' }), h.ctx, info('t1'), 30_000);
  await expect.poll(first.started).toBe(1);
  await expect(runTask(work, delivered({ tenant: 'a' }), h.ctx, info('t2'), 30_000)).rejects.toBeInstanceOf(
    DeferError,
  );
  return { first, running, work };
}

const ONE_PER_TENANT: FlowControlDeclaration = {
  concurrency: [{ name: 'tenant', key: ['tenant'], limit: 1 }],
};

describe('runTask on a requeueing runtime (Cloud Tasks)', () => {
  it('defers a task over its key’s limit into a kv wait, and the release enqueues it: nothing polls', async () => {
    const h = harness('requeue');
    const first = held();
    const work = task(ONE_PER_TENANT, first.handler);
    const running = runTask(work, delivered({ tenant: 'a' }), h.ctx, info('t1'), 30_000);
    await expect.poll(first.started).toBe(1);

    // Another tenant is not limited by tenant a's slot.
    await runTask(
      task(ONE_PER_TENANT, async () => {}),
      delivered({ tenant: 'b' }),
      h.ctx,
      info('t9'),
      30_000,
    );

    const refused = await runTask(work, delivered({ tenant: 'a' }), h.ctx, info('t2'), 30_000).catch(
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(DeferError);
    expect(refused).toMatchObject({ gate: 'pool:slots:tenant:a', waiting: true });
    expect(first.started()).toBe(1); // the refused one ran nothing
    expect(h.enqueued).toEqual([]);

    first.finish();
    await running;
    // The release took t2's next copy off the waiting list and enqueued it now, as its woken copy.
    expect(h.enqueued).toEqual([{ queue: 'flows-work', payload: { tenant: 'a' }, id: 't2-d1w' }]);
    expect(h.woken).toEqual([]);

    // The fallback copy (t2-d1) comes later: it was woken already, so it runs nothing and enqueues no new task.
    let ran = 0;
    const count = task(ONE_PER_TENANT, async () => {
      ran += 1;
    });
    await runTask(count, delivered({ tenant: 'a' }), h.ctx, info('t2-d1'), 30_000);
    expect(ran).toBe(0);
    expect(h.enqueued).toHaveLength(1);
    // The woken copy runs.
    await runTask(count, delivered({ tenant: 'a' }), h.ctx, info('t2-d1w'), 30_000);
    expect(ran).toBe(1);
  });

  it('a fallback copy that comes before any release leaves the wait and runs; refused again, it waits again', async () => {
    const h = harness('requeue');
    const { first, running, work } = await oneHoldsOneWaits(h);
    // Its fallback copy, still waiting, is refused again: it leaves the list as t2-d1 and joins it as t2-d2.
    await expect(
      runTask(work, delivered({ tenant: 'a' }), h.ctx, info('t2-d1'), 30_000),
    ).rejects.toBeInstanceOf(DeferError);
    first.finish();
    await running;
    expect(h.enqueued.map((e) => e.id)).toEqual(['t2-d2w']);
  });

  it('feeds what the handler reports to the adaptive limit: a 429 halves it, and dispatch obeys', async () => {
    const h = harness('requeue');
    const flow: FlowControlDeclaration = {
      concurrency: [{ name: 'agentKind', key: ['kind'], limit: 'perAgentKind', adaptive: true }],
    };
    // llm's configured limit is 8 by default: two 429s take it to 2.
    const limited = task(flow, async (_p, _ctx, t) =>
      t.reportUpstream?.({ latencyMs: 50, rateLimited: true }),
    );
    await runTask(limited, delivered({ tenant: 'a', kind: 'llm' }), h.ctx, info('r1'), 30_000);
    await runTask(limited, delivered({ tenant: 'a', kind: 'llm' }), h.ctx, info('r2'), 30_000);
    const holders = [held(), held()];
    const running = holders.map((x, i) =>
      runTask(task(flow, x.handler), delivered({ tenant: 'a', kind: 'llm' }), h.ctx, info(`h${i}`), 30_000),
    );
    await expect.poll(() => holders.every((x) => x.started() === 1)).toBe(true);
    await expect(
      runTask(
        task(flow, async () => {}),
        delivered({ tenant: 'a', kind: 'llm' }),
        h.ctx,
        info('h3'),
        30_000,
      ),
    ).rejects.toMatchObject({ gate: 'pool:slots:agentKind:llm' });
    for (const x of holders) x.finish();
    await Promise.all(running);
  });

  it('a payload without a key field is not limited by that dimension (a task enqueued before it was carried)', async () => {
    const h = harness('requeue');
    const flow: FlowControlDeclaration = { concurrency: [{ name: 'kind', key: ['kind'], limit: 1 }] };
    await allRunTogether([held(), held()], (x, i) =>
      runTask(task(flow, x.handler), delivered({ tenant: 'a' }), h.ctx, info(`k${i}`), 30_000),
    );
  });
});

describe('runTask on a requeueing runtime: copies of one task', () => {
  it('a fallback copy retried after its wait was woken does not run beside the woken copy', async () => {
    const h = harness('requeue');
    const { first, running } = await oneHoldsOneWaits(h);
    first.finish();
    await running;
    expect(h.enqueued.map((e) => e.id)).toEqual(['t2-d1w']);
    // Cloud Tasks counts dispatches that never reached the handler: the fallback's first delivery may say attempt 2.
    let ran = 0;
    const counting = task(ONE_PER_TENANT, async () => {
      ran += 1;
    });
    await runTask(counting, delivered({ tenant: 'a' }), h.ctx, info('t2-d1', 2), 30_000);
    expect(ran).toBe(0);
    expect(h.enqueued.map((e) => e.id)).toEqual(['t2-d1w']);
  });

  it('a task refused, then granted on a retry, leaves the waiting list: no release wakes it a second time', async () => {
    const h = harness('requeue');
    const stuck = held(); // a holder that died: its lease frees the slot when it expires
    void runTask(task(ONE_PER_TENANT, stuck.handler), delivered({ tenant: 'a' }), h.ctx, info('t1'), 30_000);
    await expect.poll(stuck.started).toBe(1);
    // t2 is refused and waits as t2-d1, but its copy was never enqueued (that enqueue failed): Cloud Tasks retries t2.
    const work = task(ONE_PER_TENANT, async () => {});
    await expect(runTask(work, delivered({ tenant: 'a' }), h.ctx, info('t2'), 30_000)).rejects.toBeInstanceOf(
      DeferError,
    );
    (h.ctx.clock as ManualClock).advance(30_000 + 60_001);
    // The retry gets the slot t1's lease left, runs, and frees it: its old entry must not be woken.
    await runTask(work, delivered({ tenant: 'a' }), h.ctx, info('t2', 2), 30_000);
    expect(h.enqueued).toEqual([]);
    stuck.finish();
  });

  it('a woken copy carries the payload as delivered, so a schema that transforms parses it again', async () => {
    const h = harness('requeue');
    const Numbered = z.object({ tenant: z.string(), n: z.string().transform(Number) });
    const numbered = (handler: () => Promise<void>) =>
      defineTask({ payload: Numbered, flowControl: ONE_PER_TENANT, handler });
    const first = held();
    const raw = { tenant: 'a', n: '5' };
    const parsed = Numbered.parse(raw);
    const running = runTask(numbered(first.handler), { raw, parsed }, h.ctx, info('n1'), 30_000);
    await expect.poll(first.started).toBe(1);
    await expect(
      runTask(
        numbered(async () => {}),
        { raw, parsed },
        h.ctx,
        info('n2'),
        30_000,
      ),
    ).rejects.toBeInstanceOf(DeferError);
    first.finish();
    await running;
    expect(h.enqueued).toEqual([{ queue: 'flows-work', payload: raw, id: 'n2-d1w' }]);
    expect(Numbered.safeParse(h.enqueued[0]?.payload).success).toBe(true);
  });

  it('takes any string as a key value: a lone surrogate, %, : and 10,000 characters', async () => {
    const h = harness('requeue');
    for (const tenant of ['a\uD800', '%41', 'x:y', 'é'.repeat(10_000)]) {
      await expect(
        runTask(
          task(ONE_PER_TENANT, async () => {}),
          delivered({ tenant }),
          h.ctx,
          info(`k${tenant.length}`),
          30_000,
        ),
      ).resolves.toBeUndefined();
    }
  });
});

describe('bookkeeping after the commit (issue 8, item 3)', () => {
  it('defect: a failure freeing the slots after the handler committed failed the task, to be retried; now it is logged', async () => {
    const h = harness('requeue');
    const kv = h.ctx.kv;
    // Upstash answers the acquire, then fails: the handler's work is already committed.
    const failing = {
      ...kv,
      run: async (op: Parameters<typeof kv.run>[0], args: unknown) => {
        if (op.name === 'settleStep') throw new Error('Upstash is unreachable');
        return kv.run(op, args as never);
      },
    } as typeof kv;
    const ctx = { ...h.ctx, kv: failing };
    let ran = 0;
    const work = task(ONE_PER_TENANT, async () => {
      ran += 1;
    });
    await expect(runTask(work, delivered({ tenant: 'a' }), ctx, info('t1'), 30_000)).resolves.toBeUndefined();
    expect(ran).toBe(1);
    expect(h.sink.entries.map((e) => e.message)).toContain(
      'Freeing pool slots failed after the task was done; their leases expire by themselves',
    );
    // The lease it could not free expires: the tenant's slot comes back without anyone releasing it.
    (h.ctx.clock as ManualClock).advance(30_000 + 60_001);
    await expect(
      runTask(work, delivered({ tenant: 'a' }), h.ctx, info('t2'), 30_000),
    ).resolves.toBeUndefined();
    expect(ran).toBe(2);
  });
});

describe('runTask on a parking runtime (embedded)', () => {
  it('defers on the gate without a kv wait, and the release wakes every freed gate', async () => {
    const h = harness('park');
    const first = held();
    const work = task(ONE_PER_TENANT, first.handler);
    const running = runTask(work, delivered({ tenant: 'a' }), h.ctx, info('t1'), 30_000);
    await expect.poll(first.started).toBe(1);
    await expect(runTask(work, delivered({ tenant: 'a' }), h.ctx, info('t2'), 30_000)).rejects.toMatchObject({
      gate: 'pool:slots:tenant:a',
      waiting: false,
    });
    first.finish();
    await running;
    expect(h.woken).toEqual(['pool:slots:tenant:a']);
    expect(h.enqueued).toEqual([]);
  });

  it('frees the slots when the handler throws', async () => {
    const h = harness('park');
    const failing = task(ONE_PER_TENANT, async () => {
      throw new Error('boom');
    });
    await expect(runTask(failing, delivered({ tenant: 'a' }), h.ctx, info('f1'), 30_000)).rejects.toThrow(
      'boom',
    );
    await expect(
      runTask(
        task(ONE_PER_TENANT, async () => {}),
        delivered({ tenant: 'a' }),
        h.ctx,
        info('f2'),
        30_000,
      ),
    ).resolves.toBeUndefined();
  });
});

describe('keys from payload values', () => {
  it('cannot be forged across fields: "a:b" + "c" and "a" + "b:c" hold different semaphores', async () => {
    const h = harness('park');
    const flow: FlowControlDeclaration = {
      concurrency: [{ name: 'pair', key: ['tenant', 'kind'], limit: 1 }],
    };
    const payloads = [
      { tenant: 'a:b', kind: 'c' },
      { tenant: 'a', kind: 'b:c' },
    ];
    await allRunTogether([held(), held()], (x, i) =>
      runTask(task(flow, x.handler), delivered(payloads[i] ?? { tenant: '' }), h.ctx, info(`p${i}`), 30_000),
    );
  });
});

describe('withDeclaredFairness', () => {
  it('gives a first enqueue its declared key, weight and share; copies and other queues get none', async () => {
    const h = harness('requeue');
    const sent: Array<{ queue: string; id: string | undefined; fairness: unknown }> = [];
    const inner = {
      ...h.ctx.tasks,
      enqueue: async (queue: string, _payload: unknown, opts?: EnqueueOptions) => {
        sent.push({ queue, id: opts?.id, fairness: opts?.fairness });
        return { id: opts?.id ?? 'x', deduped: false };
      },
    };
    await h.ctx.documents.create('workspaces/a', { pool: { weight: 3 } });
    const flow = flowControlOf({ fairness: { key: 'tenant' }, concurrency: [{ name: 'all', limit: 5 }] });
    const tasks = withDeclaredFairness(h.ctx, inner, (queue) => (queue === 'flows-work' ? flow : undefined));
    await tasks.enqueue('flows-work', { tenant: 'a' }, { id: 't1' });
    await tasks.enqueue('flows-work', { tenant: 'a' }, { id: 't1-d1' });
    await tasks.enqueue('flows-work', { tenant: 'a' }, { id: 't1-d1w' });
    await tasks.enqueue('flows-work', { tenant: 'a' }, { id: 't2', fairness: { key: 'mine' } });
    await tasks.enqueue('flows-other', { tenant: 'a' }, { id: 't3' });
    await tasks.enqueue('flows-work', { tenant: '' }, { id: 't4' });
    expect(sent).toEqual([
      { queue: 'flows-work', id: 't1', fairness: { key: 'a', weight: 3, share: 1 } },
      { queue: 'flows-work', id: 't1-d1', fairness: undefined },
      { queue: 'flows-work', id: 't1-d1w', fairness: undefined },
      { queue: 'flows-work', id: 't2', fairness: { key: 'mine' } },
      { queue: 'flows-other', id: 't3', fairness: undefined },
      { queue: 'flows-work', id: 't4', fairness: undefined },
    ]);
  });
});

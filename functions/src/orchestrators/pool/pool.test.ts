/**
 * The resource pool on the embedded runtime: limits never exceeded under
 * concurrent dispatch, a flooding workspace cannot starve another, admission
 * answers 429 at the budget, and the stats report what happened.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { RetryAfterError } from '../../platform/errors.js';
import { flowControlOf } from '../../platform/flow-declaration.js';
import { defineOrchestrator } from '../../platform/orchestrator.js';
import { poolOf } from '../../platform/pool/store.js';
import { executionsApi, startTestRuntime, type TestRuntime } from '../../test-support/embedded.js';
import { builtinAgents, createAgentRegistry } from '../executions/agents/registry.js';
import { defineAgent } from '../executions/agents/types.js';
import { ExecutionEngine } from '../executions/engine.js';
import { createExecutionsOrchestrator } from '../executions/index.js';
import { STEP_FLOW_CONTROL, STEP_QUEUE_LIMITS, stepQueue } from '../executions/queues.js';
import { getExecution } from '../executions/store.js';
import { createUseCasesOrchestrator } from '../use-cases/index.js';
import { UseCaseBodySchema } from '../use-cases/model.js';
import { saveUseCase } from '../use-cases/store.js';
import { poolRoutes } from './routes.js';

let running = 0;
let peak = 0;
const finishedAt = new Map<string, number>();
const busyUpstream = defineAgent({
  kind: 'busy',
  upstream: true,
  description: 'an upstream that answers 429',
  config: z.object({}),
  async run() {
    throw new RetryAfterError('upstream answered 429', 5);
  },
});
const slowAgent = defineAgent({
  kind: 'slow',
  description: 'takes a few ms and records concurrency',
  config: z.object({ ms: z.number().default(15) }),
  async run({ config, execution }) {
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, config.ms));
    running--;
    finishedAt.set(execution.id, Date.now());
    return { status: 'succeeded', output: null };
  },
});

/** The pool's limits come from configuration, as in production: `SERAPHIM_POOL_*`. */
function setup(limits: { global: number; perAgentKind?: Record<string, number> }) {
  const engine = new ExecutionEngine(createAgentRegistry([...builtinAgents, slowAgent, busyUpstream]));
  const kinds = Object.entries(limits.perAgentKind ?? {}).map(([kind, n]) => `${kind}=${n}`);
  return {
    engine,
    env: {
      SERAPHIM_POOL_GLOBAL: String(limits.global),
      ...(kinds.length > 0 ? { SERAPHIM_POOL_PER_AGENT_KIND: kinds.join(',') } : {}),
    },
    orchestrators: [
      createUseCasesOrchestrator(engine.agents),
      createExecutionsOrchestrator(engine),
      defineOrchestrator({ name: 'pool', routes: poolRoutes() }),
    ],
  };
}

const useCase = (id: string) =>
  UseCaseBodySchema.parse({
    id,
    name: id,
    vertical: 'test',
    workflow: { steps: [{ id: 'work', agent: 'slow', output: 'done' }] },
  });

async function drain(t: TestRuntime, until: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    await t.runtime.whenIdle();
    if (await until()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('did not settle in 20 s');
}

/** Runs one `busy` step (its upstream always answers 429) until its execution fails: two 429s seen. */
async function failBusyStep(t: TestRuntime, engine: ExecutionEngine) {
  const ctx = { ...t.runtime.ports, correlationId: 'test' };
  await t.runtime.ports.documents.create('workspaces/a', {});
  const { useCase: uc } = await saveUseCase(
    ctx.documents,
    'a',
    UseCaseBodySchema.parse({
      id: 'busy',
      name: 'busy',
      vertical: 'test',
      workflow: {
        steps: [
          {
            id: 'call',
            agent: 'busy',
            output: 'r',
            retry: { maxAttempts: 2, minBackoffSeconds: 0.01, maxBackoffSeconds: 0.02 },
          },
        ],
      },
    }),
    Date.now(),
  );
  const e = await engine.start(ctx, 'a', uc, {});
  await drain(t, async () => (await getExecution(ctx.documents, 'a', e.id)).data.status === 'failed');
  return ctx;
}

describe('resource pool', () => {
  let t: TestRuntime | undefined;
  afterEach(async () => {
    await t?.dispose();
    t = undefined;
    running = 0;
    peak = 0;
  });

  it('never runs more steps of an agent kind than its limit, however many are dispatched at once', async () => {
    const s = setup({ global: 16, perAgentKind: { slow: 2 } });
    t = await startTestRuntime(s.orchestrators, { env: s.env });
    const ctx = { ...t.runtime.ports, correlationId: 'test' };
    await t.runtime.ports.documents.create('workspaces/a', {});
    const { useCase: uc } = await saveUseCase(ctx.documents, 'a', useCase('limited'), Date.now());
    const ids = await Promise.all(
      Array.from({ length: 12 }, async () => (await s.engine.start(ctx, 'a', uc, {})).id),
    );
    await drain(t, async () => {
      const docs = await Promise.all(ids.map((id) => getExecution(ctx.documents, 'a', id)));
      return docs.every((d) => d?.data.status === 'succeeded');
    });
    expect(peak).toBe(2);
    const stats = (await (await fetch(`${t.url}/api/pool/stats`)).json()) as {
      throttled: { lastHour: number; byDimension: Record<string, number>; totals: Record<string, number> };
      utilisation: { running: number };
      limitsInForce: { global: number; perUseCase: number; perAgentKind: Record<string, number> };
    };
    expect(stats.throttled.lastHour).toBeGreaterThan(0);
    expect(stats.throttled.byDimension.agentKind).toBeGreaterThan(0);
    // The running totals, by every dimension, since the kv store began.
    expect(Object.keys(stats.throttled.totals).sort()).toEqual([
      'agentKind',
      'global',
      'useCase',
      'workspace',
    ]);
    expect(stats.throttled.totals.agentKind).toBeGreaterThanOrEqual(
      stats.throttled.byDimension.agentKind ?? 0,
    );
    expect(stats.limitsInForce).toMatchObject({ global: 16, perUseCase: 16, perAgentKind: { slow: 2 } });
    expect(stats.utilisation.running).toBe(0); // every slot was given back
  });

  it('keeps a flooding workspace from starving another (weighted fair share)', async () => {
    const s = setup({ global: 4 });
    t = await startTestRuntime(s.orchestrators, { env: s.env });
    const ctx = { ...t.runtime.ports, correlationId: 'test' };
    for (const ws of ['flood', 'quiet']) await t.runtime.ports.documents.create(`workspaces/${ws}`, {});
    const { useCase: floodUc } = await saveUseCase(ctx.documents, 'flood', useCase('f'), Date.now());
    const { useCase: quietUc } = await saveUseCase(ctx.documents, 'quiet', useCase('q'), Date.now());
    const flood = await Promise.all(
      Array.from({ length: 60 }, async () => (await s.engine.start(ctx, 'flood', floodUc, {})).id),
    );
    await new Promise((r) => setTimeout(r, 30)); // the flood is already running when the quiet one arrives
    const quiet = await Promise.all(
      Array.from({ length: 4 }, async () => (await s.engine.start(ctx, 'quiet', quietUc, {})).id),
    );
    await drain(
      t,
      async () => finishedAt.size >= 64 && [...flood, ...quiet].every((id) => finishedAt.has(id)),
    );
    const floodDone = flood.map((id) => finishedAt.get(id) as number).sort((a, b) => a - b);
    const quietLast = Math.max(...quiet.map((id) => finishedAt.get(id) as number));
    // FIFO would finish the quiet workspace after the whole flood; fair sharing finishes it in the first part.
    expect(quietLast).toBeLessThan(floodDone[Math.floor(floodDone.length / 2)] as number);
  });

  it('defect (issue 9, item 5): a heavy workspace with only human waits held its share; only runnable work shares now', async () => {
    const s = setup({ global: 4 });
    t = await startTestRuntime(s.orchestrators, { env: s.env });
    const ctx = { ...t.runtime.ports, correlationId: 'test' };
    await ctx.documents.create('workspaces/big', { pool: { weight: 50 } });
    await ctx.documents.create('workspaces/small', {});
    const approval = UseCaseBodySchema.parse({
      id: 'approval',
      name: 'approval',
      vertical: 'test',
      workflow: { steps: [{ id: 'ask', agent: 'human', output: 'answer', config: { prompt: 'OK?' } }] },
    });
    const { useCase: askUc } = await saveUseCase(ctx.documents, 'big', approval, Date.now());
    const waits = await Promise.all([1, 2].map(async () => (await s.engine.start(ctx, 'big', askUc, {})).id));
    await drain(t, async () =>
      (
        await Promise.all(waits.map(async (id) => (await getExecution(ctx.documents, 'big', id)).data.status))
      ).every((status) => status === 'waiting'),
    );
    const { useCase: workUc } = await saveUseCase(ctx.documents, 'small', useCase('work'), Date.now());
    peak = 0;
    const ids = await Promise.all(
      Array.from({ length: 24 }, async () => (await s.engine.start(ctx, 'small', workUc, {})).id),
    );
    await drain(t, async () => ids.every((id) => finishedAt.has(id)));
    // Weight 50 against 1 left the small workspace one slot of four; with nothing runnable, the
    // heavy one holds none: the small one gets the global limit less one slot of headroom.
    expect(peak).toBe(3);
    const stats = (await (await fetch(`${t.url}/api/pool/stats`)).json()) as { workspaces: unknown };
    expect(JSON.stringify(stats.workspaces)).toContain('big');
  });

  it('defect (issue 9, item 11): a workspace used through the API without creating it was invisible to pool stats', async () => {
    const s = setup({ global: 4 });
    t = await startTestRuntime(s.orchestrators, { env: s.env });
    const api = executionsApi(() => t?.url, 'adhoc');
    expect((await api('/use-cases', useCase('work'))).status).toBe(201);
    const started = await api('/executions', { useCaseId: 'work', input: {} });
    expect(started.status).toBe(202);
    const stats = (await (await fetch(`${t.url}/api/pool/stats`)).json()) as {
      workspaces: Array<{ workspace: string; inFlight: number }>;
    };
    expect(stats.workspaces.map((w) => w.workspace)).toContain('adhoc');
  });

  it('answers 429 with Retry-After at a workspace’s queue budget, then admits again as work finishes', async () => {
    const s = setup({ global: 8 });
    t = await startTestRuntime(s.orchestrators, { env: s.env });
    await t.runtime.ports.documents.create('workspaces/small', {});
    const put = await fetch(`${t.url}/api/pool/workspaces/small/settings`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ weight: 1, queueBudget: 3 }),
    });
    expect(put.status).toBe(200);
    const ctx = { ...t.runtime.ports, correlationId: 'test' };
    await saveUseCase(
      ctx.documents,
      'small',
      UseCaseBodySchema.parse({
        ...useCase('slowly'),
        workflow: { steps: [{ id: 'work', agent: 'slow', output: 'done', config: { ms: 300 } }] },
      }),
      Date.now(),
    );
    const post = () =>
      fetch(`${t?.url}/api/executions/workspaces/small/executions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ useCaseId: 'slowly', input: {} }),
      });
    const accepted = [await post(), await post(), await post()];
    expect(accepted.map((r) => r.status)).toEqual([202, 202, 202]);
    expect(
      await Promise.all(
        accepted.map(async (r) => ((await r.json()) as { queuePosition: number }).queuePosition),
      ),
    ).toEqual([1, 2, 3]);
    const refused = await post();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await refused.json()) as { code: string }).code).toBe('retry-after');
    await drain(t, async () => finishedAt.size > 0 && running === 0);
    await new Promise((r) => setTimeout(r, 50));
    expect((await post()).status).toBe(202);
  });

  it('changes only the settings a PUT names, refuses a bad one by name, and shows the cap in the stats', async () => {
    const s = setup({ global: 8 });
    t = await startTestRuntime(s.orchestrators, { env: s.env });
    await t.runtime.ports.documents.create('workspaces/ws', {});
    const url = `${t.url}/api/pool/workspaces/ws/settings`;
    const put = async (body: unknown) => {
      const res = await fetch(url, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    expect(await put({ weight: 3, queueBudget: 50 })).toEqual({
      status: 200,
      body: { weight: 3, queueBudget: 50 },
    });
    // Each field alone: the others keep what was stored.
    expect((await put({ maxConcurrent: 2 })).body).toEqual({ weight: 3, queueBudget: 50, maxConcurrent: 2 });
    expect((await put({ weight: 0.5 })).body).toEqual({ weight: 0.5, queueBudget: 50, maxConcurrent: 2 });
    expect((await put({})).body).toEqual({ weight: 0.5, queueBudget: 50, maxConcurrent: 2 });
    const stats = (await (await fetch(`${t.url}/api/pool/stats`)).json()) as {
      workspaces: Array<{ workspace: string; maxConcurrent: number | null; limit: number; share: number }>;
    };
    expect(stats.workspaces.find((w) => w.workspace === 'ws')).toMatchObject({
      maxConcurrent: 2,
      share: 7, // alone: the global limit less one slot kept for a newcomer
      limit: 2,
    });

    const bad = await put({ queueBudget: 0 });
    expect(bad.status).toBe(400);
    expect((bad.body.errors as Array<{ path: string }>).map((e) => e.path)).toEqual(['body.queueBudget']);
    expect((await put({ maxConcurrent: null })).body).toEqual({ weight: 0.5, queueBudget: 50 });
    expect(await (await fetch(url)).json()).toEqual({ weight: 0.5, queueBudget: 50 });
    const uncapped = (await (await fetch(`${t.url}/api/pool/stats`)).json()) as typeof stats;
    expect(uncapped.workspaces.find((w) => w.workspace === 'ws')).toMatchObject({
      maxConcurrent: null,
      limit: 7,
    });

    const missing = await fetch(`${t.url}/api/pool/workspaces/nowhere/settings`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ weight: 2 }),
    });
    expect(missing.status).toBe(404);
  });

  it('reports the limit in force of an agent kind not configured by name, from its decisions', async () => {
    const s = setup({ global: 16 });
    t = await startTestRuntime(s.orchestrators, { env: s.env });
    await failBusyStep(t, s.engine);
    const stats = (await (await fetch(`${t.url}/api/pool/stats`)).json()) as {
      limits: { perAgentKind: Record<string, number>; defaultPerAgentKind: number };
      limitsInForce: { perAgentKind: Record<string, number> };
    };
    expect(stats.limits.perAgentKind.busy).toBeUndefined();
    // From the default 32, halved on each of its two 429s.
    expect(stats.limitsInForce.perAgentKind.busy).toBe(8);
    // The kinds configured by name are there too, at their controllers' limits.
    expect(stats.limitsInForce.perAgentKind).toMatchObject({ llm: 8, http: 16 });
  });

  it('defect (issue 9, item 4): auto-scaling halved an in-process kind over millisecond latencies; only upstream kinds feed it', async () => {
    const s = setup({ global: 16, perAgentKind: { slow: 8 } });
    t = await startTestRuntime(s.orchestrators, { env: s.env });
    const ctx = { ...t.runtime.ports, correlationId: 'test' };
    await ctx.documents.create('workspaces/a', {});
    const save = async (id: string, ms: number) =>
      (
        await saveUseCase(
          ctx.documents,
          'a',
          UseCaseBodySchema.parse({
            id,
            name: id,
            vertical: 'test',
            workflow: { steps: [{ id: 'work', agent: 'slow', output: 'done', config: { ms } }] },
          }),
          Date.now(),
        )
      ).useCase;
    const quick = await save('quick', 1);
    const slower = await save('slower', 40);
    // A window of 1 ms steps sets the moving average; then steps ten times slower, still in-process.
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push((await s.engine.start(ctx, 'a', quick, {})).id);
    const done = async () =>
      (
        await Promise.all(ids.map(async (id) => (await getExecution(ctx.documents, 'a', id)).data.status))
      ).every((status) => status === 'succeeded');
    await drain(t, done);
    for (let i = 0; i < 5; i++) ids.push((await s.engine.start(ctx, 'a', slower, {})).id);
    await drain(t, done);
    const res = (await (await fetch(`${t.url}/api/pool/decisions`)).json()) as {
      effectiveLimits: Record<string, number>;
      decisions: Array<{ agentKind?: string }>;
    };
    expect(res.decisions.filter((d) => d.agentKind === 'slow')).toEqual([]);
    expect(res.effectiveLimits.slow).toBe(8);
  });

  it('halves an agent kind’s limit when its upstream answers 429, and shows the decision', async () => {
    const s = setup({ global: 16, perAgentKind: { busy: 8 } });
    // The queue runs at the limits configured for this machine, not the declared ones (200/s, 16):
    // auto-scaling scales those.
    const queueEnv = { SERAPHIM_QUEUE_RATE: '300', SERAPHIM_QUEUE_CONCURRENCY: '30' };
    t = await startTestRuntime(s.orchestrators, { env: { ...s.env, ...queueEnv } });
    const ctx = await failBusyStep(t, s.engine);
    const res = (await (await fetch(`${t.url}/api/pool/decisions`)).json()) as {
      effectiveLimits: Record<string, number>;
      queueScale: Record<string, number>;
      decisions: Array<{ agentKind?: string; queue?: string; from: number; to: number; reason: string }>;
    };
    const kinds = res.decisions.filter((d) => d.agentKind !== undefined);
    expect(kinds.map((d) => `${d.agentKind} ${d.from}→${d.to}`)).toEqual(['busy 4→2', 'busy 8→4']);
    expect(kinds[0]?.reason).toBe('upstream answered 429');
    expect(res.effectiveLimits.busy).toBe(2);
    // The step queue's dispatch limits are halved too, in tenths of what it runs with, and applied to the queue.
    const queue = stepQueue('normal');
    const queues = res.decisions.filter((d) => d.queue !== undefined);
    expect(queues.map((d) => `${d.queue} ${d.from}→${d.to}`)).toEqual([`${queue} 5→2`, `${queue} 10→5`]);
    expect(res.queueScale[queue]).toBe(0.2);
    expect(res.queueScale[stepQueue('high')]).toBe(1);
    expect(t.runtime.queue.rateLimitsOf(queue)).toEqual({
      maxDispatchesPerSecond: 60,
      maxConcurrentDispatches: 6,
    });
    // …and the lowered limit is the one dispatch obeys: two slots, then a refusal.
    const request = (n: number) => ({
      flow: flowControlOf(STEP_FLOW_CONTROL),
      payload: { workspace: 'a', useCaseId: 'busy', agentKind: 'busy' },
      holder: `h${n}`,
      ttlMs: 10_000,
      queue: { name: stepQueue('normal'), declared: STEP_QUEUE_LIMITS.normal },
    });
    const pool = poolOf(ctx);
    const results = [
      await pool.acquire(ctx, request(1)),
      await pool.acquire(ctx, request(2)),
      await pool.acquire(ctx, request(3)),
    ];
    expect(results.map((r) => (r.ok ? 'ok' : 'dimension' in r ? r.dimension : 'unclaimed'))).toEqual([
      'ok',
      'ok',
      'agentKind',
    ]);
  });
});

/**
 * What a step costs in Upstash commands, counted by the local Upstash REST
 * server in front of a real redis-server. The embedded runtime runs with the
 * Upstash kv, so every pool decision goes over the same wire as on Firebase
 * (where pacing adds one INCR per step at enqueue: runtimes/firebase/pacing.ts).
 * A hand-moved clock keeps the pool's time-based refreshes (its short caches,
 * the once-a-second "recently active" mark) from depending on how fast the
 * machine runs, so the counts are the same on every run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../platform/clock.js';
import { envConfig } from '../../platform/config.js';
import { DeferError } from '../../platform/errors.js';
import { runTask } from '../../platform/flow-control.js';
import { createLogger, MemorySink } from '../../platform/logger.js';
import { type Context, defineTask } from '../../platform/orchestrator.js';
import { poolOf } from '../../platform/pool/store.js';
import type { TaskInfo } from '../../platform/ports.js';
import { EmbeddedRuntime } from '../../runtimes/embedded/runtime.js';
import { openDatabase } from '../../runtimes/embedded/sqlite.js';
import { kvPacer } from '../../runtimes/firebase/pacing.js';
import { UpstashKv } from '../../runtimes/firebase/upstash-kv.js';
import { testPorts } from '../../test-support/ports.js';
import {
  type RedisServer,
  startRedisServer,
  startUpstashProxy,
  type UpstashProxy,
} from '../../test-support/upstash-proxy.js';
import { builtinAgents, createAgentRegistry } from '../executions/agents/registry.js';
import { ExecutionEngine } from '../executions/engine.js';
import { createExecutionsOrchestrator } from '../executions/index.js';
import { STEP_FLOW_CONTROL, StepTaskSchema, stepQueue } from '../executions/queues.js';
import { getExecution } from '../executions/store.js';
import { UseCaseBodySchema } from '../use-cases/model.js';
import { saveUseCase } from '../use-cases/store.js';

const TOKEN = 'cost-test-token-0123';
const STEPS = 5;
const EXECUTIONS = 10;

const chain = UseCaseBodySchema.parse({
  id: 'cost',
  name: 'cost',
  vertical: 'test',
  workflow: {
    steps: Array.from({ length: STEPS }, (_, i) => ({
      id: `s${i}`,
      agent: 'transform',
      inputs: { v: i === 0 ? 'input.v' : `o${i - 1}` },
      output: `o${i}`,
      config: { expression: 'v + 1' },
    })),
  },
});

describe('Upstash commands per step', () => {
  let redis: RedisServer;
  let proxy: UpstashProxy;

  beforeAll(async () => {
    redis = await startRedisServer();
    proxy = await startUpstashProxy({ redisPort: redis.port, token: TOKEN });
  });
  afterAll(async () => {
    await proxy?.stop();
    await redis?.stop();
  });

  /** Runs EXECUTIONS executions of the chain on a fresh runtime; the commands of their starts and of their steps. */
  /** `env`: the pool's configuration (SERAPHIM_POOL_*). */
  async function measure(env: Record<string, string> = {}) {
    const engine = new ExecutionEngine(createAgentRegistry(builtinAgents));
    const runtime = new EmbeddedRuntime({
      env,
      orchestrators: [createExecutionsOrchestrator(engine)],
      dataDir: ':memory:',
      kv: new UpstashKv({ url: proxy.url, token: TOKEN }),
      clock: new ManualClock(Date.UTC(2026, 11, 4)),
      logger: createLogger({ sink: new MemorySink() }),
      version: 'test',
    });
    try {
      const ctx = { ...runtime.ports, correlationId: 'cost' };
      const ws = `cost${Math.random().toString(36).slice(2, 8)}`;
      await runtime.ports.documents.create(`workspaces/${ws}`, {});
      const { useCase } = await saveUseCase(ctx.documents, ws, chain, Date.now());
      const refusals = async () =>
        Object.values(await poolOf(ctx).throttleTotals(ctx)).reduce((a, b) => a + b, 0);
      const refusedBefore = await refusals(); // a running total in Redis: earlier runs' count too
      proxy.resetCounters();
      // Started before the queue runs, so starts and steps are counted apart.
      const ids: string[] = [];
      for (let i = 0; i < EXECUTIONS; i++) ids.push((await engine.start(ctx, ws, useCase, { v: i })).id);
      const starts = proxy.commandCount;
      runtime.start();
      await runtime.whenIdle();
      const steps = proxy.commandCount - starts;
      for (const id of ids) expect((await getExecution(ctx.documents, ws, id)).data.status).toBe('succeeded');
      return { starts, steps, deferrals: (await refusals()) - refusedBefore };
    } finally {
      await runtime.stop();
    }
  }

  it('an uncontended step costs 2 commands (take the slots, settle them), with start and finish 1 each per execution', async () => {
    await measure(); // loads the scripts into Redis: later runs use EVALSHA alone
    const { starts, steps, deferrals } = await measure();
    const perStep = steps / (EXECUTIONS * STEPS);
    console.log(
      `Upstash commands: ${starts / EXECUTIONS} per start, ${perStep.toFixed(2)} per step, uncontended`,
    );
    expect(deferrals).toBe(0);
    // 2 a step, 1 per execution for its finish, and the pool's first look at who is active (an MGET and
    // the once-a-second SET): 2.24 here.
    expect(perStep).toBeLessThanOrEqual(2 + (EXECUTIONS + 2) / (EXECUTIONS * STEPS));
    expect(starts / EXECUTIONS).toBeLessThanOrEqual(1.2);
  });

  it('a step refused a slot costs at most 2 more per deferral', async () => {
    const free = await measure();
    // One transform at a time: every other step is refused at least once, and waits to be woken. The first
    // run loads the refusal's counter script (concurrent first calls each pay a NOSCRIPT round trip).
    await measure({ SERAPHIM_POOL_PER_AGENT_KIND: 'transform=1' });
    const contended = await measure({ SERAPHIM_POOL_PER_AGENT_KIND: 'transform=1' });
    expect(contended.deferrals).toBeGreaterThan(0);
    const perDeferral = (contended.steps - free.steps) / contended.deferrals;
    console.log(
      `Upstash commands: ${contended.deferrals} deferrals, ${perDeferral.toFixed(2)} more per deferral, contended`,
    );
    expect(perDeferral).toBeLessThanOrEqual(2);
  });

  describe('on the Firebase path: a requeueing queue (Cloud Tasks) and paced enqueues', () => {
    const queue = stepQueue('normal');
    const clock = new ManualClock(Date.UTC(2026, 11, 4));

    /** Ports as the Firebase runtime has them, over the Upstash kv: enqueues are recorded, not run. */
    async function firebaseLike(env: Record<string, string> = {}) {
      const enqueued: string[] = [];
      const ports = testPorts(openDatabase({ file: ':memory:' }), {
        clock,
        enqueue: async (_queue, _payload, opts) => {
          enqueued.push(opts?.id ?? '?');
          return { id: opts?.id ?? '?', deduped: false };
        },
      });
      const kv = new UpstashKv({ url: proxy.url, token: TOKEN });
      const ctx: Context = { ...ports, kv, config: envConfig(env), correlationId: 'cost' };
      const ws = `fb${Math.random().toString(36).slice(2, 8)}`;
      await ctx.documents.create(`workspaces/${ws}`, {});
      // Its executions were admitted: the workspace has work in flight, as when its steps run.
      await poolOf(ctx).admit(ctx, ws);
      // A step as the Cloud Tasks wrapper runs it: paced at enqueue, then run through the flow-control wrapper.
      const pace = kvPacer({ kv, rate: async () => 200 });
      const payload = (i: number) => {
        const step = {
          workspace: ws,
          executionId: `e${i}`,
          stepId: 's',
          attempt: 1,
          useCaseId: 'uc',
          agentKind: 'transform',
        };
        return { raw: step, parsed: step };
      };
      const info = (id: string): TaskInfo => ({ queue, id, attempt: 1, maxAttempts: 10 });
      return { ctx, ws, enqueued, pace, payload, info };
    }

    const stepTask = (handler: () => Promise<void>) =>
      defineTask({
        payload: StepTaskSchema,
        flowControl: STEP_FLOW_CONTROL,
        handler: async (_p, _ctx, task) => {
          await handler();
          task.reportUpstream?.({ latencyMs: 5, rateLimited: false });
        },
      });

    it('an uncontended step costs 3 commands: its turn at enqueue, its slots, their release', async () => {
      const f = await firebaseLike();
      const task = stepTask(async () => {});
      const step = async (i: number) => {
        await f.pace({ queue, key: f.ws, share: 1, now: clock.now() });
        await runTask(task, f.payload(i), f.ctx, f.info(`e${i}-s-a1`), 30_000);
      };
      await step(0); // the scripts load, and the pool takes its first look at who is active
      proxy.resetCounters();
      const STEPS_RUN = 50;
      for (let i = 1; i <= STEPS_RUN; i++) await step(i);
      const perStep = proxy.commandCount / STEPS_RUN;
      console.log(`Upstash commands: ${perStep.toFixed(2)} per step on the Firebase path, uncontended`);
      expect(perStep).toBe(3);
      expect(f.enqueued).toEqual([]);
    });

    it('a refused step costs 2, waits in kv without polling, and the release that frees its slot enqueues it', async () => {
      const f = await firebaseLike({ SERAPHIM_POOL_PER_AGENT_KIND: 'transform=1' });
      let finish: () => void = () => {};
      const holding = stepTask(() => new Promise<void>((resolve) => (finish = resolve)));
      const quick = stepTask(async () => {});
      await runTask(quick, f.payload(0), f.ctx, f.info('warm'), 30_000); // loads the scripts
      const running = runTask(holding, f.payload(1), f.ctx, f.info('e1-s-a1'), 30_000);
      await expect.poll(() => proxy.commandCount).toBeGreaterThan(0);
      // One refusal loads the refusal's counter script (a first call pays a NOSCRIPT round trip).
      await expect(runTask(quick, f.payload(9), f.ctx, f.info('e9-s-a1'), 30_000)).rejects.toBeInstanceOf(
        DeferError,
      );
      proxy.resetCounters();
      const REFUSED = 4;
      for (let i = 2; i < 2 + REFUSED; i++) {
        const refused = await runTask(quick, f.payload(i), f.ctx, f.info(`e${i}-s-a1`), 30_000).catch(
          (e: unknown) => e,
        );
        expect(refused).toMatchObject({ waiting: true });
        expect(refused).toBeInstanceOf(DeferError);
      }
      const perRefusal = proxy.commandCount / REFUSED;
      console.log(`Upstash commands: ${perRefusal.toFixed(2)} per refusal on the Firebase path, contended`);
      expect(perRefusal).toBeLessThanOrEqual(2);
      // Nothing polls: until a slot is freed, no command is sent and nothing is enqueued.
      expect(f.enqueued).toEqual([]);
      proxy.resetCounters();
      finish();
      await running;
      // One command frees the slots and takes the first waiter off the list (ties go by member, as in
      // Redis: e2's copy sorts first); it is enqueued now.
      expect(proxy.commandCount).toBe(1);
      expect(f.enqueued).toEqual(['e2-s-a1-d1w']);
      expect(await poolOf(f.ctx).held(f.ctx, 'pool:slots:agentKind:transform')).toBe(0);
    });
  });
});

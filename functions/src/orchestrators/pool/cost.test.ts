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
import { createLogger, MemorySink } from '../../platform/logger.js';
import { EmbeddedRuntime } from '../../runtimes/embedded/runtime.js';
import { UpstashKv } from '../../runtimes/firebase/upstash-kv.js';
import {
  type RedisServer,
  startRedisServer,
  startUpstashProxy,
  type UpstashProxy,
} from '../../test-support/upstash-proxy.js';
import { builtinAgents, createAgentRegistry } from '../executions/agents/registry.js';
import { ExecutionEngine } from '../executions/engine.js';
import { createExecutionsOrchestrator } from '../executions/index.js';
import { UseCaseBodySchema } from '../executions/model.js';
import { getExecution, saveUseCase } from '../executions/store.js';
import { PoolManager } from './manager.js';

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
  async function measure(limits: ConstructorParameters<typeof PoolManager>[0] = {}) {
    const engine = new ExecutionEngine(createAgentRegistry(builtinAgents), new PoolManager(limits));
    const runtime = new EmbeddedRuntime({
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
        Object.values((await engine.pool?.throttleTotals(ctx)) ?? {}).reduce((a, b) => a + b, 0);
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
    await measure({ perAgentKind: { transform: 1 } });
    const contended = await measure({ perAgentKind: { transform: 1 } });
    expect(contended.deferrals).toBeGreaterThan(0);
    const perDeferral = (contended.steps - free.steps) / contended.deferrals;
    console.log(
      `Upstash commands: ${contended.deferrals} deferrals, ${perDeferral.toFixed(2)} more per deferral, contended`,
    );
    expect(perDeferral).toBeLessThanOrEqual(2);
  });
});

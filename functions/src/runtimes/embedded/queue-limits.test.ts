/**
 * The embedded queues run at the machine's limits, not at the Cloud Tasks
 * settings a task declares (issue 9, item 7). The clock is frozen, so a rate
 * shows as a count: a token bucket of R dispatches a second lets exactly R go
 * until the clock moves.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { builtinAgents, createAgentRegistry } from '../../orchestrators/executions/agents/registry.js';
import { defineAgent } from '../../orchestrators/executions/agents/types.js';
import { ExecutionEngine } from '../../orchestrators/executions/engine.js';
import { createExecutionsOrchestrator } from '../../orchestrators/executions/index.js';
import { STEP_QUEUE_LIMITS, stepQueue } from '../../orchestrators/executions/queues.js';
import { UseCaseBodySchema } from '../../orchestrators/use-cases/model.js';
import { saveUseCase } from '../../orchestrators/use-cases/store.js';
import { ManualClock } from '../../platform/clock.js';
import type { Env } from '../../platform/config.js';
import { InvalidInputError } from '../../platform/errors.js';
import { createLogger, MemorySink } from '../../platform/logger.js';
import { machineRateLimits, queueLimitSettings, UNCAPPED_DISPATCHES_PER_SECOND } from './queue-limits.js';
import { EmbeddedRuntime } from './runtime.js';

const agent = { calls: 0, running: 0, peak: 0, hold: false, release: () => {} };
let released = Promise.resolve();
const counted = defineAgent({
  kind: 'counted',
  description: 'counts its calls and how many run at once; holds them while the test says so',
  config: z.object({}),
  async run() {
    agent.calls++;
    agent.running++;
    agent.peak = Math.max(agent.peak, agent.running);
    if (agent.hold) await released;
    agent.running--;
    return { status: 'succeeded', output: null };
  },
});
const engine = new ExecutionEngine(createAgentRegistry([...builtinAgents, counted]));
const BATCH = STEP_QUEUE_LIMITS.batch;
const batchQueue = stepQueue('batch');

let runtime: EmbeddedRuntime | undefined;
afterEach(async () => {
  agent.release();
  await runtime?.stop({ graceMs: 0 });
  runtime = undefined;
  Object.assign(agent, { calls: 0, running: 0, peak: 0, hold: false });
});

/**
 * A runtime on a frozen clock with `executions` one-step executions queued on
 * the batch step queue (declared: 4 at once, 50 a second), not yet started.
 * The pool's own limits are raised out of the way: the queue is under test.
 */
async function queuedRuntime(executions: number, env: Env = {}) {
  const clock = new ManualClock();
  runtime = new EmbeddedRuntime({
    orchestrators: [createExecutionsOrchestrator(engine)],
    dataDir: ':memory:',
    version: 'test',
    env: { SERAPHIM_POOL_GLOBAL: '10000', SERAPHIM_POOL_PER_USE_CASE: '10000', ...env },
    clock,
    logger: createLogger({ sink: new MemorySink() }),
  });
  const ctx = { ...runtime.ports, correlationId: 'test' };
  const { useCase } = await saveUseCase(
    ctx.documents,
    'ws',
    UseCaseBodySchema.parse({
      id: 'one-step',
      name: 'one step',
      vertical: 'test',
      workflow: { steps: [{ id: 'only', agent: 'counted', output: 'done', priority: 'batch' }] },
    }),
    clock.now(),
  );
  for (let i = 0; i < executions; i++) await engine.start(ctx, 'ws', useCase, {});
  return { runtime, clock };
}

/** Steps started from now on wait in the agent until `agent.release()`. */
function holdSteps(): void {
  agent.hold = true;
  released = new Promise((resolve) => {
    agent.release = resolve;
  });
}

const waiting = async (r: EmbeddedRuntime) => (await r.queue.stats(batchQueue)).depth;

describe('embedded queue limits', () => {
  it('out of the box dispatches a step queue past its declared Cloud Tasks rate (issue 9, item 7)', async () => {
    const executions = BATCH.maxDispatchesPerSecond * 3;
    const { runtime } = await queuedRuntime(executions);
    expect(await waiting(runtime)).toBe(executions);
    runtime.start();
    // The declared 50/s would let exactly 50 go while the clock stands still.
    await expect.poll(() => agent.calls, { timeout: 10_000 }).toBe(executions);
    await expect.poll(() => waiting(runtime)).toBe(0);
  });

  it('SERAPHIM_QUEUE_RATE caps a queue at that many dispatches a second', async () => {
    holdSteps();
    const rate = 20;
    const executions = 100;
    const { runtime, clock } = await queuedRuntime(executions, {
      SERAPHIM_QUEUE_RATE: String(rate),
      SERAPHIM_QUEUE_CONCURRENCY: '1000',
    });
    runtime.start();
    // A second's worth goes at once (the bucket starts full, and the steps are held, so they stay in
    // flight): the queue reports exactly that many in flight, the rest waiting.
    await expect
      .poll(async () => ({ running: agent.running, stats: await runtime.queue.stats(batchQueue) }))
      .toMatchObject({ running: rate, stats: { inFlight: rate, depth: executions - rate } });
    // More goes only when the clock moves, and no more than the next second's worth.
    agent.release();
    clock.advance(1000);
    await expect.poll(() => agent.calls).toBeGreaterThan(rate);
    expect(agent.calls).toBeLessThanOrEqual(2 * rate);
  });

  it('SERAPHIM_QUEUE_CONCURRENCY caps how many tasks of a queue run at once', async () => {
    holdSteps();
    const executions = 12;
    const { runtime } = await queuedRuntime(executions, { SERAPHIM_QUEUE_CONCURRENCY: '3' });
    runtime.start();
    await expect
      .poll(async () => ({ running: agent.running, stats: await runtime.queue.stats(batchQueue) }))
      .toMatchObject({ running: 3, stats: { inFlight: 3, depth: executions - 3 } });
    agent.release();
    await expect.poll(() => agent.calls).toBe(executions);
    expect(agent.peak).toBe(3);
  });

  it('refuses a bad setting at start-up, naming it', () => {
    for (const [name, value] of [
      ['SERAPHIM_QUEUE_RATE', 'fast'],
      ['SERAPHIM_QUEUE_RATE', '0'],
      ['SERAPHIM_QUEUE_CONCURRENCY', '2.5'],
      ['SERAPHIM_QUEUE_CONCURRENCY', 'none'],
    ] as const) {
      const start = () =>
        new EmbeddedRuntime({
          orchestrators: [createExecutionsOrchestrator(engine)],
          dataDir: ':memory:',
          version: 'test',
          env: { [name]: value },
          logger: createLogger({ sink: new MemorySink() }),
        });
      expect(start).toThrow(InvalidInputError);
      expect(start).toThrow(name);
    }
  });
});

describe('machineRateLimits', () => {
  const declared = { maxConcurrentDispatches: 16, maxDispatchesPerSecond: 200 };
  it.each([
    [
      'defaults, 1 core: no rate cap, declared concurrency above 8 a core',
      {},
      1,
      16,
      UNCAPPED_DISPATCHES_PER_SECOND,
    ],
    ['defaults, 4 cores: 8 a core', {}, 4, 32, UNCAPPED_DISPATCHES_PER_SECOND],
    [
      'configured numbers, whatever the task declares',
      { SERAPHIM_QUEUE_CONCURRENCY: '3', SERAPHIM_QUEUE_RATE: '7.5' },
      4,
      3,
      7.5,
    ],
    [
      'declared, as on Firebase',
      { SERAPHIM_QUEUE_CONCURRENCY: 'declared', SERAPHIM_QUEUE_RATE: 'declared' },
      4,
      16,
      200,
    ],
    [
      'none: no rate cap; empty: the default',
      { SERAPHIM_QUEUE_CONCURRENCY: '', SERAPHIM_QUEUE_RATE: 'none' },
      2,
      16,
      UNCAPPED_DISPATCHES_PER_SECOND,
    ],
  ])('%s', (_, env: Env, cpus, concurrency, rate) => {
    expect(machineRateLimits(declared, queueLimitSettings(env, cpus))).toEqual({
      maxConcurrentDispatches: concurrency,
      maxDispatchesPerSecond: rate,
    });
  });
});

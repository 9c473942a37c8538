/**
 * A large backlog on the embedded runtime, with its default settings and its
 * schedules: 40,000 executions of a 5-step no-op chain (BENCH_BACKLOG to
 * change it) are started with the queue stopped, then the queue runs for a
 * measured window. Against the same chain drained from a small batch
 * (unloaded), it reports:
 *
 * - throughput under the backlog, over the window and per 5-second slice
 *   (target: at least 0.8× the unloaded figure);
 * - completions: when the first execution finished, and how many finished in
 *   the window (depth-first: an execution already running goes before new
 *   ones, so completions flow from the start);
 * - one recovery sweep over the backlog once every lease has expired: what it
 *   looked at and how long it held the event loop (it reads at most a page
 *   budget of executions whose lease expired, not the whole backlog).
 */
import {
  chainUseCase,
  fmt,
  lib,
  line,
  median,
  noopEngine,
  note,
  percentile,
  Report,
  rate,
  section,
  withBenchRuntime,
} from './harness.mjs';

const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 40_000);
const UNLOADED = 1_000;
const UNLOADED_ROUNDS = 3;
const STEPS = 5;
const WINDOW_MS = 30_000;
const SLICE_MS = 5_000;
const WORKSPACE = 'bench';
const TARGET_RATIO = 0.8;

const { createExecutionsOrchestrator } = await lib('orchestrators/executions/index.js');
const { saveUseCase } = await lib('orchestrators/use-cases/store.js');
const { recoverStalled } = await lib('orchestrators/executions/maintenance.js');

/** Steps run, and when each execution's last step ran (the engine commits it right after). */
const seen = { steps: 0, finished: [] };
const engine = await noopEngine(({ step }) => {
  seen.steps++;
  if (step.id === `s${STEPS - 1}`) seen.finished.push(performance.now());
});
const orchestrator = createExecutionsOrchestrator(engine);

const chain = await chainUseCase({ id: 'chain', steps: STEPS });

/** A runtime with the chain saved and a workspace budget large enough for the backlog; `n` executions started, queue stopped. */
async function withBacklog(n, fn) {
  return withBenchRuntime(
    [orchestrator],
    async ({ runtime, ctx }) => {
      await runtime.ports.documents.create(`workspaces/${WORKSPACE}`, { pool: { queueBudget: 1_000_000 } });
      const { useCase } = await saveUseCase(runtime.ports.documents, WORKSPACE, chain, Date.now());
      const t = performance.now();
      for (let i = 0; i < n; i++) await engine.start(ctx(), WORKSPACE, useCase, { x: i });
      return fn({ runtime, ctx, startMs: performance.now() - t });
    },
    // As `npm start` runs: the machine's queue limits, not the declared Cloud Tasks settings.
    { queueLimits: 'machine' },
  );
}

/** The longest the event loop went without running a 1 ms timer, from now until stop(). */
function stallMeter() {
  let last = performance.now();
  let max = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    max = Math.max(max, now - last);
    last = now;
  }, 1);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(max, performance.now() - last);
    },
  };
}

async function unloaded() {
  return withBacklog(UNLOADED, async ({ runtime }) => {
    seen.steps = 0;
    const t = performance.now();
    runtime.start();
    while (seen.steps < UNLOADED * STEPS) await new Promise((r) => setTimeout(r, 5));
    await runtime.whenIdle();
    return rate(UNLOADED * STEPS, performance.now() - t);
  });
}

async function backlog() {
  return withBacklog(BACKLOG, async ({ runtime, ctx, startMs }) => {
    seen.steps = 0;
    seen.finished = [];
    const slices = [];
    const t0 = performance.now();
    runtime.start();
    // The window ends after WINDOW_MS, or when the backlog is gone (a smaller BENCH_BACKLOG).
    let last = { at: t0, steps: 0 };
    const drained = () => seen.finished.length >= BACKLOG;
    while (performance.now() - t0 < WINDOW_MS && !drained()) {
      const sliceEnd = Math.min(last.at + SLICE_MS, t0 + WINDOW_MS);
      while (performance.now() < sliceEnd && !drained()) await new Promise((r) => setTimeout(r, 20));
      const now = { at: performance.now(), steps: seen.steps };
      if (now.at - last.at >= SLICE_MS / 2) slices.push(rate(now.steps - last.steps, now.at - last.at));
      last = now;
    }
    const windowMs = performance.now() - t0;
    const steps = seen.steps;
    const finished = seen.finished.length;
    const firstFinishedMs = seen.finished.length > 0 ? seen.finished[0] - t0 : Number.NaN;
    // The sweep as the minute schedule runs it, a minute on: every lease in the backlog has expired.
    const stall = stallMeter();
    const base = ctx();
    const later = { ...base, clock: { now: () => Date.now() + 60_000 } };
    const s = performance.now();
    const sweep = await recoverStalled(later, engine);
    const sweepMs = performance.now() - s;
    const sweepMaxBlockMs = stall.stop();
    return {
      startMs,
      windowMs,
      stepsPerSecond: rate(steps, windowMs),
      slices,
      finished,
      firstFinishedMs,
      sweep,
      sweepMs,
      sweepMaxBlockMs,
    };
  });
}

const report = new Report('backlog');
section(`Backlog: ${fmt(BACKLOG)} executions of a ${STEPS}-step no-op chain, embedded runtime defaults`);
note(
  `Unloaded: ${fmt(UNLOADED)} executions started with the queue stopped, then drained (${UNLOADED_ROUNDS} rounds).\n` +
    `Backlog: ${fmt(BACKLOG)} started with the queue stopped, then the queue runs for ${WINDOW_MS / 1000} s (measured in ${SLICE_MS / 1000} s slices).\n` +
    'The runtime as `serve` builds it: declared queues and limits, the pool, the minute schedules.',
);
const unloadedRates = [];
for (let r = 0; r < UNLOADED_ROUNDS; r++) unloadedRates.push(await unloaded());
const base = median(unloadedRates);
line(
  'unloaded steps/s (median of rounds; min–max)',
  `${fmt(base)} (${fmt(Math.min(...unloadedRates))}–${fmt(Math.max(...unloadedRates))})`,
);
const b = await backlog();
note(`Starting the backlog took ${fmt(b.startMs / 1000, 1)} s (${fmt(rate(BACKLOG, b.startMs))} starts/s).`);
const ratio = b.stepsPerSecond / base;
line('steps/s under the backlog (window)', fmt(b.stepsPerSecond));
line(
  '  per 5 s slice: min / median / max',
  `${fmt(Math.min(...b.slices))} / ${fmt(median(b.slices))} / ${fmt(Math.max(...b.slices))}`,
);
line('backlog ÷ unloaded', `${fmt(ratio, 2)}×`, `≥ ${TARGET_RATIO}×`);
line('first execution finished after', `${fmt(b.firstFinishedMs)} ms`);
line(`executions finished in the ${WINDOW_MS / 1000} s window`, fmt(b.finished));
line(
  'recovery sweep over the backlog: looked at / sent again',
  `${fmt(b.sweep.executions)} / ${fmt(b.sweep.redispatched)}${b.sweep.more ? ' (more left)' : ''}`,
);
line('  its duration / longest event-loop stall', `${fmt(b.sweepMs)} ms / ${fmt(b.sweepMaxBlockMs)} ms`);
note(
  `Slices (steps/s): ${b.slices.map((x) => fmt(x)).join(', ')}. p50 of the unloaded rounds: ${fmt(percentile(unloadedRates, 50))}.`,
);
report.row(
  'unloaded steps/s (median; min–max)',
  `${fmt(base)} (${fmt(Math.min(...unloadedRates))}–${fmt(Math.max(...unloadedRates))})`,
);
report.row(
  `steps/s under a ${fmt(BACKLOG)}-execution backlog (5 s slices min–max)`,
  `${fmt(b.stepsPerSecond)} (${fmt(Math.min(...b.slices))}–${fmt(Math.max(...b.slices))}), ${fmt(ratio, 2)}× unloaded`,
  `≥ ${TARGET_RATIO}× unloaded`,
  ratio >= TARGET_RATIO,
);
report.row(
  'backlog: first execution finished; finished in the window',
  `${fmt(b.firstFinishedMs)} ms; ${fmt(b.finished)} in ${WINDOW_MS / 1000} s`,
);
report.row(
  'backlog: one recovery sweep (looked at, duration, longest stall)',
  `${fmt(b.sweep.executions)}, ${fmt(b.sweepMs)} ms, ${fmt(b.sweepMaxBlockMs)} ms`,
);
report.save();

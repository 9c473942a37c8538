import { availableParallelism, loadavg } from 'node:os';
import { z } from 'zod';
import {
  fmt,
  lib,
  line,
  median,
  note,
  percentile,
  Report,
  section,
  withBenchRuntime,
  withCpuHogs,
} from './harness.mjs';

const POOL_GLOBAL = 8;
const FLOOD_EXECUTIONS = 400;
const QUIET_EXECUTIONS = 100;
const QUIET_INTERVAL_MS = 10;
const QUIET_DELAY_MS = 20;
const FAIR_AGENT_MS = 5;
const FAIRNESS_RATIO = 2;
/** A quiet step that waited longer than this beside the flood was held up by it. */
const SLOW_QUIET_MS = 10;

const MIX_EXECUTIONS = 300;
const MIX_SHARES = { high: 0.1, normal: 0.6, batch: 0.3 };
const MIX_MIN_MS = 5;
const MIX_MAX_MS = 20;
const UPSTREAM_LIMIT = 4;
const POOLING_IMPROVEMENT = 0.3;
const ROUNDS = 3;
const NO_TARGET = 'none (context)';

const { ExecutionEngine } = await lib('orchestrators/executions/engine.js');
const { createExecutionsOrchestrator } = await lib('orchestrators/executions/index.js');
const { builtinAgents, createAgentRegistry } = await lib('orchestrators/executions/agents/registry.js');
const { defineAgent } = await lib('orchestrators/executions/agents/types.js');
const { UseCaseBodySchema } = await lib('orchestrators/use-cases/model.js');
const { paths } = await lib('orchestrators/executions/store.js');
const { saveUseCase } = await lib('orchestrators/use-cases/store.js');
const { poolOf } = await lib('platform/pool/store.js');

// ------------------------------------------------------------------ the agent

/**
 * When each execution's agent started (performance.now()), and how many ran at once. With `gate`, the
 * upstream itself serves at most that many calls at once and queues the rest in arrival order (as a
 * server with a fixed worker pool would): the agent counts as started when the upstream serves it.
 */
const probe = {
  startedAt: new Map(),
  running: 0,
  peak: 0,
  overLimit: 0,
  limit: Number.POSITIVE_INFINITY,
  gate: null,
};
function resetProbe(limit = Number.POSITIVE_INFINITY, gate = null) {
  Object.assign(probe, { startedAt: new Map(), running: 0, peak: 0, overLimit: 0, limit, gate });
}

function semaphore(size) {
  let free = size;
  const waiting = [];
  return {
    async acquire() {
      if (free > 0) free--;
      else await new Promise((resolve) => waiting.push(resolve));
    },
    release() {
      const next = waiting.shift();
      if (next) next();
      else free++;
    },
  };
}

/** Stands in for an upstream call (an LLM provider, say): sleeps `ms`, counting concurrency. */
const upstreamAgent = defineAgent({
  kind: 'upstream',
  description: 'benchmark: sleeps for its input ms, like a call to an upstream',
  config: z.object({}),
  async run({ inputs, execution }) {
    const gate = probe.gate;
    await gate?.acquire();
    probe.startedAt.set(execution.id, performance.now());
    probe.running++;
    if (probe.running > probe.limit) probe.overLimit++;
    probe.peak = Math.max(probe.peak, probe.running);
    await new Promise((resolve) => setTimeout(resolve, Number(inputs.ms)));
    probe.running--;
    gate?.release();
    return { status: 'succeeded', output: { ok: true } };
  },
});
const registry = createAgentRegistry([...builtinAgents, upstreamAgent]);
/** The step queues' limits as index.ts declares them, by priority class. */
const DECLARED = Object.fromEntries(
  ['high', 'normal', 'low', 'batch'].map((p) => [
    p,
    createExecutionsOrchestrator(new ExecutionEngine(registry)).tasks[
      `step${p[0].toUpperCase()}${p.slice(1)}`
    ].rateLimits,
  ]),
);

function useCaseBody(id, priority) {
  return UseCaseBodySchema.parse({
    id,
    name: id,
    vertical: 'bench',
    workflow: {
      steps: [{ id: 'call', agent: 'upstream', inputs: { ms: 'input.ms' }, output: 'result', priority }],
    },
  });
}

// ------------------------------------------------------------------ runtime

/**
 * A fresh runtime (SQLite file in a temp dir), started, over a fresh engine: the executions
 * orchestrator as index.ts declares it, cron schedules left out. `pool`: the pool's configuration
 * (SERAPHIM_POOL_*), or null for the baseline, whose step tasks declare no flow control (the
 * declaration is data: dropping it leaves the plain queues). The workspaces get their documents (the
 * pool finds the workspaces with work through them) and the use cases.
 */
async function withRuntime({ pool, useCases, uncapped }, fn) {
  const engine = new ExecutionEngine(registry);
  const declared = createExecutionsOrchestrator(engine);
  const tasks = Object.fromEntries(
    Object.entries(declared.tasks).map(([k, { flowControl, ...t }]) => [
      k,
      {
        ...t,
        ...(pool ? { flowControl } : {}),
        ...(uncapped ? { rateLimits: { ...t.rateLimits, maxDispatchesPerSecond: 1e9 } } : {}),
      },
    ]),
  );
  const orch = { ...declared, tasks, schedules: {} };
  return withBenchRuntime(
    [orch],
    async ({ runtime, ctx }) => {
      const saved = {};
      for (const { workspace, id, priority } of useCases) {
        if (!(await runtime.documents.get(`workspaces/${workspace}`)))
          await runtime.documents.create(`workspaces/${workspace}`, {});
        saved[id] = (
          await saveUseCase(runtime.documents, workspace, useCaseBody(id, priority), Date.now())
        ).useCase;
      }
      if (!pool) {
        // The baselines are plain FIFO queues: step tasks lose their fairness keys. Handler contexts are
        // built from runtime.ports on each call, so they see this wrapper.
        const tasks = runtime.ports.tasks;
        runtime.ports.tasks = new Proxy(tasks, {
          get(target, key) {
            if (key === 'enqueue')
              return (queue, payload, { fairness, ...opts } = {}) => target.enqueue(queue, payload, opts);
            const value = Reflect.get(target, key);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        });
      }
      runtime.start();
      const result = await fn({ runtime, engine, ctx, useCases: saved });
      if (pool) {
        // The pool's refusals (each one a step deferred until a slot frees), by the dimension that refused.
        const by = await poolOf(ctx()).throttleTotals(ctx());
        result.throttles = { total: Object.values(by).reduce((a, b) => a + b, 0), by };
      }
      return result;
    },
    { env: pool ?? {} },
  );
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts one execution, remembering when (performance.now() just before engine.start). */
async function startTimed(engine, ctx, workspace, useCase, input, into) {
  const t0 = performance.now();
  const execution = await engine.start(ctx(), workspace, useCase, input);
  into.push({ id: execution.id, workspace, t0 });
  return execution;
}

/** Until every execution has ended, then the queues idle. */
async function settle(runtime, total) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    await runtime.whenIdle();
    if (probe.startedAt.size >= total && probe.running === 0) return true;
    if (Date.now() > deadline) return false;
    await sleep(5);
  }
}

/** Waits from the timestamps (ms, high resolution) and from the step documents (whole ms). */
async function waitsOf(runtime, started) {
  const hi = [];
  const doc = [];
  const status = {};
  for (const s of started) {
    const agentAt = probe.startedAt.get(s.id);
    if (agentAt !== undefined) hi.push(agentAt - s.t0);
    const found = await runtime.documents.get(`${paths.executions(s.workspace)}/${s.id}`);
    const step = found?.data.steps.call;
    status[found?.data.status ?? 'missing'] = (status[found?.data.status ?? 'missing'] ?? 0) + 1;
    if (step?.startedAt != null) doc.push(step.startedAt - (step.resumeAt ?? step.queuedAt));
  }
  return { hi, doc, status };
}

async function deadLettered(runtime) {
  return (await runtime.queue.list()).reduce((n, q) => n + q.deadLettered, 0);
}

// ------------------------------------------------------------------ a. fairness

const FAIR_USE_CASES = [
  { workspace: 'flood', id: 'flood', priority: 'normal' },
  { workspace: 'quiet', id: 'quiet', priority: 'normal' },
];

/**
 * The quiet workspace's executions, one every QUIET_INTERVAL_MS; with `flood`, FLOOD_EXECUTIONS of the
 * flooding workspace are started at once first (all of them accepted before the first quiet one).
 */
async function fairnessRun({ pooled, flood, uncapped }) {
  resetProbe();
  const pool = pooled ? { SERAPHIM_POOL_GLOBAL: String(POOL_GLOBAL) } : null;
  return withRuntime(
    { pool, useCases: FAIR_USE_CASES, uncapped },
    async ({ runtime, engine, ctx, useCases }) => {
      const floodStarted = [];
      const quietStarted = [];
      const t = performance.now();
      if (flood) {
        await Promise.all(
          Array.from({ length: FLOOD_EXECUTIONS }, (_, i) =>
            startTimed(engine, ctx, 'flood', useCases.flood, { ms: FAIR_AGENT_MS, i }, floodStarted),
          ),
        );
      }
      const floodStartMs = performance.now() - t;
      await sleep(QUIET_DELAY_MS);
      const base = performance.now();
      const starts = [];
      for (let i = 0; i < QUIET_EXECUTIONS; i++) {
        const due = base + i * QUIET_INTERVAL_MS;
        const now = performance.now();
        if (due > now) await sleep(due - now);
        starts.push(startTimed(engine, ctx, 'quiet', useCases.quiet, { ms: FAIR_AGENT_MS, i }, quietStarted));
      }
      await Promise.all(starts);
      const total = (flood ? FLOOD_EXECUTIONS : 0) + QUIET_EXECUTIONS;
      const settled = await settle(runtime, total);
      const makespanMs = performance.now() - t;
      const floodAgentStarts = floodStarted
        .map((s) => probe.startedAt.get(s.id))
        .filter((x) => x !== undefined);
      const floodLastStart = floodAgentStarts.length ? Math.max(...floodAgentStarts) : Number.NaN;
      const quietDuringFlood = quietStarted.filter((s) => s.t0 < floodLastStart).length;
      return {
        settled,
        makespanMs,
        floodStartMs,
        quietDuringFlood,
        floodSpanMs: floodLastStart - t,
        quiet: await waitsOf(runtime, quietStarted),
        flood: flood ? await waitsOf(runtime, floodStarted) : null,
        dead: await deadLettered(runtime),
        peak: probe.peak,
      };
    },
  );
}

// ------------------------------------------------------------------ b. pooling

function mulberry32(seed) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The workload, seeded: a shuffled list of { priority, ms }. */
function mixWorkload() {
  const random = mulberry32(20_240_605);
  const list = [];
  for (const [priority, share] of Object.entries(MIX_SHARES)) {
    for (let i = 0; i < Math.round(MIX_EXECUTIONS * share); i++) {
      list.push({ priority, ms: MIX_MIN_MS + Math.round(random() * (MIX_MAX_MS - MIX_MIN_MS)) });
    }
  }
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}

/** Three use cases differing only in their step's priority (all `normal` for FIFO). */
const mixUseCases = (fifo) =>
  Object.keys(MIX_SHARES).map((p) => ({ workspace: 'mix', id: `mix-${p}`, priority: fifo ? 'normal' : p }));

async function poolingRun({ pooled, uncapped, gated = false }) {
  resetProbe(UPSTREAM_LIMIT, gated ? semaphore(UPSTREAM_LIMIT) : null);
  const workload = mixWorkload();
  const pool = pooled ? { SERAPHIM_POOL_PER_AGENT_KIND: `upstream=${UPSTREAM_LIMIT}` } : null;
  return withRuntime(
    { pool, useCases: mixUseCases(!pooled), uncapped },
    async ({ runtime, engine, ctx, useCases }) => {
      const started = { high: [], normal: [], batch: [] };
      const t = performance.now();
      await Promise.all(
        workload.map((w, i) =>
          startTimed(engine, ctx, 'mix', useCases[`mix-${w.priority}`], { ms: w.ms, i }, started[w.priority]),
        ),
      );
      const startMs = performance.now() - t;
      const settled = await settle(runtime, MIX_EXECUTIONS);
      const makespanMs = performance.now() - t;
      const waits = {};
      for (const p of Object.keys(started)) waits[p] = await waitsOf(runtime, started[p]);
      return {
        settled,
        startMs,
        makespanMs,
        waits,
        peak: probe.peak,
        overLimit: probe.overLimit,
        agentMs: workload.reduce((n, w) => n + w.ms, 0),
        dead: await deadLettered(runtime),
      };
    },
  );
}

// ------------------------------------------------------------------ run and report

const report = new Report('pool');
section('5. Resource pool: fairness and pooling (embedded runtime)');
note(
  'Engine and orchestrator built from functions/lib (createExecutionsOrchestrator over the built-in agents plus\n' +
    'an `upstream` agent that sleeps for its input ms and counts how many run at once); SQLite file in a temp\n' +
    'dir; a fresh runtime (and so a fresh pool) per run; cron schedules left out. Wait = engine.start() called →\n' +
    'agent body starts (one-step workflows), timed in this process; percentiles over the samples of all\n' +
    `${ROUNDS} rounds (pooled and unpooled runs interleaved). Each figure twice: step queues exactly as index.ts\n` +
    'declares them (judged), and with their dispatch-rate caps lifted (context: the pool without the rate cap).\n' +
    `Load average at start ${loadavg()
      .map((l) => fmt(l, 2))
      .join(' / ')}.`,
);

const ms = (x) => `${fmt(x, 1)} ms`;
const p95 = (xs) => percentile(xs, 95);
const sum = (xs) => xs.reduce((a, b) => a + b, 0);
const throttled = (runs) => {
  if (!runs[0].throttles) return '';
  const by = {};
  for (const r of runs) for (const [d, n] of Object.entries(r.throttles.by)) by[d] = (by[d] ?? 0) + n;
  const dims = Object.entries(by)
    .filter(([, n]) => n > 0)
    .map(([d, n]) => `${d} ${fmt(n / runs.length)}`)
    .join(', ');
  return `steps refused by the pool and deferred, per run: ${fmt(sum(runs.map((r) => r.throttles.total)) / runs.length)}${dims ? ` (by dimension: ${dims})` : ''}`;
};
const health = (runs) => {
  const dead = sum(runs.map((r) => r.dead));
  const unsettled = runs.filter((r) => !r.settled).length;
  return `${dead} dead-lettered${unsettled ? `; ${unsettled} run(s) DID NOT SETTLE` : ''}`;
};

const VARIANTS = [
  { key: 'declared', uncapped: false, label: 'queues as declared' },
  { key: 'uncapped', uncapped: true, label: 'rate caps lifted' },
];
/**
 * Fairness again on a loaded machine: a CPU hog (a process spinning one core) beside the benchmark, as
 * the issue measured it; SERAPHIM_BENCH_HOGS sets how many (one a core at most).
 */
const HOGS = Math.min(availableParallelism(), Math.max(1, Number(process.env.SERAPHIM_BENCH_HOGS ?? 1) || 1));
const LOADED = {
  key: 'loaded',
  uncapped: false,
  hogs: HOGS,
  label: `queues as declared, on a loaded machine (${HOGS} of ${availableParallelism()} cores spun by another process)`,
};
const FAIR_VARIANTS = [...VARIANTS, LOADED];

// Warm-up (JIT, SQLite), discarded.
await fairnessRun({ pooled: true, flood: true, uncapped: true });
await poolingRun({ pooled: true, uncapped: true });

// ---- a. fairness
const fair = {};
for (const v of FAIR_VARIANTS) {
  fair[v.key] = { pool: { solo: [], flood: [] }, fifo: { solo: [], flood: [] } };
  await withCpuHogs(v.hogs ?? 0, async () => {
    for (let r = 0; r < ROUNDS; r++) {
      for (const mode of ['pool', 'fifo']) {
        const pooled = mode === 'pool';
        fair[v.key][mode].solo.push(await fairnessRun({ pooled, flood: false, uncapped: v.uncapped }));
        fair[v.key][mode].flood.push(await fairnessRun({ pooled, flood: true, uncapped: v.uncapped }));
      }
    }
  });
}

console.log('\n  a. Fairness: one workspace floods, the other keeps its pace');
note(
  `flood: ${FLOOD_EXECUTIONS} one-step executions (agent ${FAIR_AGENT_MS} ms) started at once; quiet: ${QUIET_EXECUTIONS} of the same, one every\n` +
    `${QUIET_INTERVAL_MS} ms from ${QUIET_DELAY_MS} ms after the flood was accepted; "alone" is the same ${QUIET_EXECUTIONS} with no flood. Both weight 1.\n` +
    `Pooled: the step tasks' declared flow control, SERAPHIM_POOL_GLOBAL=${POOL_GLOBAL}. No pool: the same tasks without it, the normal step queue alone\n` +
    '(FIFO by run time: the step tasks lose their fairness keys): what fair sharing is compared against.',
);
const fairRows = {};
for (const v of FAIR_VARIANTS) {
  const q = fair[v.key];
  console.log(`\n  ${v.label}`);
  for (const mode of ['pool', 'fifo']) {
    const { solo, flood } = q[mode];
    const soloHi = solo.flatMap((r) => r.quiet.hi);
    const floodHi = flood.flatMap((r) => r.quiet.hi);
    const soloP95 = p95(soloHi);
    const floodP95 = p95(floodHi);
    const ratio = floodP95 / soloP95;
    const label = mode === 'pool' ? 'pooled' : 'no pool';
    line(`${label}: quiet p95 wait alone`, ms(soloP95), NO_TARGET);
    line(`${label}: quiet p95 wait beside the flood`, ms(floodP95), `≤ ${FAIRNESS_RATIO}× alone`);
    line(`${label}:   beside / alone`, `${fmt(ratio, 1)}×`, `≤ ${FAIRNESS_RATIO}×`);
    const floodOwn = flood.flatMap((r) => r.flood.hi);
    const slow = floodHi.filter((x) => x > SLOW_QUIET_MS).length;
    const docP95 = (runs) => ms(p95(runs.flatMap((r) => r.quiet.doc)));
    note(
      `quiet p50 alone ${ms(median(soloHi))}, beside ${ms(median(floodHi))}; max beside ${ms(Math.max(...floodHi))}; ` +
        `${slow} of ${floodHi.length} waited over ${SLOW_QUIET_MS} ms beside it.\n` +
        `From the step documents (startedAt − queuedAt, whole ms) p95 alone ${docP95(solo)}, beside ${docP95(flood)}.\n` +
        `The flood's last agent started ${flood.map((r) => ms(r.floodSpanMs)).join(', ')} after it began; ` +
        `quiet arrivals before that: ${flood.map((r) => r.quietDuringFlood).join(', ')} of ${QUIET_EXECUTIONS}.\n` +
        `Flood's own wait p50/p95 ${ms(median(floodOwn))} / ${ms(p95(floodOwn))}; peak agents at once ` +
        `${Math.max(...flood.map((r) => r.peak))}; ${health([...solo, ...flood])}` +
        `${flood[0].throttles ? `;\n${throttled(flood)}` : ''}.`,
    );
    fairRows[`${v.key}/${mode}`] = { soloP95, floodP95, ratio };
  }
}
note(
  "How: both workspaces' steps share the normal step queue. Its claim takes them in weighted fair order by\n" +
    'workspace (runtimes/embedded/fair.ts), not oldest first, and keeps a token and a slot of headroom for a\n' +
    'workspace that is recently idle or new; the pool leaves one global slot free for the same reason\n' +
    '(pool/machine.ts fairShare). A flood step over its share is deferred in place (DeferError: no attempt\n' +
    'spent, no new task) and its workspace is not dispatched again until a slot of the dimension that refused\n' +
    'it frees and wakes it. A task a request enqueues is dispatched in the same turn of the event loop (a microtask,\n' +
    'runtimes/embedded/queue.ts #dispatchPromptly), not behind the callbacks the flood keeps queued there:\n' +
    "the quiet step's claim, pool check and start do not wait for the flood's completions, on a busy\n" +
    'machine either. What remains is the CPU a flood step holds when the quiet one arrives.',
);
const fairDeclared = fairRows['declared/pool'];
report.row(
  'fairness, pooled: quiet p95 wait beside flood / alone',
  `${ms(fairDeclared.floodP95)} / ${ms(fairDeclared.soloP95)} = ${fmt(fairDeclared.ratio, 1)}×`,
  `≤ ${FAIRNESS_RATIO}×`,
  fairDeclared.ratio <= FAIRNESS_RATIO,
);
const fairLoaded = fairRows['loaded/pool'];
report.row(
  `fairness, pooled, ${HOGS} CPU hog(s) beside: quiet p95 beside flood / alone`,
  `${ms(fairLoaded.floodP95)} / ${ms(fairLoaded.soloP95)} = ${fmt(fairLoaded.ratio, 1)}×`,
  `≤ ${FAIRNESS_RATIO}×`,
  fairLoaded.ratio <= FAIRNESS_RATIO,
);
for (const [key, label] of [
  ['declared/fifo', 'fairness, no pool (FIFO): same'],
  ['loaded/fifo', `fairness, no pool (FIFO), ${HOGS} CPU hog(s) beside: same`],
  ['uncapped/pool', 'fairness, pooled, rate caps lifted: same'],
  ['uncapped/fifo', 'fairness, no pool, rate caps lifted: same'],
]) {
  const f = fairRows[key];
  report.row(label, `${ms(f.floodP95)} / ${ms(f.soloP95)} = ${fmt(f.ratio, 1)}×`, NO_TARGET);
}

// ---- b. pooling
/** FIFO baselines: as the brief words it (no limits), and one whose upstream itself serves only 4 at once. */
const MIX_MODES = {
  pool: { label: 'pooled', run: { pooled: true } },
  fifo: { label: 'FIFO, no limits', run: { pooled: false } },
  gated: { label: `FIFO, upstream serving ${UPSTREAM_LIMIT} at once`, run: { pooled: false, gated: true } },
};
const mixModes = (v) => (v.uncapped ? ['pool', 'fifo'] : ['pool', 'fifo', 'gated']);
const mix = {};
for (const v of VARIANTS) {
  mix[v.key] = Object.fromEntries(mixModes(v).map((m) => [m, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const m of mixModes(v))
      mix[v.key][m].push(await poolingRun({ ...MIX_MODES[m].run, uncapped: v.uncapped }));
  }
}

const mixTotalMs = sum(mixWorkload().map((w) => w.ms));
console.log(`\n  b. Pooling: a mixed-priority burst on an upstream of concurrency ${UPSTREAM_LIMIT}`);
note(
  `${MIX_EXECUTIONS} one-step executions started at once in a seeded shuffle: ${Object.entries(MIX_SHARES)
    .map(([p, s]) => `${s * 100}% ${p}`)
    .join(', ')} (three use cases\n` +
    `differing only in their step's priority); agent time ${MIX_MIN_MS}–${MIX_MAX_MS} ms (seeded; ${fmt(mixTotalMs)} ms in all, so at ${UPSTREAM_LIMIT} at once\n` +
    `the work alone takes ≥ ${ms(mixTotalMs / UPSTREAM_LIMIT)}). Pooled: declared flow control, SERAPHIM_POOL_PER_AGENT_KIND=upstream=${UPSTREAM_LIMIT}, each step on its\n` +
    "priority's queue. FIFO with no limits: no pool, every step on the normal queue; the agent does not slow down\n" +
    `however many call it, so this baseline gets ${UPSTREAM_LIMIT}× the upstream it is allowed. Hence a third, capacity-matched\n` +
    `baseline (queues as declared only): the same FIFO, the upstream itself serving ${UPSTREAM_LIMIT} calls at once and queueing the\n` +
    'rest (wait there = until it serves the call). Judged: high-priority p95 wait, pooled vs FIFO with no limits\n' +
    '(the requirement: 30% better); makespan = first start → last execution ended.',
);
const mixRows = {};
for (const v of VARIANTS) {
  console.log(`\n  ${v.label}`);
  const stats = {};
  for (const mode of mixModes(v)) {
    const runs = mix[v.key][mode];
    const { label } = MIX_MODES[mode];
    const waits = (p) => runs.flatMap((r) => r.waits[p].hi);
    const high = p95(waits('high'));
    const makespan = median(runs.map((r) => r.makespanMs));
    const peak = Math.max(...runs.map((r) => r.peak));
    stats[mode] = { high, makespan, peak };
    line(`${label}: high-priority p95 wait`, ms(high), NO_TARGET);
    line(`${label}: makespan (median of ${ROUNDS})`, ms(makespan), NO_TARGET);
    line(`${label}: peak upstream calls at once`, String(peak), `≤ ${UPSTREAM_LIMIT}`);
    note(
      `p50 / p95 wait: ${Object.keys(MIX_SHARES)
        .map((p) => `${p} ${ms(median(waits(p)))} / ${ms(p95(waits(p)))}`)
        .join(', ')}.\n` +
        `High max ${ms(Math.max(...waits('high')))}; high p95 per round: ${runs.map((r) => ms(p95(r.waits.high.hi))).join(', ')}; ` +
        `makespans: ${runs.map((r) => ms(r.makespanMs)).join(', ')}.\n` +
        `Calls started with ≥ ${UPSTREAM_LIMIT} already running: ${fmt(sum(runs.map((r) => r.overLimit)) / runs.length)} of ${MIX_EXECUTIONS} per run; ${health(runs)}` +
        `${runs[0].throttles ? `;\n${throttled(runs)}` : ''}.`,
    );
  }
  const gain = (a, b) => 1 - a / b;
  const highGain = gain(stats.pool.high, stats.fifo.high);
  const makespanGain = gain(stats.pool.makespan, stats.fifo.makespan);
  line(
    `pooled vs FIFO, no limits: high p95 wait improvement${v.uncapped ? '' : ' (judged)'}`,
    `${fmt(highGain * 100, 1)} %`,
    `≥ ${POOLING_IMPROVEMENT * 100} %`,
  );
  line('pooled vs FIFO, no limits: makespan improvement', `${fmt(makespanGain * 100, 1)} %`, NO_TARGET);
  mixRows[v.key] = { ...stats, highGain, makespanGain };
  if (stats.gated) {
    const g = {
      high: gain(stats.pool.high, stats.gated.high),
      makespan: gain(stats.pool.makespan, stats.gated.makespan),
    };
    line(
      `pooled vs upstream serving ${UPSTREAM_LIMIT}: high p95 wait improvement`,
      `${fmt(g.high * 100, 1)} %`,
      NO_TARGET,
    );
    line(
      `pooled vs upstream serving ${UPSTREAM_LIMIT}: makespan improvement`,
      `${fmt(g.makespan * 100, 1)} %`,
      NO_TARGET,
    );
    mixRows[v.key].vsGated = g;
  }
}
const throttlesPerStep = (runs) =>
  sum(runs.map((r) => r.throttles?.total ?? 0)) / (runs.length * MIX_EXECUTIONS);
const upstreamMs = mixTotalMs / UPSTREAM_LIMIT;
note(
  'How: a step refused a slot is deferred on the dimension that refused it, without spending an attempt;\n' +
    'each slot freed wakes one step deferred on it, the highest priority class first (the task table orders\n' +
    'parked tasks by priority, then age), so high steps take the upstream before normal and batch ones and no\n' +
    `slot stays idle while work waits. As declared, the batch queue's own ${DECLARED.batch.maxDispatchesPerSecond} dispatches/s set the makespan (its\n` +
    `${Math.round(MIX_EXECUTIONS * MIX_SHARES.batch)} steps take ≥ ${ms((MIX_EXECUTIONS * MIX_SHARES.batch * 1000) / DECLARED.batch.maxDispatchesPerSecond)}); with the caps lifted the makespan is ` +
    `${fmt(mixRows.uncapped.pool.makespan / upstreamMs, 2)}× the ${ms(upstreamMs)} the upstream needs.\n` +
    `Refusals per step: ${fmt(throttlesPerStep(mix.declared.pool), 2)} as declared, ${fmt(throttlesPerStep(mix.uncapped.pool), 2)} with the caps lifted; embedded they cost a row update,\n` +
    "on firebase each is a new Cloud Tasks task (<id>-d<n>), beyond the cost model's ≤ 1 per step.",
);
const d = mixRows.declared;
report.row(
  'pooling: high-priority p95 wait, pooled vs FIFO no limits',
  `${ms(d.pool.high)} vs ${ms(d.fifo.high)} (${fmt(d.highGain * 100, 1)} %)`,
  `≥ ${POOLING_IMPROVEMENT * 100} % better`,
  d.highGain >= POOLING_IMPROVEMENT,
);
report.row(
  'pooling: makespan, pooled vs FIFO no limits',
  `${ms(d.pool.makespan)} vs ${ms(d.fifo.makespan)} (${fmt(d.makespanGain * 100, 1)} %)`,
  NO_TARGET,
);
report.row(
  'pooling: peak upstream concurrency, pooled vs FIFO no limits',
  `${d.pool.peak} vs ${d.fifo.peak}`,
  `≤ ${UPSTREAM_LIMIT}`,
  d.pool.peak <= UPSTREAM_LIMIT,
);
report.row(
  `pooling vs FIFO, upstream serving ${UPSTREAM_LIMIT}: high p95; makespan`,
  `${ms(d.pool.high)} vs ${ms(d.gated.high)} (${fmt(d.vsGated.high * 100, 1)} %); ` +
    `${ms(d.pool.makespan)} vs ${ms(d.gated.makespan)} (${fmt(d.vsGated.makespan * 100, 1)} %)`,
  NO_TARGET,
);
const u = mixRows.uncapped;
report.row(
  'pooling, rate caps lifted: high p95; makespan',
  `${ms(u.pool.high)} vs ${ms(u.fifo.high)} (${fmt(u.highGain * 100, 1)} %); ` +
    `${ms(u.pool.makespan)} vs ${ms(u.fifo.makespan)} (${fmt(u.makespanGain * 100, 1)} %)`,
  NO_TARGET,
);

report.data = { fairness: fairRows, pooling: mixRows, rounds: ROUNDS };
report.save();

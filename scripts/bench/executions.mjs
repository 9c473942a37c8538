import { loadavg } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { z } from 'zod';
import {
  chainUseCase,
  fmt,
  lib,
  line,
  median,
  note,
  percentile,
  Report,
  rate,
  section,
  withBenchRuntime,
} from './harness.mjs';

const STEPS = 5;
const WARMUP_EXECUTIONS = 200;
const EXECUTIONS = 1_000;
const ROUNDS = 3;
const ISOLATED_EXECUTIONS = 400;
const DECLARED_EXECUTIONS = 200;
const LATENCY_SAMPLES = 100;
const COST_EXECUTIONS = 200;
/** The long chain of the bytes-per-step comparison, and how many of its executions run. */
const LONG_STEPS = 50;
const LONG_EXECUTIONS = 40;
/** Bytes written per step must not grow with the steps before it: the long chain within this factor of the short. */
const MAX_BYTES_GROWTH = 1.25;
const CACHE_EXECUTIONS = 200;
const CACHE_DISTINCT = 40;
const CACHE_WAVES = 5;
const CONCURRENCY = 8;
const UNCAPPED_RATE = 1e9;
const WORKSPACE = 'bench';
const NO_TARGET = 'none (context)';
const OVERHEAD_TARGET = 'p50 ≤ 1 ms, p99 ≤ 5 ms';
const OVERHEAD_P50_MS = 1;
const OVERHEAD_P99_MS = 5;
const MAX_WRITES_PER_STEP = 2;
const MAX_TASKS_PER_STEP = 1;
const CACHE_TARGET = 0.5;

const { ExecutionEngine } = await lib('orchestrators/executions/engine.js');
const { createExecutionsOrchestrator } = await lib('orchestrators/executions/index.js');
const { builtinAgents, createAgentRegistry } = await lib('orchestrators/executions/agents/registry.js');
const { defineAgent } = await lib('orchestrators/executions/agents/types.js');
const { paths } = await lib('orchestrators/executions/store.js');
const { saveUseCase } = await lib('orchestrators/use-cases/store.js');

// ------------------------------------------------------------------ the agent, the engine, the workflow

/** Agent calls, and how long each agent body took, by execution/step/attempt. */
const agents = { calls: 0, ms: new Map() };
const noopAgent = defineAgent({
  kind: 'noop',
  description: 'benchmark: returns its input',
  // `tag` only keeps the cache keys of different steps apart (see the cache section).
  config: z.object({ tag: z.string().optional() }),
  async run({ inputs, step, execution }) {
    const t = performance.now();
    agents.calls++;
    const output = { v: inputs.x ?? null };
    agents.ms.set(`${execution.id}/${step.id}/${step.attempt}`, performance.now() - t);
    return { status: 'succeeded', output };
  },
});

const engine = new ExecutionEngine(createAgentRegistry([...builtinAgents, noopAgent]));
const declared = createExecutionsOrchestrator(engine);
const declaredStep = declared.tasks.stepNormal;

function useCaseBody(id, cached, length = STEPS) {
  return chainUseCase({
    id,
    steps: length,
    step: (i) => ({
      config: { tag: `s${i}` },
      ...(cached ? { cache: { key: ['x'], ttlSeconds: 3600 } } : {}),
    }),
  });
}

/**
 * The executions orchestrator as index.ts declares it, the step queues' flow control included (so
 * every step takes and frees its pool slots, and every execution is admitted, as in production; until
 * the pool was declared on the task, this benchmark ran without it), except: the normal step queue
 * (every step here is normal priority) may get other limits, its handler is timed around engine.runStep, and the cron
 * schedules (stall recovery, expiry cleanup) are left out so a minute boundary cannot add port calls.
 */
function orchestrator({ limits, onStep }) {
  return {
    ...declared,
    schedules: {},
    tasks: {
      ...declared.tasks,
      stepNormal: {
        ...declaredStep,
        rateLimits: { ...declaredStep.rateLimits, ...limits },
        async handler(payload, ctx, info) {
          const t = performance.now();
          const cpu = process.cpuUsage();
          await declaredStep.handler(payload, ctx, info);
          const ms = performance.now() - t;
          const { user, system } = process.cpuUsage(cpu);
          const key = `${payload.executionId}/${payload.stepId}/${payload.attempt}`;
          const agentMs = agents.ms.get(key) ?? 0;
          agents.ms.delete(key);
          onStep?.(ms - agentMs, t, t + ms, (user + system) / 1000);
        },
      },
    },
  };
}

const atConcurrency = (c) => ({ maxConcurrentDispatches: c, maxDispatchesPerSecond: UNCAPPED_RATE });

/** A fresh runtime (SQLite file in a temp dir), not started, with the use case saved. */
async function withRuntime(orch, { cached = false, length = STEPS } = {}, fn) {
  return withBenchRuntime([orch], async ({ runtime, ctx }) => {
    const { useCase } = await saveUseCase(
      runtime.ports.documents,
      WORKSPACE,
      await useCaseBody(cached ? 'noop-cached' : 'noop', cached, length),
      Date.now(),
    );
    return fn({ runtime, ctx, useCase });
  });
}

/** Resolves when `n` more step handlers have returned. */
function stepCounter() {
  let done = 0;
  let target = Number.POSITIVE_INFINITY;
  let resolve = () => {};
  return {
    onStep() {
      if (++done >= target) resolve();
    },
    until(n) {
      target = done + n;
      return done >= target ? Promise.resolve() : new Promise((r) => (resolve = r));
    },
  };
}

/** Every queue empty, nothing in flight, nothing dead-lettered; and how the executions ended. */
async function outcome(runtime) {
  await runtime.whenIdle();
  const queues = await runtime.queue.list();
  const busy = queues.filter((q) => q.depth > 0 || q.inFlight > 0).map((q) => q.queue);
  const dead = queues.reduce((n, q) => n + q.deadLettered, 0);
  const statuses = {};
  let cursor;
  do {
    const page = await runtime.documents.query(paths.executions(WORKSPACE), {
      limit: 200,
      ...(cursor ? { cursor } : {}),
    });
    for (const doc of page.docs) statuses[doc.data.status] = (statuses[doc.data.status] ?? 0) + 1;
    cursor = page.nextCursor;
  } while (cursor);
  return { busy, dead, statuses };
}

const describe = ({ statuses, dead, busy }) =>
  `${Object.entries(statuses)
    .map(([s, n]) => `${fmt(n)} ${s}`)
    .join(', ')}; ${dead} dead-lettered${busy.length ? `; STILL BUSY: ${busy.join(', ')}` : ''}`;

/**
 * Starts `executions` executions with the queue stopped, then starts it and times the drain: until
 * the last step handler returned, then until whenIdle() saw its task's completion commit.
 */
async function drainRun(limits, executions) {
  const overheadMs = [];
  const cpuMs = [];
  const spans = [];
  const counter = stepCounter();
  const orch = orchestrator({
    limits,
    onStep: (ms, from, to, cpu) => {
      overheadMs.push(ms);
      cpuMs.push(cpu);
      spans.push([from, to]);
      counter.onStep();
    },
  });
  return withRuntime(orch, {}, async ({ runtime, ctx, useCase }) => {
    let t = performance.now();
    for (let i = 0; i < executions; i++) await engine.start(ctx(), WORKSPACE, useCase, { x: i });
    const startMs = performance.now() - t;
    const calls = agents.calls;
    const handled = counter.until(executions * STEPS);
    t = performance.now();
    runtime.start();
    await handled;
    await runtime.whenIdle();
    const drainMs = performance.now() - t;
    return {
      startMs,
      drainMs,
      overheadMs,
      cpuMs,
      spans,
      agentCalls: agents.calls - calls,
      ...(await outcome(runtime)),
    };
  });
}

/** One execution at a time on an idle, running runtime: engine.start() until the queues are idle again. */
async function latencyRun(samples) {
  return withRuntime(orchestrator({ limits: atConcurrency(1) }), {}, async ({ runtime, ctx, useCase }) => {
    runtime.start();
    const ms = [];
    for (let i = 0; i < samples + 20; i++) {
      const t = performance.now();
      await engine.start(ctx(), WORKSPACE, useCase, { x: i });
      await runtime.whenIdle();
      if (i >= 20) ms.push(performance.now() - t);
    }
    return { ms, ...(await outcome(runtime)) };
  });
}

// ------------------------------------------------------------------ counting ports

/**
 * Wraps runtime.ports (which every handler's context is built from, per call) with counters. Port
 * calls are what the engine issues, the same on both runtimes. `fs*` translate them into Firestore
 * billing as runtimes/firebase/firestore.ts issues them: a transaction's tx.get is a read, and its
 * commit first reads (getAll) every path it writes that it has not read, then writes each touched
 * path once; set/update/delete outside a transaction run as a one-write transaction that reads the
 * document first (its version is bumped); create is one write; a query reads the documents returned
 * (it fetches limit + 1), at least one.
 */
function countPorts(runtime) {
  const c = {
    get: 0,
    create: 0,
    set: 0,
    update: 0,
    delete: 0,
    query: 0,
    queryDocs: 0,
    transaction: 0,
    txRuns: 0,
    txGet: 0,
    txCreate: 0,
    txSet: 0,
    txUpdate: 0,
    txDelete: 0,
    other: 0,
    fsReads: 0,
    fsWrites: 0,
    enqueue: 0,
    enqueueDeduped: 0,
    publish: 0,
    kvGet: 0,
    kvSet: 0,
    kvOther: 0,
    /** Bytes of document data written (JSON), every write counted. */
    bytes: 0,
  };
  const size = (data) => Buffer.byteLength(JSON.stringify(data ?? null));
  const forward = (target, own, onOther) =>
    new Proxy(target, {
      get(t, prop) {
        if (Object.hasOwn(own, prop)) return own[prop];
        const value = Reflect.get(t, prop, t);
        if (typeof value !== 'function') return value;
        return (...args) => {
          onOther?.();
          return value.apply(t, args);
        };
      },
    });
  const docs = runtime.ports.documents;
  const readThenWrite =
    (method) =>
    async (path, ...rest) => {
      c[method]++;
      c.fsReads++;
      c.fsWrites++;
      if (method !== 'delete') c.bytes += size(rest[0]);
      return docs[method](path, ...rest);
    };
  runtime.ports.documents = forward(
    docs,
    {
      async get(path) {
        c.get++;
        c.fsReads++;
        return docs.get(path);
      },
      async create(path, data) {
        c.create++;
        c.fsWrites++;
        c.bytes += size(data);
        return docs.create(path, data);
      },
      set: readThenWrite('set'),
      update: readThenWrite('update'),
      delete: readThenWrite('delete'),
      async query(collection, query) {
        c.query++;
        const page = await docs.query(collection, query);
        c.queryDocs += page.docs.length;
        c.fsReads += Math.max(1, page.docs.length + (page.nextCursor ? 1 : 0));
        return page;
      },
      async transaction(fn) {
        c.transaction++;
        return docs.transaction(async (tx) => {
          c.txRuns++;
          const read = new Set();
          const written = new Set();
          let reads = 0;
          const write =
            (kind, method) =>
            (path, ...rest) => {
              c[kind]++;
              written.add(path);
              if (method !== 'delete') c.bytes += size(rest[0]);
              return tx[method](path, ...rest);
            };
          const result = await fn({
            async get(path) {
              c.txGet++;
              reads++;
              read.add(path);
              return tx.get(path);
            },
            create: write('txCreate', 'create'),
            set: write('txSet', 'set'),
            update: write('txUpdate', 'update'),
            delete: write('txDelete', 'delete'),
          });
          c.fsReads += reads + [...written].filter((p) => !read.has(p)).length;
          c.fsWrites += written.size;
          return result;
        });
      },
    },
    () => c.other++,
  );
  const tasks = runtime.ports.tasks;
  runtime.ports.tasks = forward(tasks, {
    async enqueue(queue, payload, opts) {
      c.enqueue++;
      const result = await tasks.enqueue(queue, payload, opts);
      if (result.deduped) c.enqueueDeduped++;
      return result;
    },
  });
  const events = runtime.ports.events;
  runtime.ports.events = forward(events, {
    async publish(...args) {
      c.publish++;
      return events.publish(...args);
    },
  });
  const kv = runtime.ports.kv;
  runtime.ports.kv = forward(
    kv,
    {
      async get(key) {
        c.kvGet++;
        return kv.get(key);
      },
      async set(...args) {
        c.kvSet++;
        return kv.set(...args);
      },
    },
    () => c.kvOther++,
  );
  return {
    snapshot: () => ({ ...c }),
    diff: (a, b) => Object.fromEntries(Object.keys(b).map((k) => [k, b[k] - (a[k] ?? 0)])),
  };
}

const portReads = (c) => c.get + c.txGet + c.queryDocs;
const portWrites = (c) =>
  c.create + c.set + c.update + c.delete + c.txCreate + c.txSet + c.txUpdate + c.txDelete;

/** N executions of a `length`-step chain started (queue stopped), then drained, with the ports counted. */
async function costRun(executions, length = STEPS) {
  const counter = stepCounter();
  const orch = orchestrator({ limits: atConcurrency(CONCURRENCY), onStep: () => counter.onStep() });
  return withRuntime(orch, { length }, async ({ runtime, ctx, useCase }) => {
    const ports = countPorts(runtime);
    const before = ports.snapshot();
    for (let i = 0; i < executions; i++) await engine.start(ctx(), WORKSPACE, useCase, { x: i });
    const started = ports.snapshot();
    const handled = counter.until(executions * length);
    runtime.start();
    await handled;
    await runtime.whenIdle();
    const drained = ports.snapshot();
    return {
      start: ports.diff(before, started),
      steps: ports.diff(started, drained),
      total: ports.diff(before, drained),
      ...(await outcome(runtime)),
    };
  });
}

// ------------------------------------------------------------------ cache workload

/** Deterministic draws, so every run replays the same workload. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function cacheRun() {
  const random = mulberry32(20_240_601);
  const inputs = Array.from(
    { length: CACHE_EXECUTIONS },
    () => `customer-${String(Math.floor(random() * CACHE_DISTINCT)).padStart(2, '0')}`,
  );
  const counter = stepCounter();
  const orch = orchestrator({ limits: atConcurrency(CONCURRENCY), onStep: () => counter.onStep() });
  return withRuntime(orch, { cached: true }, async ({ runtime, ctx, useCase }) => {
    const ports = countPorts(runtime);
    runtime.start();
    const waves = [];
    const perWave = CACHE_EXECUTIONS / CACHE_WAVES;
    const seen = new Set();
    for (let w = 0; w < CACHE_WAVES; w++) {
      const wave = inputs.slice(w * perWave, (w + 1) * perWave);
      const calls = agents.calls;
      const handled = counter.until(wave.length * STEPS);
      for (const x of wave) await engine.start(ctx(), WORKSPACE, useCase, { x });
      await handled;
      await runtime.whenIdle();
      const newValues = new Set(wave.filter((x) => !seen.has(x))).size;
      for (const x of wave) seen.add(x);
      waves.push({ executions: wave.length, newValues, agentCalls: agents.calls - calls });
    }
    const counts = ports.snapshot();
    // How many steps the machine recorded as cache hits, read back from the executions.
    let cacheHits = 0;
    let cursor;
    do {
      const page = await runtime.documents.query(paths.executions(WORKSPACE), {
        limit: 200,
        ...(cursor ? { cursor } : {}),
      });
      for (const doc of page.docs) for (const s of Object.values(doc.data.steps)) if (s.cacheHit) cacheHits++;
      cursor = page.nextCursor;
    } while (cursor);
    return { waves, distinct: seen.size, counts, cacheHits, ...(await outcome(runtime)) };
  });
}

// ------------------------------------------------------------------ run and report

const report = new Report('executions');
section('4. Execution engine (embedded runtime)');
note(
  `Workflow: a chain of ${STEPS} steps of a no-op agent (returns {v: its input}), each reading the previous\n` +
    "step's output; normal priority. Engine and orchestrator built from functions/lib as the tests build them\n" +
    '(createExecutionsOrchestrator over a registry of the built-in agents plus the no-op one); SQLite file in a\n' +
    'temp dir; a fresh runtime per figure; cron schedules left out. Executions started with engine.start().\n' +
    `Load average at start ${loadavg()
      .map((l) => fmt(l, 2))
      .join(' / ')}: anything else on these cores shows up as spread between rounds.`,
);

const ms = (x) => `${fmt(x, 3)} ms`;
const pair = (xs) => `${ms(median(xs))} / ${ms(percentile(xs, 99))}`;

await drainRun(atConcurrency(CONCURRENCY), WARMUP_EXECUTIONS); // JIT warm-up, discarded

const declaredLimits = declaredStep.rateLimits;
const rounds = [];
const rounds16 = [];
for (let r = 0; r < ROUNDS; r++) {
  rounds.push(await drainRun(atConcurrency(CONCURRENCY), EXECUTIONS));
  rounds16.push(await drainRun(atConcurrency(declaredLimits.maxConcurrentDispatches), EXECUTIONS));
}
const asDeclared = await drainRun({}, DECLARED_EXECUTIONS);
/** Garbage collections during the isolated run, to tell whether they make its slow steps. */
const gcs = [];
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push([e.startTime, e.startTime + e.duration]);
});
gcObserver.observe({ entryTypes: ['gc'] });
const isolated = await drainRun(atConcurrency(1), ISOLATED_EXECUTIONS);
await new Promise((resolve) => setTimeout(resolve, 50)); // observer entries arrive asynchronously
gcObserver.disconnect();
const latency = await latencyRun(LATENCY_SAMPLES);

console.log('\n  a. Throughput');
const execRate = (r, n) => rate(n, r.drainMs);
const c8Exec = median(rounds.map((r) => execRate(r, EXECUTIONS)));
line(`${fmt(EXECUTIONS)} executions drained, concurrency ${CONCURRENCY}`, `${fmt(c8Exec)} exec/s`, NO_TARGET);
line('  same, in steps', `${fmt(c8Exec * STEPS)} steps/s`, NO_TARGET);
note(
  `median of ${ROUNDS} rounds (exec/s: ${rounds.map((r) => fmt(execRate(r, EXECUTIONS))).join(', ')}); step queue ` +
    `maxConcurrentDispatches ${CONCURRENCY} and its dispatch-rate cap lifted,\nso the figure is the engine's, not the limiter's. ` +
    `Last round: ${describe(rounds.at(-1))}; ${fmt(rounds.at(-1).agentCalls)} agent calls.`,
);
report.row(
  `c=${CONCURRENCY}: executions/s, steps/s`,
  `${fmt(c8Exec)}/s, ${fmt(c8Exec * STEPS)} steps/s`,
  NO_TARGET,
);
const c16Exec = median(rounds16.map((r) => execRate(r, EXECUTIONS)));
line(
  `same at the declared concurrency (${declaredLimits.maxConcurrentDispatches}), rate cap lifted`,
  `${fmt(c16Exec)} exec/s`,
  NO_TARGET,
);
line('  same, in steps', `${fmt(c16Exec * STEPS)} steps/s`, NO_TARGET);
note(
  `median of ${ROUNDS} rounds, interleaved with the above (exec/s: ${rounds16.map((r) => fmt(execRate(r, EXECUTIONS))).join(', ')})`,
);
report.row(
  `c=${declaredLimits.maxConcurrentDispatches} (declared), no rate cap: exec/s, steps/s`,
  `${fmt(c16Exec)}/s, ${fmt(c16Exec * STEPS)} steps/s`,
  NO_TARGET,
);
const declaredExec = execRate(asDeclared, DECLARED_EXECUTIONS);
line(
  `${fmt(DECLARED_EXECUTIONS)} executions, limits exactly as index.ts declares`,
  `${fmt(declaredExec)} exec/s`,
  NO_TARGET,
);
line('  same, in steps', `${fmt(declaredExec * STEPS)} steps/s`, NO_TARGET);
note(
  `index.ts declares the normal step queue at maxConcurrentDispatches ${declaredLimits.maxConcurrentDispatches}, ` +
    `maxDispatchesPerSecond ${declaredLimits.maxDispatchesPerSecond}: there the\n` +
    `dispatch rate is the ceiling (a bucket of ${declaredLimits.maxDispatchesPerSecond} tokens refilled at ${declaredLimits.maxDispatchesPerSecond}/s), ` +
    `not the engine. ${describe(asDeclared)}.\nStarting executions (engine.start: create + first commit + first enqueue), ` +
    `queue stopped: ${fmt(median(rounds.map((r) => rate(EXECUTIONS, r.startMs))))} starts/s.`,
);
report.row(
  `as declared (c=${declaredLimits.maxConcurrentDispatches}, ${declaredLimits.maxDispatchesPerSecond} dispatches/s): steps/s`,
  `${fmt(declaredExec * STEPS)} steps/s`,
  NO_TARGET,
);

console.log('\n  Per-step overhead (engine time per step, agent excluded)');
line(
  `isolated (concurrency 1, ${fmt(ISOLATED_EXECUTIONS * STEPS)} steps) p50 / p99`,
  pair(isolated.overheadMs),
  OVERHEAD_TARGET,
);
const isoP50 = median(isolated.overheadMs);
const isoP99 = percentile(isolated.overheadMs, 99);
const SLOW_MS = 2;
const slow = isolated.overheadMs.flatMap((v, i) => (v > SLOW_MS ? [i] : []));
const slowInGc = slow.filter((i) => {
  const [from, to] = isolated.spans[i];
  return gcs.some(([s, e]) => s < to && e > from);
}).length;
const gaps = slow.slice(1).map((i, k) => i - slow[k]);
note(
  `p90 ${ms(percentile(isolated.overheadMs, 90))}, p99.9 ${ms(percentile(isolated.overheadMs, 99.9))}, ` +
    `max ${ms(Math.max(...isolated.overheadMs))}. The tail: ${slow.length} steps over ${SLOW_MS} ms, ${slowInGc} of them\n` +
    `overlapping a garbage collection (${gcs.length} in the run); median gap between them ${fmt(median(gaps))} steps.\n` +
    `CPU time of the same steps (process user + system; steps do not overlap at concurrency 1) p50 / p99:\n` +
    `${pair(isolated.cpuMs)}: the rest of the tail is waiting. SQLite's WAL auto-checkpoint (every 1,000 pages,\n` +
    "fsync'd under synchronous=NORMAL) lands on whichever commit crosses the mark, about every 55 steps of this\n" +
    'workflow on a quiet machine; a shorter gap means other processes taking the disk or the cores too.',
);
report.row(
  'per-step overhead p50/p99 (isolated, c=1)',
  pair(isolated.overheadMs),
  OVERHEAD_TARGET,
  isoP50 <= OVERHEAD_P50_MS && isoP99 <= OVERHEAD_P99_MS,
);
report.row('per-step CPU time p50/p99 (isolated, c=1)', pair(isolated.cpuMs), NO_TARGET);
const c8Overhead = rounds.flatMap((r) => r.overheadMs);
line(`under load (concurrency ${CONCURRENCY}) p50 / p99, wall time`, pair(c8Overhead), NO_TARGET);
line(
  `engine time per step at concurrency ${CONCURRENCY} (1 / steps/s)`,
  ms(1000 / (c8Exec * STEPS)),
  NO_TARGET,
);
report.row(
  `per-step wall time p50/p99 at c=${CONCURRENCY} (incl. waiting on the others)`,
  pair(c8Overhead),
  NO_TARGET,
);
note(
  'Method: the step task handler is wrapped, performance.now() around engine.runStep (the step queue calls it\n' +
    'once it has claimed the task): reading the execution and use case, running the agent, committing the\n' +
    'decision (execution + checkpoint, one transaction, durable) and enqueueing the next step. The no-op agent\n' +
    "times its own body the same way and that is subtracted. Not included: the queue's claim and its group\n" +
    "commit of the task's 'done' row, and the flow-control wrapper around the handler (its two pool operations\n" +
    "on the memory kv; the enqueue inside does include the fairness lookup). (The step states' queuedAt/startedAt/\n" +
    'endedAt are whole ms, too coarse.) Since the pool is declared on the step task it runs here as in production.\n' +
    `Isolated is the engine's own cost. At concurrency ${CONCURRENCY} one process interleaves ${CONCURRENCY} steps, so a step's\n` +
    'wall time also holds the time the event loop spends on the others at its await points: a queueing figure.',
);
const e2e = latency.ms;
line('one execution alone, engine.start() → idle, p50 / p99', pair(e2e), NO_TARGET);
note(
  `${LATENCY_SAMPLES} executions one after another (after 20 warm-up), concurrency 1: ${fmt(median(e2e) / STEPS, 2)} ms per step\n` +
    `at p50, queue hand-offs and the task group commits included. ${describe(latency)}.`,
);
report.row(`${STEPS}-step execution latency p50/p99 (idle runtime)`, pair(e2e), NO_TARGET);

// ---- b. cost model
const cost = await costRun(COST_EXECUTIONS);
const steps = COST_EXECUTIONS * STEPS;
console.log('\n  b. Cost model: port calls per step, and what they cost on Firestore and Cloud Tasks');
note(
  `${fmt(COST_EXECUTIONS)} executions (${fmt(steps)} steps) on the embedded runtime, every port call counted through a proxy on\n` +
    'runtime.ports (documents incl. transactions and their tx calls, tasks.enqueue, events.publish, kv).\n' +
    'The engine issues the same port calls on both runtimes; Firestore figures translate them the way\n' +
    "runtimes/firebase/firestore.ts executes them (a transaction's commit also reads each path it writes\n" +
    'but did not read first: here the new checkpoint document).',
);
const per = (x, n) => fmt(x / n, 2);
const t = cost.total;
line(
  'document reads per step: port calls / Firestore billed',
  `${per(portReads(t), steps)} / ${per(t.fsReads, steps)}`,
  NO_TARGET,
);
line(
  'document writes per step: port calls / Firestore billed',
  `${per(portWrites(t), steps)} / ${per(t.fsWrites, steps)}`,
  `≤ ${MAX_WRITES_PER_STEP}`,
);
line('tasks enqueued per step (Cloud Tasks)', per(t.enqueue, steps), `≤ ${MAX_TASKS_PER_STEP}`);
line('events published per step (Pub/Sub)', per(t.publish, steps), NO_TARGET);
note(
  `All amortised: totals over the ${STEPS} steps, execution starts included. Split (Firestore billed):\n` +
    `  per execution start: ${per(cost.start.fsReads, COST_EXECUTIONS)} reads, ${per(cost.start.fsWrites, COST_EXECUTIONS)} writes, ` +
    `${per(cost.start.enqueue, COST_EXECUTIONS)} tasks (create the execution; one transaction: read it, use case, write it; enqueue step 1)\n` +
    `  per step run:        ${per(cost.steps.fsReads, steps)} reads, ${per(cost.steps.fsWrites, steps)} writes, ` +
    `${per(cost.steps.enqueue, steps)} tasks, ${per(cost.steps.publish, steps)} events\n` +
    `  step-run port calls: ${per(cost.steps.get, steps)} get (the execution snapshot), ${per(cost.steps.query, steps)} queries (the\n` +
    `  checkpoints since the snapshot: ${per(cost.steps.queryDocs, steps)} documents returned), ` +
    `${per(cost.steps.transaction, steps)} transaction (${per(cost.steps.txGet, steps)} tx.get: the snapshot and the next\n` +
    `  checkpoint's empty slot; ${per(cost.steps.txCreate, steps)} tx.create checkpoint, ${per(cost.steps.txSet, steps)} tx.set snapshot).\n` +
    `  Transactions retried: ${fmt(t.txRuns - t.transaction)}; ` +
    `deduped enqueues: ${fmt(t.enqueueDeduped)};\n  other document calls: ${fmt(t.other)}; kv calls: ${fmt(t.kvGet + t.kvSet + t.kvOther)}. ${describe(cost)}.`,
);
const writesPerStep = t.fsWrites / steps;
const tasksPerStep = t.enqueue / steps;
report.row('Firestore reads per step', per(t.fsReads, steps), NO_TARGET);
report.row(
  'Firestore writes per step (starts amortised)',
  `${per(t.fsWrites, steps)} (step run alone ${per(cost.steps.fsWrites, steps)})`,
  `≤ ${MAX_WRITES_PER_STEP}`,
  writesPerStep <= MAX_WRITES_PER_STEP,
);
report.row(
  'tasks enqueued per step',
  per(t.enqueue, steps),
  `≤ ${MAX_TASKS_PER_STEP}`,
  tasksPerStep <= MAX_TASKS_PER_STEP,
);

// ---- b2. bytes per step, short and long chains
const long = await costRun(LONG_EXECUTIONS, LONG_STEPS);
const shortSteps = steps;
const longSteps = LONG_EXECUTIONS * LONG_STEPS;
const bytesShort = cost.steps.bytes / shortSteps;
const bytesLong = long.steps.bytes / longSteps;
const bytesShortAll = cost.total.bytes / shortSteps;
const bytesLongAll = long.total.bytes / longSteps;
note(
  `Bytes of document data written per step (JSON), ${STEPS}-step chain (${fmt(COST_EXECUTIONS)} executions) against a ${LONG_STEPS}-step\n` +
    `chain (${fmt(LONG_EXECUTIONS)} executions), same agent and output size. Step runs alone (checkpoints, and the snapshot written when\n` +
    'the execution ends), then with the start (the execution document created) amortised.',
);
line(
  `bytes written per step, ${STEPS} / ${LONG_STEPS} steps (step runs)`,
  `${fmt(bytesShort, 0)} / ${fmt(bytesLong, 0)} B (${fmt(bytesLong / bytesShort, 2)}×)`,
  `${LONG_STEPS}-step ≤ ${MAX_BYTES_GROWTH}× ${STEPS}-step`,
);
line(
  `bytes written per step, ${STEPS} / ${LONG_STEPS} steps (start amortised)`,
  `${fmt(bytesShortAll, 0)} / ${fmt(bytesLongAll, 0)} B`,
  NO_TARGET,
);
line(
  `document writes per step, ${LONG_STEPS}-step chain (start amortised)`,
  per(long.total.fsWrites, longSteps),
  `≤ ${MAX_WRITES_PER_STEP}`,
);
report.row(
  `bytes written per step, ${STEPS} / ${LONG_STEPS} steps (step runs)`,
  `${fmt(bytesShort, 0)} / ${fmt(bytesLong, 0)} B`,
  `${LONG_STEPS}-step ≤ ${MAX_BYTES_GROWTH}× ${STEPS}-step`,
  bytesLong <= bytesShort * MAX_BYTES_GROWTH,
);
report.row(
  `Firestore writes per step, ${LONG_STEPS}-step chain (start amortised)`,
  per(long.total.fsWrites, longSteps),
  `≤ ${MAX_WRITES_PER_STEP}`,
  long.total.fsWrites / longSteps <= MAX_WRITES_PER_STEP,
);

// ---- c. cache
const cache = await cacheRun();
const cacheSteps = CACHE_EXECUTIONS * STEPS;
const cacheCalls = cache.waves.reduce((n, w) => n + w.agentCalls, 0);
const saved = 1 - cacheCalls / cacheSteps;
const ideal = 1 - cache.distinct / CACHE_EXECUTIONS;
console.log('\n  c. Cache: a replayed workload with repeated inputs');
note(
  `${fmt(CACHE_EXECUTIONS)} executions of the same ${STEPS}-step chain, each step with cache: { key: ['x'], ttlSeconds: 3600 }\n` +
    `(its x derives from the execution input); inputs drawn (seeded) from ${CACHE_DISTINCT} values: ${cache.distinct} occurred.\n` +
    `Run in ${CACHE_WAVES} waves of ${CACHE_EXECUTIONS / CACHE_WAVES}, each drained before the next starts, so earlier results are in the cache;\n` +
    `concurrency ${CONCURRENCY}. Embedded kv (MemoryKv; Upstash Redis on firebase).`,
);
line(
  'agent calls saved (1 − agent calls / steps run)',
  `${fmt(saved * 100, 1)} %`,
  `≥ ${CACHE_TARGET * 100} %`,
);
line('best possible here (1 − distinct inputs / executions)', `${fmt(ideal * 100, 1)} %`, NO_TARGET);
note(
  `${fmt(cacheCalls)} agent calls for ${fmt(cacheSteps)} steps; steps recorded as cache hits: ${fmt(cache.cacheHits)}.\n` +
    `Per wave (new input values / agent calls): ${cache.waves.map((w) => `${w.newValues}/${w.agentCalls}`).join(', ')}; ` +
    'a value repeated inside a wave can\nmiss when its copies run before the first result is stored. ' +
    `kv: ${fmt(cache.counts.kvGet)} get, ${fmt(cache.counts.kvSet)} set. ${describe(cache)}.\n` +
    "The key is workspace + agent kind + config + the key inputs' values (engine.ts cacheKeyOf), not the step id\n" +
    '(model.ts says it includes it): each step has its own config tag here so the steps do not share entries.',
);
report.row(
  'cache: agent calls saved',
  `${fmt(saved * 100, 1)} % (best ${fmt(ideal * 100, 1)} %)`,
  `≥ ${CACHE_TARGET * 100} %`,
  saved >= CACHE_TARGET,
);

report.data = {
  steps: STEPS,
  executions: EXECUTIONS,
  concurrency: CONCURRENCY,
  rounds: rounds.map((r) => ({ startMs: r.startMs, drainMs: r.drainMs, statuses: r.statuses, dead: r.dead })),
  c16: rounds16.map((r) => ({ drainMs: r.drainMs, statuses: r.statuses, dead: r.dead })),
  asDeclared: { executions: DECLARED_EXECUTIONS, drainMs: asDeclared.drainMs, limits: declaredLimits },
  overhead: {
    isolated: { p50: isoP50, p99: isoP99 },
    concurrent: { p50: median(c8Overhead), p99: percentile(c8Overhead, 99) },
    slowSteps: slow.length,
    slowInGc,
    isolatedCpu: { p50: median(isolated.cpuMs), p99: percentile(isolated.cpuMs, 99) },
  },
  latency: { p50: median(e2e), p99: percentile(e2e, 99) },
  cost: { executions: COST_EXECUTIONS, start: cost.start, steps: cost.steps, total: cost.total },
  long: {
    executions: LONG_EXECUTIONS,
    steps: LONG_STEPS,
    start: long.start,
    run: long.steps,
    total: long.total,
  },
  cache: {
    waves: cache.waves,
    distinct: cache.distinct,
    saved,
    ideal,
    cacheHits: cache.cacheHits,
    kv: cache.counts,
  },
};
report.save();

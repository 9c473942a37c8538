/**
 * Shared by the benchmark scripts (this file is not a benchmark itself):
 * where the built code is, small statistics, number formatting, and the
 * result file that scripts/bench.mjs reads back for its summary table.
 *
 * Benchmarks print figures and never assert: a missed target is a line in
 * the table, not a failure.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FUNCTIONS_DIR = join(ROOT, 'functions');
export const LIB = join(FUNCTIONS_DIR, 'lib');

/** Imports a built module, e.g. `lib('runtimes/embedded/queue.js')`. */
export function lib(path) {
  return import(pathToFileURL(join(LIB, path)).href);
}

/**
 * The embedded queues' limits as each task declares them (SERAPHIM_QUEUE_*), not the machine's
 * defaults: a benchmark that sets a task's rateLimits measures at exactly those.
 */
const DECLARED_QUEUE_LIMITS = { SERAPHIM_QUEUE_CONCURRENCY: 'declared', SERAPHIM_QUEUE_RATE: 'declared' };

/**
 * Runs `fn` with a fresh embedded runtime (a SQLite file in a temp dir, not
 * started) over `orchestrators`, then stops it and deletes the folder.
 * `fn` gets `{ runtime, ctx }`, where `ctx()` is a handler context.
 * `queueLimits`: `declared` (each queue at its task's rateLimits) or `machine`
 * (the runtime's defaults, as `npm start` runs; `env` may still set them).
 */
export async function withBenchRuntime(orchestrators, fn, { env = {}, queueLimits = 'declared' } = {}) {
  const [{ EmbeddedRuntime }, { createLogger }] = await Promise.all([
    lib('runtimes/embedded/runtime.js'),
    lib('platform/logger.js'),
  ]);
  const dataDir = mkdtempSync(join(tmpdir(), 'seraphim-bench-'));
  const runtime = new EmbeddedRuntime({
    orchestrators,
    dataDir,
    version: 'bench',
    env: queueLimits === 'declared' ? { ...DECLARED_QUEUE_LIMITS, ...env } : env,
    logger: createLogger({ level: 'ERROR' }),
  });
  // The queue's timers are unref'd (a server's socket keeps the process up): hold it up while waiting.
  const keepAlive = setInterval(() => {}, 1000);
  try {
    return await fn({ runtime, ctx: () => ({ ...runtime.ports, correlationId: 'bench' }) });
  } finally {
    clearInterval(keepAlive);
    await runtime.stop({ graceMs: 0 });
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * `withBenchRuntime` over every orchestrator, started and served over HTTP on a free port, as
 * `npm start` runs it (the runtime's own queue limits): `fn(runtime, url)`, where `url` is the
 * server's origin.
 */
export async function withServedRuntime(fn) {
  const [{ startHttpServer }, { orchestrators }] = await Promise.all([
    lib('runtimes/embedded/server.js'),
    lib('orchestrators/registry.js'),
  ]);
  return withBenchRuntime(
    orchestrators,
    async ({ runtime }) => {
      runtime.start();
      const http = await startHttpServer({
        api: runtime.api,
        ports: runtime.ports,
        rawHandlers: runtime.rawHandlers,
        staticDir: undefined,
        host: '127.0.0.1',
        port: 0,
      });
      try {
        return await fn(runtime, http.url);
      } finally {
        await http.close();
      }
    },
    { queueLimits: 'machine' },
  );
}

/**
 * An engine over the built-in agents plus `noop`, the agent of chainUseCase: it returns its input `x`
 * as `v`. `onRun(call)` sees each call first (to count steps, or note when a chain ends).
 */
export async function noopEngine(onRun = () => {}) {
  const [{ z }, { ExecutionEngine }, { builtinAgents, createAgentRegistry }, { defineAgent }] =
    await Promise.all([
      import('zod'),
      lib('orchestrators/executions/engine.js'),
      lib('orchestrators/executions/agents/registry.js'),
      lib('orchestrators/executions/agents/types.js'),
    ]);
  const noop = defineAgent({
    kind: 'noop',
    description: 'benchmark: returns its input',
    config: z.object({}),
    async run(call) {
      onRun(call);
      return { status: 'succeeded', output: { v: call.inputs.x ?? null } };
    },
  });
  return new ExecutionEngine(createAgentRegistry([...builtinAgents, noop]));
}

/**
 * The benchmarks' use case: an `agent` chain of `steps` steps, each reading the one before
 * (`s0` reads `input.x`); `step(i)` adds fields to step i (a config, a cache policy).
 */
export async function chainUseCase({ id, steps, agent = 'noop', step = () => ({}) }) {
  const { UseCaseBodySchema } = await lib('orchestrators/use-cases/model.js');
  return UseCaseBodySchema.parse({
    id,
    name: id,
    vertical: 'bench',
    workflow: {
      steps: Array.from({ length: steps }, (_, i) => ({
        id: `s${i}`,
        agent,
        inputs: { x: i === 0 ? 'input.x' : `o${i - 1}.v` },
        output: `o${i}`,
        ...step(i),
      })),
    },
  });
}

/**
 * Runs `fn` with `count` other processes each spinning one core flat out: a loaded machine, as a
 * neighbour's build or a second service would load it. They are killed when `fn` settles, and when
 * this process exits however it exits.
 */
export async function withCpuHogs(count, fn) {
  const hogs = Array.from({ length: count }, () =>
    spawn(process.execPath, ['-e', "process.stdout.write('up\\n'); for (;;) {}"], {
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  const killAll = () => {
    for (const hog of hogs) hog.kill('SIGKILL');
  };
  process.once('exit', killAll);
  try {
    // Spinning before fn starts: each says so as its loop begins.
    await Promise.all(hogs.map((hog) => new Promise((resolve) => hog.stdout.once('data', resolve))));
    return await fn();
  } finally {
    killAll();
    process.removeListener('exit', killAll);
  }
}

export function percentile(values, p) {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export const median = (values) => percentile(values, 50);

/** 12345.6 → "12,346"; small numbers keep a few significant digits. */
export function fmt(n, digits = 0) {
  if (!Number.isFinite(n)) return String(n);
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export const rate = (count, ms) => (count / ms) * 1000;

export function section(title) {
  console.log(`\n=== ${title} ${'='.repeat(Math.max(0, 74 - title.length))}`);
}

/** One printed line: figure, value, and the target it is judged against. */
export function line(figure, value, target = '') {
  const left = `  ${figure}`.padEnd(62);
  console.log(
    target ? `${left} ${value.padStart(18)}   [target: ${target}]` : `${left} ${value.padStart(18)}`,
  );
}

export function note(text) {
  for (const l of text.split('\n')) console.log(`  · ${l}`);
}

/**
 * Collects the rows for the summary table and writes them where the entry
 * script asked (BENCH_RESULT_FILE). `met` is true, false, or null when the
 * figure has no target or could not be measured.
 */
export class Report {
  constructor(benchmark) {
    this.benchmark = benchmark;
    this.rows = [];
    this.data = {};
  }

  row(figure, value, target = 'none (context)', met = null) {
    this.rows.push({ benchmark: this.benchmark, figure, value, target, met });
  }

  save() {
    const file = process.env.BENCH_RESULT_FILE;
    if (file)
      writeFileSync(file, JSON.stringify({ benchmark: this.benchmark, rows: this.rows, data: this.data }));
  }
}

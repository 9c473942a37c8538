/**
 * The engine beside a peer: DBOS Transact (durable workflows checkpointed to PostgreSQL) running the
 * same 5-step no-op chain at concurrency 8 on this machine, against a private PostgreSQL cluster this
 * script starts in a temp dir (never the system service) and removes.
 *
 * Durability compared. The embedded runtime is SQLite in WAL mode with synchronous=NORMAL: each step's
 * commit is in the WAL file before the step counts as done, so killing the process loses nothing;
 * the WAL is fsync'd at checkpoints, so power loss can lose the last commits (the file stays
 * consistent). PostgreSQL with synchronous_commit=off is the same promise: a commit returns before its
 * WAL is flushed (the WAL writer flushes within 3 × wal_writer_delay, 600 ms), so the application's
 * crash loses nothing and a crash of the machine (or of PostgreSQL) can lose the last moment's
 * commits, consistently. That is the comparison the target is judged on. synchronous_commit=on (the
 * default: fsync per commit, survives power loss) is a stronger promise, shown for context.
 *
 * Needs PostgreSQL (Debian's `postgresql`) and the `@dbos-inc/dbos-sdk` dev dependency: without
 * either this benchmark fails with the command that installs it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  chainUseCase,
  fmt,
  lib,
  line,
  median,
  noopEngine,
  note,
  Report,
  ROOT,
  section,
  withBenchRuntime,
} from './harness.mjs';
import { measured, missing, startCluster } from './postgres.mjs';

const STEPS = 5;
const CONCURRENCY = 8;
const ROUNDS = 3;
const ENGINE_EXECUTIONS = 400;
const DBOS_WORKFLOWS = 400;
const WARMUP = 200;
const TARGET_FACTOR = 3;
const WORKSPACE = 'bench';
const NO_TARGET = 'none (context)';

// The pg driver DBOS uses warns about its own pipelining on every launch: noise in a report.
process.noDeprecation = true;

// ------------------------------------------------------------------ DBOS Transact

async function loadDbos() {
  try {
    return (await import('@dbos-inc/dbos-sdk')).DBOS;
  } catch {
    return missing('@dbos-inc/dbos-sdk (a root dev dependency)', 'npm install (from the repository root)');
  }
}

function dbosVersion() {
  return JSON.parse(readFileSync(join(ROOT, 'node_modules', '@dbos-inc', 'dbos-sdk', 'package.json'), 'utf8'))
    .version;
}

/** The chain as a DBOS workflow: each step a checkpointed DBOS step that returns its input. */
function registerChain(DBOS) {
  return DBOS.registerWorkflow(
    async (x) => {
      let v = x;
      for (let i = 0; i < STEPS; i++) v = (await DBOS.runStep(async () => ({ v }), { name: `s${i}` })).v;
      return v;
    },
    { name: 'chain' },
  );
}

/**
 * `count` workflows by `CONCURRENCY` callers, each starting its next as its last returns: at most
 * `CONCURRENCY` workflows (so steps) in flight, as the engine's step queue allows. Calling the
 * workflow function runs it in this process, durably, and resolves with its result: DBOS at its
 * fastest (its queues poll the database).
 */
async function dbosRound(chain, count, cluster) {
  let next = 0;
  return measured(count * STEPS, cluster, () =>
    Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < count) {
          const i = next++;
          if ((await chain(i)) !== i) throw new Error(`workflow ${i} returned the wrong value`);
        }
      }),
    ),
  );
}

// ------------------------------------------------------------------ the engine

const { createExecutionsOrchestrator } = await lib('orchestrators/executions/index.js');
const { paths } = await lib('orchestrators/executions/store.js');
const { saveUseCase } = await lib('orchestrators/use-cases/store.js');

const agentCalls = { n: 0, target: Number.POSITIVE_INFINITY, reached: () => {} };
const engine = await noopEngine(() => {
  if (++agentCalls.n >= agentCalls.target) agentCalls.reached();
});
const useCaseBody = await chainUseCase({ id: 'noop', steps: STEPS });

/**
 * `count` executions started with the runtime stopped, then drained: until the last step ran and its
 * completion committed. The executions orchestrator exactly as index.ts declares it (step flow control
 * and pool included), cron schedules left out, and the runtime's own queue limits: `env` sets only
 * what it names (SERAPHIM_QUEUE_CONCURRENCY for concurrency 8).
 */
async function engineRound(env, count, cluster) {
  const orchestrator = { ...createExecutionsOrchestrator(engine), schedules: {} };
  return withBenchRuntime(
    [orchestrator],
    async ({ runtime, ctx }) => {
      const { useCase } = await saveUseCase(runtime.ports.documents, WORKSPACE, useCaseBody, Date.now());
      for (let i = 0; i < count; i++) await engine.start(ctx(), WORKSPACE, useCase, { x: i });
      const ran = new Promise((resolve) => {
        agentCalls.target = agentCalls.n + count * STEPS;
        agentCalls.reached = resolve;
      });
      const result = await measured(count * STEPS, cluster, async () => {
        runtime.start();
        await ran;
        await runtime.whenIdle();
      });
      const succeeded = await runtime.documents.count(paths.executions(WORKSPACE), [
        { field: 'status', op: '==', value: 'succeeded' },
      ]);
      if (succeeded !== count) throw new Error(`${succeeded} of ${count} executions succeeded`);
      return result;
    },
    { env, queueLimits: 'machine' },
  );
}

// ------------------------------------------------------------------ run

section(`DBOS Transact beside the engine: ${STEPS}-step no-op chain, concurrency ${CONCURRENCY}`);
const report = new Report('dbos');
const DBOS = await loadDbos();
const cluster = await startCluster();
const chain = registerChain(DBOS);
const engineC8 = { SERAPHIM_QUEUE_CONCURRENCY: String(CONCURRENCY) };
/** Each a list of rounds: { stepsPerSecond, cpuPerStep, pgCpuPerStep }. */
const runs = { engine: [], engineDefault: [], off: [], on: [] };
let rows;
try {
  DBOS.setConfig({ name: 'seraphim-bench', systemDatabaseUrl: cluster.url, logLevel: 'error' });
  await DBOS.launch();
  // Warm-up (JIT, connection pools, SQLite and PostgreSQL caches), discarded.
  cluster.setSynchronousCommit('off');
  await dbosRound(chain, WARMUP, cluster);
  await engineRound(engineC8, WARMUP, cluster);
  // Interleaved, so a noisy neighbour on a shared machine colours every figure alike.
  for (let r = 0; r < ROUNDS; r++) {
    runs.engine.push(await engineRound(engineC8, ENGINE_EXECUTIONS, cluster));
    runs.engineDefault.push(await engineRound({}, ENGINE_EXECUTIONS, cluster));
    for (const mode of ['off', 'on']) {
      cluster.setSynchronousCommit(mode);
      runs[mode].push(await dbosRound(chain, DBOS_WORKFLOWS, cluster));
    }
  }
  rows = cluster.sql(
    "SELECT (SELECT count(*) FROM dbos.workflow_status) || ' ' || (SELECT count(*) FROM dbos.operation_outputs)",
    'seraphim_dbos_bench',
  );
} finally {
  await DBOS.shutdown();
  cluster.stop();
}

const rates = (key) => runs[key].map((r) => r.stepsPerSecond);
const cpu = (key) => median(runs[key].map((r) => r.cpuPerStep));
const spread = (key) => `${fmt(Math.min(...rates(key)))}–${fmt(Math.max(...rates(key)))}`;
const each = (key) =>
  rates(key)
    .map((x) => fmt(x))
    .join(', ');
const engineSteps = median(rates('engine'));
const dbosOff = median(rates('off'));
const dbosOn = median(rates('on'));
const target = `≥ ${TARGET_FACTOR}× DBOS (synchronous_commit=off)`;
const FIGURES = [
  [
    'engine',
    `engine, embedded defaults, SERAPHIM_QUEUE_CONCURRENCY=${CONCURRENCY}`,
    ENGINE_EXECUTIONS,
    'executions',
  ],
  ['engineDefault', 'engine, embedded defaults (as npm start)', ENGINE_EXECUTIONS, 'executions'],
  ['off', 'DBOS, synchronous_commit=off (equal durability)', DBOS_WORKFLOWS, 'workflows'],
  ['on', 'DBOS, synchronous_commit=on (fsync per commit)', DBOS_WORKFLOWS, 'workflows'],
];
for (const [key, label, count, what] of FIGURES) {
  line(label, `${fmt(median(rates(key)))} steps/s`, key === 'engine' ? target : '');
  note(
    `median of ${ROUNDS} rounds of ${fmt(count)} ${what} (steps/s: ${each(key)}); CPU ${fmt(cpu(key), 3)} ms a step` +
      (key === 'engine' || key === 'engineDefault'
        ? ''
        : ` (PostgreSQL ${fmt(median(runs[key].map((r) => r.pgCpuPerStep)), 3)})`),
  );
}
line(
  'engine ÷ DBOS in steps/s: equal durability (off) / DBOS stronger (on)',
  `${fmt(engineSteps / dbosOff, 2)}× / ${fmt(engineSteps / dbosOn, 2)}×`,
);
line(
  'DBOS ÷ engine in CPU time a step (off / on)',
  `${fmt(cpu('off') / cpu('engine'), 2)}× / ${fmt(cpu('on') / cpu('engine'), 2)}×`,
);
const [workflows, checkpoints] = rows.split(' ').map(Number);
note(
  `DBOS Transact ${dbosVersion()} on PostgreSQL ${cluster.version} (a private cluster, default settings but synchronous_commit), in this\n` +
    `process: ${CONCURRENCY} callers each running its next workflow as the last returns. It wrote ${fmt(workflows)} workflow rows and\n` +
    `${fmt(checkpoints)} step checkpoints (${fmt(checkpoints / workflows, 2)} a workflow). The engine: the executions orchestrator as index.ts declares it\n` +
    '(pool, fairness, event-sourced checkpoints), SQLite WAL synchronous=NORMAL, the embedded queue defaults but for\n' +
    'concurrency; a backlog drained. Equal durability: both survive the application being killed, and both may lose the\n' +
    'last moment of commits (consistently) when the machine fails. CPU a step counts every process (this one and\n' +
    "PostgreSQL's): it holds on a busy machine, where steps/s does not, and DBOS's nine processes get more of a shared\n" +
    "machine's cores than the engine's one. Rounds interleave.",
);
report.row(
  `engine c=${CONCURRENCY} (embedded defaults): steps/s, median (spread)`,
  `${fmt(engineSteps)} (${spread('engine')})`,
  target,
  engineSteps >= TARGET_FACTOR * dbosOff,
);
report.row(
  'engine, embedded defaults as npm start: steps/s',
  `${fmt(median(rates('engineDefault')))} (${spread('engineDefault')})`,
  NO_TARGET,
);
report.row(
  `DBOS c=${CONCURRENCY}, synchronous_commit=off: steps/s`,
  `${fmt(dbosOff)} (${spread('off')})`,
  NO_TARGET,
);
report.row(
  `DBOS c=${CONCURRENCY}, synchronous_commit=on: steps/s`,
  `${fmt(dbosOn)} (${spread('on')})`,
  NO_TARGET,
);
report.row(
  'CPU ms a step: engine c=8 / DBOS off / DBOS on',
  `${fmt(cpu('engine'), 3)} / ${fmt(cpu('off'), 3)} / ${fmt(cpu('on'), 3)}`,
  NO_TARGET,
);
report.data = {
  steps: STEPS,
  concurrency: CONCURRENCY,
  runs,
  postgres: cluster.version,
  ratio: engineSteps / dbosOff,
};
report.save();

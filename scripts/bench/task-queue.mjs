/**
 * Benchmark 1: the embedded task queue (durable SQLite file, WAL) against
 * BullMQ on a local, non-persistent redis-server, doing the same no-op jobs.
 *
 * Run without arguments this file coordinates: it starts redis-server, then
 * forks itself once per measurement (`node task-queue.mjs <part> …`) so each
 * system is timed in a fresh process, rounds interleaved, medians reported.
 */
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, lib, line, median, note, percentile, Report, rate, section } from './harness.mjs';

const TASKS = 20_000;
const ROUNDS = 3;
const LATENCY_SAMPLES = 2_000;
const LATENCY_WARMUP = 200;
/** Drain cost is also reported per window of this many tasks, to show its spread. */
const WINDOW = 1_000;
const TARGET_RATIO = 2;

// ------------------------------------------------------------------ parts (each in its own process)

async function embeddedQueue(concurrency, onTask) {
  const { EmbeddedTaskQueue } = await lib('runtimes/embedded/queue.js');
  const { openDatabase } = await lib('runtimes/embedded/sqlite.js');
  const { systemClock } = await lib('platform/clock.js');
  const { createUlids } = await lib('platform/ids.js');
  const { createLogger } = await lib('platform/logger.js');
  const { rateLimits, retryPolicy } = await lib('platform/delivery.js');
  const dir = mkdtempSync(join(tmpdir(), 'seraphim-bench-queue-'));
  const db = openDatabase({ file: join(dir, 'seraphim.db') });
  const queue = new EmbeddedTaskQueue(db, {
    clock: systemClock,
    ids: createUlids(),
    logger: createLogger({ level: 'ERROR' }),
  });
  queue.register(
    {
      name: 'bench-noop',
      retry: retryPolicy(undefined),
      rateLimits: rateLimits({ maxConcurrentDispatches: concurrency, maxDispatchesPerSecond: 1e9 }),
      timeoutMs: 60_000,
    },
    onTask,
  );
  const pragma = (name) => Object.values(db.prepare(`PRAGMA ${name}`).get())[0];
  const durability = `journal_mode=${pragma('journal_mode')}, synchronous=${['OFF', 'NORMAL', 'FULL', 'EXTRA'][pragma('synchronous')]}`;
  const close = async () => {
    await queue.stop({ graceMs: 1000 });
    db.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { queue, db, durability, close };
}

/** Per-task cost (µs) over consecutive windows of handler start times. */
function windowCosts(starts) {
  const costs = [];
  for (let i = WINDOW; i < starts.length; i += WINDOW)
    costs.push(((starts[i] - starts[i - WINDOW]) / WINDOW) * 1000);
  return costs;
}

const parts = {
  async 'embedded-drain'(concurrency) {
    const starts = new Float64Array(TASKS);
    let n = 0;
    let allHandled;
    const handled = new Promise((resolve) => {
      allHandled = resolve;
    });
    const { queue, db, durability, close } = await embeddedQueue(Number(concurrency), async () => {
      starts[n++] = performance.now();
      if (n === TASKS) allHandled();
    });
    let t = performance.now();
    for (let i = 0; i < TASKS; i++) await queue.enqueue('bench-noop', { i });
    const enqueueMs = performance.now() - t;
    t = performance.now();
    queue.start();
    // Wait for the last handler, then for its completion to commit. Waiting on whenIdle() from the
    // start would time the idle probe (a count over the backlog after every group commit) instead.
    await handled;
    await queue.whenIdle();
    const drainMs = performance.now() - t;
    const done = db.prepare(`SELECT count(*) AS n FROM tasks WHERE state = 'done'`).get().n;
    await close();
    return { enqueueMs, drainMs, handled: n, done, durability, windows: windowCosts(starts) };
  },

  async 'embedded-bulk-enqueue'() {
    const { queue, db, close } = await embeddedQueue(1, async () => {});
    const { inTransaction } = await lib('runtimes/embedded/sqlite.js');
    const t = performance.now();
    inTransaction(db, () => {
      for (let i = 0; i < TASKS; i++) queue.enqueueNow('bench-noop', { i });
    });
    const ms = performance.now() - t;
    await close();
    return { ms };
  },

  async 'embedded-latency'() {
    let started = 0;
    const { queue, close } = await embeddedQueue(1, async () => {
      started = performance.now();
    });
    queue.start();
    const toStart = [];
    const toSettled = [];
    for (let i = 0; i < LATENCY_WARMUP + LATENCY_SAMPLES; i++) {
      const t0 = performance.now();
      await queue.enqueue('bench-noop', { i });
      await queue.whenIdle();
      const t2 = performance.now();
      if (i < LATENCY_WARMUP) continue;
      toStart.push((started - t0) * 1000);
      toSettled.push((t2 - t0) * 1000);
    }
    await close();
    return { toStart, toSettled };
  },

  async 'sqlite-baseline'() {
    const { openDatabase } = await lib('runtimes/embedded/sqlite.js');
    const dir = mkdtempSync(join(tmpdir(), 'seraphim-bench-sqlite-'));
    const db = openDatabase({ file: join(dir, 'seraphim.db') });
    const now = Date.now();
    const insert = db.prepare(
      `INSERT INTO tasks (queue, id, payload, state, attempts, max_attempts, run_at, created_at, updated_at)
       VALUES ('bare', ?, ?, 'pending', 0, 5, ?, ?, ?)`,
    );
    db.exec('BEGIN IMMEDIATE');
    for (let i = 0; i < TASKS; i++) insert.run(`t${i}`, JSON.stringify({ i }), now, now, now);
    db.exec('COMMIT');
    const claim = db.prepare(
      `UPDATE tasks SET state = 'leased', lease_until = ?, lease_owner = 'bare', attempts = attempts + 1, updated_at = ?
       WHERE seq = (SELECT seq FROM tasks WHERE queue = 'bare' AND state = 'pending' AND run_at <= ? ORDER BY run_at, seq LIMIT 1)
       RETURNING seq, payload, attempts`,
    );
    const complete = db.prepare(
      `UPDATE tasks SET state = 'done', lease_until = NULL, lease_owner = NULL, updated_at = ?
       WHERE seq = ? AND state = 'leased' AND lease_owner = 'bare' AND attempts = ?`,
    );
    let n = 0;
    const t = performance.now();
    for (;;) {
      db.exec('BEGIN IMMEDIATE');
      const at = Date.now();
      const row = claim.get(at + 60_000, at, at);
      if (!row) {
        db.exec('COMMIT');
        break;
      }
      JSON.parse(row.payload);
      complete.run(at, row.seq, row.attempts);
      db.exec('COMMIT');
      n++;
    }
    const ms = performance.now() - t;
    db.close();
    rmSync(dir, { recursive: true, force: true });
    return { ms, n };
  },

  async 'bullmq-drain'(concurrency, port) {
    const { Queue, Worker } = await import('bullmq');
    const connection = { host: '127.0.0.1', port: Number(port), maxRetriesPerRequest: null };
    const name = `bench-noop-${concurrency}`;
    const queue = new Queue(name, { connection });
    await queue.waitUntilReady();
    let t = performance.now();
    await queue.addBulk(Array.from({ length: TASKS }, (_, i) => ({ name: 'noop', data: { i } })));
    const enqueueMs = performance.now() - t;
    const starts = new Float64Array(TASKS);
    let n = 0;
    let completed = 0;
    t = performance.now();
    let worker;
    await new Promise((resolve, reject) => {
      worker = new Worker(
        name,
        async () => {
          starts[n++] = performance.now();
        },
        { connection, concurrency: Number(concurrency) },
      );
      worker.on('error', reject);
      worker.on('completed', () => {
        if (++completed === TASKS) resolve();
      });
    });
    const drainMs = performance.now() - t;
    const counts = await queue.getJobCounts('completed', 'failed', 'waiting', 'active');
    await worker.close();
    await queue.obliterate({ force: true });
    await queue.close();
    return { enqueueMs, drainMs, handled: n, counts, windows: windowCosts(starts) };
  },

  async 'bullmq-latency'(port) {
    const { Queue, Worker } = await import('bullmq');
    const connection = { host: '127.0.0.1', port: Number(port), maxRetriesPerRequest: null };
    const name = 'bench-latency';
    const queue = new Queue(name, { connection });
    let started = 0;
    let onCompleted = () => {};
    const worker = new Worker(
      name,
      async () => {
        started = performance.now();
      },
      { connection, concurrency: 1 },
    );
    worker.on('completed', () => onCompleted());
    await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);
    const toStart = [];
    const toSettled = [];
    for (let i = 0; i < LATENCY_WARMUP + LATENCY_SAMPLES; i++) {
      const completed = new Promise((resolve) => {
        onCompleted = resolve;
      });
      const t0 = performance.now();
      await queue.add('noop', { i });
      await completed;
      const t2 = performance.now();
      if (i < LATENCY_WARMUP) continue;
      toStart.push((started - t0) * 1000);
      toSettled.push((t2 - t0) * 1000);
    }
    await worker.close();
    await queue.obliterate({ force: true });
    await queue.close();
    return { toStart, toSettled };
  },
};

// ------------------------------------------------------------------ coordinator helpers

const SELF = fileURLToPath(import.meta.url);

/** The part running now, so a stopped coordinator can stop it too. */
let current;

function runPart(part, ...args) {
  return new Promise((resolve, reject) => {
    const child = fork(SELF, [part, ...args.map(String)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result;
    child.on('message', (m) => {
      result = m;
    });
    current = child;
    child.on('error', reject);
    child.on('exit', (code) => {
      current = undefined;
      if (code === 0 && result) resolve(result);
      else reject(new Error(`${part} ${args.join(' ')} exited with ${code}`));
    });
  });
}

/** Why BullMQ cannot run here, or null when it can. */
function bullmqUnavailable() {
  let bullmqUrl;
  try {
    bullmqUrl = import.meta.resolve('bullmq');
  } catch {
    return 'bullmq is not installed';
  }
  try {
    // bullmq 6 loads its Redis client lazily with require('ioredis'), an optional peer dependency.
    createRequire(bullmqUrl).resolve('ioredis');
  } catch {
    return "bullmq's optional peer 'ioredis' is not installed (add it to functions devDependencies)";
  }
  return null;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Sends raw commands, then QUIT; returns the reply text. Enough for PING, FLUSHALL and CONFIG GET. */
function redisCommands(port, commands) {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      reply += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(reply));
    const encode = (args) =>
      `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
    socket.write([...commands, ['QUIT']].map(encode).join(''));
  });
}

/** The bulk strings of a RESP reply, in order (CONFIG GET answers name, value pairs). */
function bulkStrings(reply) {
  const lines = reply.split('\r\n');
  const out = [];
  for (let i = 0; i < lines.length; i++) if (/^\$\d/.test(lines[i])) out.push(lines[++i]);
  return out;
}

async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'seraphim-bench-redis-'));
  const proc = spawn(
    'redis-server',
    ['--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir],
    {
      stdio: 'ignore',
    },
  );
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  proc.on('error', () => {});
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) break;
    const reply = await redisCommands(port, [['PING']]).catch(() => '');
    if (reply.startsWith('+PONG')) {
      const config = await redisCommands(port, [
        ['CONFIG', 'GET', 'save'],
        ['CONFIG', 'GET', 'appendonly'],
      ]);
      const [, save, , appendonly] = bulkStrings(config);
      const persistence = `save='${save}', appendonly=${appendonly}`;
      return { port, pid: proc.pid, persistence, stop };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error('redis-server did not start');
}

// ------------------------------------------------------------------ coordinator

async function main() {
  const report = new Report('task queue');
  section('1. Embedded task queue vs BullMQ (no-op tasks)');
  note(
    `${fmt(TASKS)} tasks enqueued first, then drained; ${ROUNDS} rounds, each system and concurrency in a fresh process,\n` +
      'rounds interleaved; figures are medians over rounds. Embedded: a real SQLite file in a temp dir.',
  );

  let why = bullmqUnavailable();
  let redis;
  if (!why) {
    try {
      redis = await startRedis();
    } catch (error) {
      why = `redis-server could not be started: ${error.message}`;
    }
  }
  if (why) note(`BullMQ peer NOT RUN: ${why}`);
  else note(`BullMQ peer: redis-server ${redis.pid} on 127.0.0.1:${redis.port}, stopped at the end.`);
  const stopRedis = () => redis?.stop();
  const onSignal = (code) => () => {
    current?.kill('SIGTERM');
    stopRedis().then(() => process.exit(code));
  };
  process.on('SIGINT', onSignal(130));
  process.on('SIGTERM', onSignal(143));

  try {
    const embedded = { 1: [], 8: [] };
    const bull = { 1: [], 8: [] };
    for (let round = 1; round <= ROUNDS; round++) {
      for (const c of [1, 8]) {
        embedded[c].push(await runPart('embedded-drain', c));
        if (redis) {
          await redisCommands(redis.port, [['FLUSHALL']]);
          bull[c].push(await runPart('bullmq-drain', c, redis.port));
        }
      }
      process.stdout.write(`  … round ${round}/${ROUNDS} done\n`);
    }
    const bulk = await runPart('embedded-bulk-enqueue');
    const baseline = await runPart('sqlite-baseline');
    const latency = await runPart('embedded-latency');
    let bullLatency;
    if (redis) {
      await redisCommands(redis.port, [['FLUSHALL']]);
      bullLatency = await runPart('bullmq-latency', redis.port);
    }

    const drainRate = (runs) => median(runs.map((r) => rate(TASKS, r.drainMs)));
    const enqueueRate = (runs) => median(runs.map((r) => rate(TASKS, r.enqueueMs)));
    const perRound = (runs) => runs.map((r) => fmt(rate(TASKS, r.drainMs))).join(', ');

    console.log('\n  Durability');
    line('embedded SQLite file', embedded[1][0].durability);
    line('BullMQ redis-server', redis ? redis.persistence : 'not run');
    note(
      'synchronous=NORMAL in WAL: every commit is in the WAL before the call returns, so a killed process\n' +
        `loses nothing (fsync happens at checkpoints).${redis ? ' The redis-server keeps everything in memory only.' : ''}`,
    );

    console.log('\n  Enqueue');
    const embEnq = enqueueRate([...embedded[1], ...embedded[8]]);
    line('embedded enqueue(): one durable commit per call', `${fmt(embEnq)} tasks/s`);
    line('embedded enqueueNow() × N in one transaction', `${fmt(rate(TASKS, bulk.ms))} tasks/s`);
    const bullEnq = redis ? enqueueRate([...bull[1], ...bull[8]]) : Number.NaN;
    line(`BullMQ Queue.addBulk(${fmt(TASKS)} jobs), one call`, redis ? `${fmt(bullEnq)} jobs/s` : 'not run');
    report.row('embedded enqueue (1 commit/task)', `${fmt(embEnq)}/s`);
    report.row('embedded enqueue (1 transaction)', `${fmt(rate(TASKS, bulk.ms))}/s`);
    report.row('BullMQ addBulk', redis ? `${fmt(bullEnq)}/s` : 'not run (see section 1)');

    for (const c of [1, 8]) {
      console.log(`\n  Drain throughput, concurrency ${c}`);
      const e = drainRate(embedded[c]);
      line(`embedded (maxConcurrentDispatches ${c})`, `${fmt(e)} tasks/s`);
      note(
        `rounds: ${perRound(embedded[c])}; handled ${embedded[c][0].handled}, done rows ${embedded[c][0].done}`,
      );
      const target = c === 8 ? `≥ ${TARGET_RATIO}× BullMQ` : 'none (context)';
      if (redis) {
        const b = drainRate(bull[c]);
        line(`BullMQ Worker (concurrency ${c})`, `${fmt(b)} jobs/s`);
        const counts = bull[c][0].counts;
        note(`rounds: ${perRound(bull[c])}; completed ${counts.completed}, failed ${counts.failed}`);
        line('ratio embedded / BullMQ', `${fmt(e / b, 2)}×`, target);
        report.row(
          `throughput c=${c}: embedded / BullMQ`,
          `${fmt(e)} / ${fmt(b)} = ${fmt(e / b, 2)}×`,
          target,
          c === 8 ? e / b >= TARGET_RATIO : null,
        );
      } else {
        line('BullMQ', 'not run', target);
        report.row(`throughput c=${c}: embedded / BullMQ`, `${fmt(e)}/s / BullMQ not run`, target, null);
      }
      const ew = embedded[c].flatMap((r) => r.windows);
      line(
        `embedded per-task cost over ${fmt(WINDOW)}-task windows p50 / p99`,
        `${fmt(median(ew), 1)} / ${fmt(percentile(ew, 99), 1)} µs`,
      );
      if (redis) {
        const bw = bull[c].flatMap((r) => r.windows);
        line(
          `BullMQ per-job cost over ${fmt(WINDOW)}-job windows p50 / p99`,
          `${fmt(median(bw), 1)} / ${fmt(percentile(bw, 99), 1)} µs`,
        );
      }
    }
    note(
      `Per-task cost = time between the handler starts of task k and task k+${fmt(WINDOW)}, divided by ${fmt(WINDOW)}:\n` +
        'the inverse of throughput, measured window by window across the drain, so its spread shows stalls.\n' +
        'A drain is timed from start() (embedded) or new Worker() (BullMQ) until the last completion is recorded:\n' +
        "embedded: the last handler ran and whenIdle() saw its 'done' commit; BullMQ: the last 'completed' event.",
    );

    console.log('\n  Per-task latency on an idle queue (concurrency 1, one task at a time)');
    const lat = (xs) => `${fmt(median(xs), 0)} / ${fmt(percentile(xs, 99), 0)} µs`;
    line('embedded enqueue() → handler start, p50 / p99', lat(latency.toStart));
    line('embedded enqueue() → completion committed, p50 / p99', lat(latency.toSettled));
    report.row('embedded latency enqueue→start p50/p99', lat(latency.toStart));
    report.row('embedded latency enqueue→committed p50/p99', lat(latency.toSettled));
    if (bullLatency) {
      line('BullMQ add() → processor start, p50 / p99', lat(bullLatency.toStart));
      line("BullMQ add() → worker 'completed' event, p50 / p99", lat(bullLatency.toSettled));
      report.row('BullMQ latency add→start p50/p99', lat(bullLatency.toStart));
    }
    note(
      `${fmt(LATENCY_SAMPLES)} samples after ${LATENCY_WARMUP} warm-up. Each includes the durable insert, the wake-up, the claim\n` +
        "and, for 'completed', the group commit that marks the task done (observed through whenIdle()).",
    );

    console.log('\n  Context: bare SQLite claim-and-complete loop');
    const bare = rate(baseline.n, baseline.ms);
    line('node:sqlite, 1 row claimed + completed per transaction', `${fmt(bare)} tasks/s`);
    line('embedded queue at concurrency 8 / bare loop', `${fmt(drainRate(embedded[8]) / bare, 2)}×`);
    note(
      'Same file, schema and pragmas as the queue; a synchronous loop: no handler, no promises, no event-loop\n' +
        'turns. The queue claims up to 64 rows per UPDATE and settles many per commit, but pays for async dispatch.',
    );
    report.row('bare SQLite claim+complete', `${fmt(bare)}/s`);
    report.data = { tasks: TASKS, rounds: ROUNDS, embedded, bull, bulk, baseline, bullmqSkipped: why };
    // The raw latency samples are large; keep their summary only.
    report.data.latency = {
      embedded: { toStartP50: median(latency.toStart), toSettledP50: median(latency.toSettled) },
      bullmq: bullLatency && {
        toStartP50: median(bullLatency.toStart),
        toSettledP50: median(bullLatency.toSettled),
      },
    };
    for (const runs of [embedded[1], embedded[8], bull[1], bull[8]]) for (const r of runs) delete r.windows;
  } finally {
    await stopRedis();
  }
  report.save();
}

const [part, ...args] = process.argv.slice(2);
if (part) {
  const run = parts[part];
  if (!run) throw new Error(`Unknown part ${part}`);
  const result = await run(...args);
  process.send(result, () => process.exit(0));
} else {
  await main();
}

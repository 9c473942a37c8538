/**
 * `npm run bench`: runs each benchmark in scripts/bench/ as its own node
 * process (so one's heap and JIT state do not colour another's), lets each
 * print its section, then prints one summary table and writes
 * bench-results/latest.json.
 *
 * Benchmarks print figures next to their targets; a missed target is a "NO"
 * in the table, not a failure. The exit code is non-zero only when a
 * benchmark itself crashed.
 *
 *   node scripts/bench.mjs                 every benchmark
 *   node scripts/bench.mjs cold-start ...  only those named
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BENCHMARKS = [
  'task-queue',
  'documents',
  'cold-start',
  'executions',
  'expressions',
  'list',
  'pool',
  'upstash',
  'backlog',
  'dbos',
  'templates',
];
/** A benchmark still running after this is stopped; the backlog starts 40,000 executions first. */
const TIMEOUT_MS = { default: 150_000, backlog: 420_000 };

function gitCommit() {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: ROOT, encoding: 'utf8' }).trim();
    return dirty ? `${sha} + uncommitted changes` : sha;
  } catch {
    return 'unknown';
  }
}

function runBenchmark(name, resultFile) {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(
      process.execPath,
      ['--disable-warning=ExperimentalWarning', join(ROOT, 'scripts', 'bench', `${name}.mjs`)],
      { cwd: ROOT, stdio: 'inherit', env: { ...process.env, BENCH_RESULT_FILE: resultFile } },
    );
    const timer = setTimeout(() => child.kill('SIGTERM'), TIMEOUT_MS[name] ?? TIMEOUT_MS.default);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const ms = performance.now() - started;
      let result;
      if (existsSync(resultFile)) result = JSON.parse(readFileSync(resultFile, 'utf8'));
      resolve({ name, exitCode: code, signal, ms, ...result });
    });
  });
}

function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const format = (cells) => cells.map((c, i) => c.padEnd(widths[i])).join(' | ');
  return [format(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(format)].join('\n');
}

const metLabel = (row) => {
  if (row.met === true) return 'yes';
  if (row.met === false) return 'NO';
  return row.target.startsWith('none') ? '—' : 'n/a';
};

async function main() {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((n) => !BENCHMARKS.includes(n));
  if (unknown.length > 0) {
    console.error(`Unknown benchmark(s): ${unknown.join(', ')}. Known: ${BENCHMARKS.join(', ')}`);
    process.exit(2);
  }
  if (!existsSync(join(ROOT, 'functions', 'lib', 'runtimes', 'embedded', 'queue.js'))) {
    console.error('functions/lib is not built: run `npm run build -w functions` (npm run bench does).');
    process.exit(2);
  }
  const names = wanted.length > 0 ? wanted : BENCHMARKS;
  const startedAt = new Date();
  const commit = gitCommit();
  const cpu = cpus();
  console.log(`Seraphim benchmarks — ${startedAt.toISOString()}`);
  console.log(
    `node ${process.version} on ${process.platform}/${process.arch}, ${cpu.length} × ${cpu[0]?.model ?? 'cpu'}; commit ${commit}`,
  );
  console.log('Figures only: a missed target is reported, never asserted.');

  const scratch = mkdtempSync(join(tmpdir(), 'seraphim-bench-results-'));
  const results = [];
  try {
    for (const name of names) results.push(await runBenchmark(name, join(scratch, `${name}.json`)));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  const rows = [];
  for (const r of results) {
    if (r.exitCode !== 0) {
      const how = r.signal ? `stopped by ${r.signal}` : `exited with ${r.exitCode}`;
      rows.push([r.name, `benchmark failed (${how})`, '', 'NO']);
    }
    for (const row of r.rows ?? [])
      rows.push([row.benchmark, `${row.figure}: ${row.value}`, row.target, metLabel(row)]);
  }
  const totalMs = results.reduce((n, r) => n + r.ms, 0);
  console.log(`\n=== Summary ${'='.repeat(66)}`);
  console.log(table(['benchmark', 'figure', 'target', 'met?'], rows));
  const scored = results.flatMap((r) => r.rows ?? []).filter((row) => row.met !== null);
  console.log(
    `\n${scored.filter((row) => row.met).length} of ${scored.length} targets met; ` +
      `${results.map((r) => `${r.name} ${(r.ms / 1000).toFixed(1)} s`).join(', ')}; total ${(totalMs / 1000).toFixed(1)} s`,
  );

  const out = join(ROOT, 'bench-results', 'latest.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify(
      {
        startedAt: startedAt.toISOString(),
        commit,
        node: process.version,
        platform: `${process.platform}/${process.arch}`,
        cpus: cpu.length,
        cpuModel: cpu[0]?.model,
        totalMs,
        benchmarks: results,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`Written to ${out.slice(ROOT.length + 1)}`);
  if (results.some((r) => r.exitCode !== 0)) process.exitCode = 1;
}

await main();

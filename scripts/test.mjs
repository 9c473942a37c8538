// `npm test`: the whole suite, in the order a failure is cheapest to find.
// Each step's Vitest results are summed into one closing line.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const results = mkdtempSync(join(tmpdir(), 'seraphim-test-'));
const totals = { passed: 0, failed: 0, skipped: 0 };
const failures = [];

function run(name, command, args, opts = {}) {
  process.stdout.write(`\n=== ${name}\n`);
  const started = Date.now();
  const result = spawnSync(command, args, {
    cwd: opts.cwd ?? root,
    stdio: 'inherit',
    env: { ...process.env, ...opts.env },
  });
  const ok = result.status === 0;
  process.stdout.write(
    `=== ${name}: ${ok ? 'ok' : `FAILED (exit ${result.status ?? result.signal})`} in ${((Date.now() - started) / 1000).toFixed(1)}s\n`,
  );
  if (!ok) failures.push(name);
  return ok;
}

/** Runs Vitest (or a script that passes reporter options on to it) and adds its counts to the totals. */
function vitest(name, cwd, args, opts = {}) {
  const out = join(results, `${name.replace(/\W+/g, '-')}.json`);
  const [command, ...prefix] = opts.command ?? ['npx', 'vitest', 'run'];
  run(
    name,
    command,
    [...prefix, ...args, '--reporter=default', '--reporter=json', `--outputFile.json=${out}`],
    {
      cwd,
    },
  );
  if (!existsSync(out)) {
    failures.push(`${name} (no results written)`);
    return;
  }
  const report = JSON.parse(readFileSync(out, 'utf8'));
  totals.passed += report.numPassedTests;
  totals.failed += report.numFailedTests;
  totals.skipped += report.numPendingTests + report.numTodoTests;
}

const ci = process.env.CI === 'true';
for (const [binary, pkg] of [
  ['/usr/bin/chromium', 'chromium'],
  ['redis-server', 'redis-server'],
]) {
  const found = binary.startsWith('/')
    ? existsSync(binary)
    : spawnSync('sh', ['-c', `command -v ${binary}`]).status === 0;
  if (!found)
    process.stderr.write(
      `${ci ? 'ERROR' : 'WARNING'}: ${binary} is missing; the tests that need it will fail. Install it: apt-get install -y ${pkg}\n`,
    );
}

run('build (functions, hosting)', process.execPath, ['scripts/build-if-stale.mjs']);
run('lint and format (biome)', 'npx', ['biome', 'check', '.']);
run('typecheck (functions)', 'npm', ['run', 'typecheck', '-w', 'functions', '--silent']);
run('svelte-check (hosting)', 'npm', ['run', 'check', '-w', 'hosting', '--silent']);
vitest(
  'functions: unit, integration, port contracts (embedded, Upstash on real redis-server)',
  join(root, 'functions'),
  ['--config', 'vitest.config.ts'],
);
vitest(
  'functions: Cloud Functions under the firebase-tools emulators (functions, tasks, auth, hosting)',
  root,
  [],
  {
    command: [process.execPath, 'scripts/test-functions-emulator.mjs'],
  },
);
vitest('hosting: Mission Control in headless Chromium', join(root, 'hosting'), [
  '--config',
  'vitest.config.ts',
]);

for (const [variable, suite] of [
  ['FIRESTORE_EMULATOR_HOST', 'Firestore adapter contract suite'],
  ['FIRESTORE_EMULATOR_HOST', 'firestore.rules tests (@firebase/rules-unit-testing)'],
  ['PUBSUB_EMULATOR_HOST', 'Pub/Sub adapter contract suite'],
  ['FIREBASE_STORAGE_EMULATOR_HOST', 'Cloud Storage (blobs) adapter contract suite'],
]) {
  if (!process.env[variable]) {
    process.stdout.write(
      `NOT RUN: ${suite} (needs ${variable}: run \`npm run test:emulators\` where Google's emulators can be downloaded). Not counted as passed.\n`,
    );
  }
}
if (totals.skipped > 0) failures.push(`${totals.skipped} skipped test(s): CI runs every test`);
if (failures.length > 0)
  process.stdout.write(`\nFailed steps:\n${failures.map((f) => `  - ${f}`).join('\n')}\n`);
process.stdout.write(`\nTotal: ${totals.passed} passed, ${totals.failed} failed\n`);
process.exit(failures.length === 0 && totals.failed === 0 ? 0 : 1);

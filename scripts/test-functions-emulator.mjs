#!/usr/bin/env node
/**
 * End-to-end test of the Cloud Functions surface on the Firebase emulators
 * that are plain JavaScript (functions, Cloud Tasks, Auth), so it runs on any
 * machine with the dependencies installed: no Java, no download from Google.
 *
 *   npm run build -w functions && node scripts/test-functions-emulator.mjs
 *
 * It builds nothing: it loads the compiled `functions/lib`. It starts
 * `firebase emulators:exec --only functions,tasks,auth,hosting` on the `demo-seraphim`
 * project (a demo project never reaches a real one), which runs this same
 * script again with `--inside` to run the Vitest file
 * functions/src/runtimes/firebase/emulator.e2e.test.ts. Everything the
 * emulators print is copied to a log file whose path the test receives in
 * SERAPHIM_EMULATOR_LOG: the test reads the functions' own log lines there.
 *
 * Vitest reporter options are passed through, so a runner can collect
 * results: `--reporter=default --reporter=json --outputFile.json=<file>`.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const functionsDir = join(root, 'functions');
const testFile = 'src/runtimes/firebase/emulator.e2e.test.ts';

const passThrough = process.argv.slice(2).filter((arg) => arg !== '--inside');
if (process.argv.includes('--inside')) {
  process.exit(await runTests(passThrough));
} else {
  process.exit(await runEmulators(passThrough));
}

/** Outside: start the emulators around this script's `--inside` run, and capture their output. */
async function runEmulators(vitestArgs) {
  if (!existsSync(join(functionsDir, 'lib', 'index.js'))) {
    console.error('functions/lib/index.js is missing: run `npm run build -w functions` first.');
    return 1;
  }
  // The functions declare the UPSTASH_REDIS_REST_TOKEN secret; without a local value the emulator
  // asks Google's Secret Manager for it. Give it a placeholder for the run (kv is not used here).
  const secretFile = join(functionsDir, '.secret.local');
  const ownSecretFile = !existsSync(secretFile);
  if (ownSecretFile) writeFileSync(secretFile, 'UPSTASH_REDIS_REST_TOKEN=emulator-placeholder\n');
  const logDir = mkdtempSync(join(tmpdir(), 'seraphim-emulators-'));
  const logPath = join(logDir, 'emulators.log');
  const log = createWriteStream(logPath);
  const quoted = vitestArgs.map((arg) => `'${arg.replaceAll("'", "'\\''")}'`).join(' ');
  const inside = `"${process.execPath}" "${fileURLToPath(import.meta.url)}" --inside ${quoted}`.trim();
  const firebase = join(root, 'node_modules', 'firebase-tools', 'lib', 'bin', 'firebase.js');
  const args = [
    firebase,
    'emulators:exec',
    '--only',
    'functions,tasks,auth,hosting',
    '--project',
    'demo-seraphim',
    '--non-interactive',
    inside,
  ];
  console.log(`seraphim: firebase emulators:exec --only functions,tasks,auth,hosting (log: ${logPath})`);
  const child = spawn(process.execPath, args, {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      // Node 22 first for everything the emulators start, function workers included.
      PATH: [dirname(process.execPath), join(root, 'node_modules', '.bin'), process.env.PATH].join(':'),
      SERAPHIM_EMULATOR_LOG: logPath,
      NO_UPDATE_NOTIFIER: '1',
      FIREBASE_CLI_DISABLE_UPDATE_CHECK: 'true',
      // Never prompt, never open a browser, never ask to collect usage.
      CI: 'true',
      // Google's auth library would otherwise probe the GCE metadata server (169.254.169.254 and
      // metadata.google.internal) to find credentials: this test talks to loopback only.
      METADATA_SERVER_DETECTION: 'none',
    },
  });
  for (const stream of [child.stdout, child.stderr]) {
    stream.on('data', (chunk) => {
      log.write(chunk);
      process.stdout.write(chunk);
    });
  }
  const code = await new Promise((done) => child.on('close', (c, signal) => done(c ?? (signal ? 1 : 0))));
  await new Promise((done) => log.end(done));
  if (ownSecretFile) rmSync(secretFile, { force: true });
  if (code === 0) rmSync(logDir, { recursive: true, force: true });
  else console.error(`seraphim: emulator test failed (exit ${code}); emulator output kept in ${logPath}`);
  return code;
}

/** Inside `emulators:exec`: run the e2e file alone, whatever the default Vitest include and exclude are. */
async function runTests(args) {
  const { startVitest } = await import('vitest/node');
  const reporters = args.filter((a) => a.startsWith('--reporter=')).map((a) => a.slice('--reporter='.length));
  const json = args.find((a) => a.startsWith('--outputFile.json='))?.slice('--outputFile.json='.length);
  const unknown = args.filter((a) => !a.startsWith('--reporter=') && !a.startsWith('--outputFile.json='));
  if (unknown.length > 0) {
    console.error(
      `Unsupported options: ${unknown.join(' ')} (only --reporter= and --outputFile.json= are passed to Vitest)`,
    );
    return 2;
  }
  const vitest = await startVitest('test', [testFile], {
    root: functionsDir,
    config: join(functionsDir, 'vitest.config.ts'),
    include: [testFile],
    exclude: [],
    run: true,
    watch: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
    ...(reporters.length > 0 ? { reporters } : {}),
    ...(json ? { outputFile: { json } } : {}),
  });
  const files = vitest?.state.getFiles() ?? [];
  await vitest?.close();
  const failed = files.length === 0 || files.some((f) => f.result?.state !== 'pass');
  return failed || process.exitCode ? 1 : 0;
}

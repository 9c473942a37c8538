/**
 * Benchmark 3: cold start of the built Cloud Functions entry, functions/lib/index.js,
 * next to a bare import of the firebase-functions / firebase-admin modules it
 * loads while being imported (observed with a module resolve hook, so lazy
 * imports that only handlers make are left out). Every sample is a fresh node
 * process; variants are interleaved run by run, and the median is reported.
 *
 * It also lists which functions/lib/orchestrators modules a process loads
 * when FUNCTION_TARGET names one function, to show that it loads only its own.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FUNCTIONS_DIR, fmt, LIB, line, median, note, Report, section } from './harness.mjs';

const RUNS = 7;
const TARGET_RATIO = 1.2;
const FUNCTION_TARGET = process.env.BENCH_FUNCTION_TARGET ?? 'system-api';
const ENTRY = join(LIB, 'index.js');
const ORCHESTRATORS = join(LIB, 'orchestrators');
/** What the entry is expected to import, for when it cannot be loaded. */
const FALLBACK_FIREBASE_MODULES = [
  'firebase-functions/v2/https',
  'firebase-functions/v2/tasks',
  'firebase-functions/v2/pubsub',
  'firebase-functions/v2/firestore',
  'firebase-functions/v2/scheduler',
  'firebase-admin/app',
];
const isFirebase = (spec) => /^firebase-(functions|admin)(\/|$)/.test(spec);

/** Runs a tiny ESM script in a fresh node process; resolves with its JSON stdout. */
function fresh(code, env) {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', code],
      { cwd: FUNCTIONS_DIR, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error) {
          const why = stderr.split('\n').find((l) => /Error|error/.test(l)) ?? error.message;
          done({ error: why.trim() });
          return;
        }
        done(JSON.parse(stdout));
      },
    );
  });
}

const TIME_IMPORTS = `
const specs = JSON.parse(process.env.BENCH_SPECS);
const t0 = performance.now();
for (const spec of specs) await import(spec);
process.stdout.write(JSON.stringify({ ms: performance.now() - t0 }));
process.exit(0);
`;

/**
 * Imports the entry with module hooks on: lists every module loaded, and every
 * package specifier that code under functions/lib asked for (static or dynamic).
 */
const LIST_LOADED = `
import { registerHooks } from 'node:module';
const lib = process.env.BENCH_LIB_URL;
const loaded = [];
const packages = new Set();
registerHooks({
  resolve(specifier, context, next) {
    const local = specifier.startsWith('.') || specifier.startsWith('/') || /^[a-z]+:/.test(specifier);
    if (!local && context.parentURL?.startsWith(lib)) packages.add(specifier);
    return next(specifier, context);
  },
  load(url, context, next) {
    loaded.push(url);
    return next(url, context);
  },
});
await import(process.env.BENCH_ENTRY);
process.stdout.write(JSON.stringify({ loaded, packages: [...packages].sort() }));
process.exit(0);
`;

/** An environment without a function target, even if this process has one (child_process drops undefined). */
function withoutTarget() {
  return { FUNCTION_TARGET: undefined, K_SERVICE: undefined };
}

const report = new Report('cold start');
section('3. Cold start of the Cloud Functions entry');
const built = existsSync(ENTRY);
const entryUrl = pathToFileURL(ENTRY).href;
const target = `≤ ${TARGET_RATIO}× bare`;

/** What importing the entry loads, under a given environment. */
async function inspect(env) {
  const result = await fresh(LIST_LOADED, {
    ...env,
    BENCH_ENTRY: entryUrl,
    BENCH_LIB_URL: pathToFileURL(LIB).href,
  });
  if (result.error) return result;
  const files = result.loaded
    .filter((url) => url.startsWith('file:'))
    .map((url) => new URL(url).pathname)
    .filter((path) => path.startsWith(`${ORCHESTRATORS}/`))
    .map((path) => relative(ORCHESTRATORS, path))
    .sort();
  const folders = [...new Set(files.filter((f) => f.includes('/')).map((f) => f.split('/')[0]))].sort();
  const libModules = result.loaded.filter((url) => url.startsWith(pathToFileURL(LIB).href)).length;
  const firebase = result.packages.filter(isFirebase);
  return { files, folders, libModules, packages: result.packages, firebase };
}

const targeted = built ? await inspect({ FUNCTION_TARGET }) : { error: 'not built yet' };
const discovery = built ? await inspect(withoutTarget()) : { error: 'not built yet' };

/** The Firebase modules an import of the entry asked for; the expected list when it could not be observed. */
const firebaseOf = (seen) =>
  seen.error || seen.firebase.length === 0 ? FALLBACK_FIREBASE_MODULES : seen.firebase;
const bareSets = new Map();
for (const [seen, scope] of [
  [targeted, 'for one function'],
  [discovery, 'for every group'],
]) {
  const modules = firebaseOf(seen);
  const key = modules.join(' ');
  if (!bareSets.has(key)) bareSets.set(key, { modules, scope });
}
const bareName = (modules) => {
  const entry = bareSets.get(modules.join(' '));
  const scope = bareSets.size > 1 ? ` (${entry.scope})` : '';
  return `bare import of ${modules.length} Firebase modules${scope}`;
};
const variants = [...bareSets.values()].map(({ modules }) => ({
  name: bareName(modules),
  specs: modules,
  env: withoutTarget(),
}));
if (!discovery.error && discovery.packages.length > discovery.firebase.length) {
  variants.push({
    name: `bare import of all ${discovery.packages.length} packages it asks for (context)`,
    specs: discovery.packages,
    env: withoutTarget(),
  });
}
if (built) {
  variants.push(
    {
      name: `lib/index.js, FUNCTION_TARGET=${FUNCTION_TARGET}`,
      specs: [entryUrl],
      env: { FUNCTION_TARGET },
      baseline: bareName(firebaseOf(targeted)),
    },
    {
      name: 'lib/index.js, no FUNCTION_TARGET (deploy-time discovery)',
      specs: [entryUrl],
      env: withoutTarget(),
      baseline: bareName(firebaseOf(discovery)),
    },
  );
}

if (!built)
  note('functions/lib/index.js is not built yet: only the bare import is measured, with the expected list.');
for (const [label, seen] of [
  [`FUNCTION_TARGET=${FUNCTION_TARGET}`, targeted],
  ['no FUNCTION_TARGET', discovery],
]) {
  if (!built) break;
  if (seen.error) note(`${label}: importing lib/index.js failed: ${seen.error}`);
  else note(`${label}: functions/lib asked for ${seen.packages.join(', ') || 'no packages'}`);
}
for (const v of variants.filter((x) => !x.baseline)) note(`${v.name}: ${v.specs.join(', ')}`);
note(
  `Each sample is a fresh \`node\` process timing its dynamic import(s) with performance.now();\n` +
    `${RUNS} runs after one warm-up, variants interleaved run by run, median reported.`,
);

const samples = new Map(variants.map((v) => [v.name, []]));
const errors = new Map();
for (let run = 0; run <= RUNS; run++) {
  for (const v of variants) {
    const result = await fresh(TIME_IMPORTS, { ...v.env, BENCH_SPECS: JSON.stringify(v.specs) });
    if (result.error) errors.set(v.name, result.error);
    else if (run > 0) samples.get(v.name).push(result.ms); // run 0 warms the file cache
  }
}
const ms = (name) => (errors.has(name) ? Number.NaN : median(samples.get(name)));

for (const v of variants) {
  if (errors.has(v.name)) {
    line(v.name, 'failed to import', v.baseline ? target : '');
    note(errors.get(v.name));
    report.row(v.name, 'failed to import', v.baseline ? target : undefined, v.baseline ? false : null);
    continue;
  }
  const value = ms(v.name);
  const range = `range ${fmt(Math.min(...samples.get(v.name)))}–${fmt(Math.max(...samples.get(v.name)))} ms`;
  if (!v.baseline) {
    line(v.name, `${fmt(value)} ms`);
    note(range);
    report.row(v.name, `${fmt(value)} ms`);
    continue;
  }
  const ratio = value / ms(v.baseline);
  line(v.name, `${fmt(value)} ms = ${fmt(ratio, 2)}× bare`, target);
  note(range);
  report.row(v.name, `${fmt(value)} ms = ${fmt(ratio, 2)}× bare`, target, ratio <= TARGET_RATIO);
}
if (!built) {
  line('lib/index.js import', 'not built yet', target);
  report.row('lib/index.js import', 'not built yet', target, null);
}
report.data = { runs: RUNS, samples: Object.fromEntries(samples), errors: Object.fromEntries(errors) };

console.log('\n  Orchestrator modules loaded by one function');
const available = existsSync(ORCHESTRATORS)
  ? readdirSync(ORCHESTRATORS, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
  : [];
const own = FUNCTION_TARGET.split(/[.-]/)[0];
const onlyOwn = `only ${own}/`;
if (targeted.error) {
  line(
    `FUNCTION_TARGET=${FUNCTION_TARGET}: orchestrator folders loaded`,
    built ? 'failed' : 'not built yet',
    onlyOwn,
  );
  report.row(
    'orchestrators loaded by one function',
    built ? 'failed' : 'not built yet',
    onlyOwn,
    built ? false : null,
  );
} else {
  note(`orchestrator folders in functions/lib/orchestrators: ${available.join(', ') || 'none'}`);
  line(
    `FUNCTION_TARGET=${FUNCTION_TARGET}: orchestrator folders loaded`,
    targeted.folders.join(', ') || 'none',
    onlyOwn,
  );
  note(`${targeted.files.join(', ') || 'none'}; ${targeted.libModules} functions/lib modules in all`);
  if (!discovery.error) {
    line('no FUNCTION_TARGET: orchestrator folders loaded', discovery.folders.join(', ') || 'none');
    note(`${discovery.files.join(', ') || 'none'}; ${discovery.libModules} functions/lib modules in all`);
  }
  if (available.length < 2)
    note('Only one orchestrator exists so far: this shows the mechanism more than it tests it.');
  const others = targeted.folders.filter((f) => f !== own);
  report.row(
    'orchestrators loaded by one function',
    targeted.folders.join(', ') || 'none',
    onlyOwn,
    others.length === 0,
  );
  report.data.loaded = { targeted, discovery, available };
}
report.save();

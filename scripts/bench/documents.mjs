/**
 * Benchmark 2: the embedded document store (SQLite file, WAL), as the
 * embedded runtime builds it. Every figure is a sequence of durable commits.
 */
import { fmt, lib, line, note, Report, rate, section, withBenchRuntime } from './harness.mjs';

const SETS = 20_000;
const INCREMENTS = 20_000;
const WRITERS = 8;
const INCREMENTS_PER_WRITER = 2_500;
const WARMUP = 500;
const NO_TARGET = 'none set (context)';

const { defineOrchestrator } = await lib('platform/orchestrator.js');

/** A fresh runtime, not started: only the document store is exercised. */
const withRuntime = (orchestrators, fn) =>
  withBenchRuntime(orchestrators, ({ runtime }) => fn(runtime.documents));

async function timeSets(store, collection) {
  for (let i = 0; i < WARMUP; i++) await store.set(`${collection}/warm-${i}`, { i, label: 'warm-up' });
  const t = performance.now();
  for (let i = 0; i < SETS; i++)
    await store.set(`${collection}/doc-${i}`, { i, label: 'benchmark document' });
  return performance.now() - t;
}

/** Read-modify-write of one counter; returns how many times the function ran (retries included). */
async function increment(store, path) {
  let runs = 0;
  await store.transaction(async (tx) => {
    runs++;
    const doc = await tx.get(path);
    tx.set(path, { n: (doc?.data.n ?? 0) + 1 });
  });
  return runs;
}

const report = new Report('document store');
section('2. Embedded document store');
note('A fresh EmbeddedRuntime per figure (SQLite file in a temp dir, WAL, synchronous=NORMAL), not started.');

const setMs = await withRuntime([], (store) => timeSets(store, 'bench'));
line(`set(), ${fmt(SETS)} distinct documents, sequential`, `${fmt(rate(SETS, setMs))} writes/s`, NO_TARGET);
report.row('set (sequential, distinct docs)', `${fmt(rate(SETS, setMs))}/s`, NO_TARGET);

const watched = defineOrchestrator({
  name: 'bench',
  documents: { onBenchWritten: { document: 'watched/{doc}', handler: async () => {} } },
});
const watchedMs = await withRuntime([watched], (store) => timeSets(store, 'watched'));
line(
  'set() under a document trigger (change feed row per write)',
  `${fmt(rate(SETS, watchedMs))} writes/s`,
  NO_TARGET,
);
note('With a trigger subscribed, each commit also appends the before/after change to the durable event log.');
report.row('set with a trigger (outbox append)', `${fmt(rate(SETS, watchedMs))}/s`, NO_TARGET);

const sequential = await withRuntime([], async (store) => {
  for (let i = 0; i < WARMUP; i++) await increment(store, 'counters/warm');
  let runs = 0;
  const t = performance.now();
  for (let i = 0; i < INCREMENTS; i++) {
    const r = await increment(store, 'counters/one');
    runs += r;
  }
  const ms = performance.now() - t;
  return { ms, runs, final: (await store.get('counters/one'))?.data.n };
});
line(
  'transaction: increment one document, sequential',
  `${fmt(rate(INCREMENTS, sequential.ms))} tx/s`,
  NO_TARGET,
);
note(`final counter ${fmt(sequential.final)} of ${fmt(INCREMENTS)}; ${fmt(sequential.runs)} function runs`);
report.row('tx increment, 1 doc, sequential', `${fmt(rate(INCREMENTS, sequential.ms))}/s`, NO_TARGET);

const concurrent = await withRuntime([], async (store) => {
  for (let i = 0; i < WARMUP; i++) await increment(store, 'counters/warm');
  let runs = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      for (let i = 0; i < INCREMENTS_PER_WRITER; i++) {
        // Not `runs += await …`: that would read `runs` before the await and lose other writers' counts.
        const r = await increment(store, 'counters/one');
        runs += r;
      }
    }),
  );
  const ms = performance.now() - t;
  return { ms, runs, final: (await store.get('counters/one'))?.data.n };
});
const total = WRITERS * INCREMENTS_PER_WRITER;
line(
  `transaction: increment one document, ${WRITERS} concurrent writers`,
  `${fmt(rate(total, concurrent.ms))} tx/s`,
  NO_TARGET,
);
note(
  `final counter ${fmt(concurrent.final)} of ${fmt(total)}; ${fmt(concurrent.runs)} function runs ` +
    `(${fmt(concurrent.runs / total, 2)} per commit: optimistic retries on a stale read)`,
);
report.row(`tx increment, 1 doc, ${WRITERS} concurrent`, `${fmt(rate(total, concurrent.ms))}/s`, NO_TARGET);
note(
  'For scale: Firestore advises about one sustained write per second to a single document; the embedded\n' +
    'store has no such limit, but orchestrators keep to it so they behave the same on both runtimes.',
);

report.data = { sets: SETS, setMs, watchedMs, sequential, concurrent, writers: WRITERS };
report.save();

/**
 * The cost of evaluating user expressions in worker threads (issue 9, item 1):
 * one agent call's expressions go to a worker as one job and come back as a
 * structured clone. Compared with the same evaluation on the calling thread
 * (the worker's own evaluator, called directly), sequentially, warm.
 */
import { fmt, lib, line, median, note, percentile, Report, section } from './harness.mjs';

const WARMUP = 200;
const SAMPLES = 2_000;
const NO_TARGET = 'none (context)';

const { ExpressionPool } = await lib('orchestrators/executions/expressions/pool.js');
const { ExpressionRunner, DEFAULT_LIMITS } = await lib('orchestrators/executions/expressions/language.js');

const report = new Report('expressions');
section('expressions: the worker hop');

/** A small claim, as a transform or a rule sees it; a rule table of 20 conditions over it. */
const data = { claim: { id: 'c1', amount: 1200, items: [{ price: 700 }, { price: 500 }], country: 'FR' } };
const cases = [
  [
    'one transform expression',
    [{ source: '{"total": $sum(claim.items.price), "id": claim.id}', condition: false }],
  ],
  [
    'a rule table of 20 conditions',
    Array.from({ length: 20 }, (_, i) => ({ source: `claim.amount > ${i * 100}`, condition: true })),
  ],
];

const pool = new ExpressionPool({ size: 1 });
const runner = new ExpressionRunner();
const run = { step: 'bench', capMs: 10_000, stepLeftMs: 60_000 };

async function timed(fn) {
  for (let i = 0; i < WARMUP; i++) await fn();
  const ms = [];
  for (let i = 0; i < SAMPLES; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  return ms;
}

const results = {};
for (const [name, expressions] of cases) {
  const job = {
    kind: 'expressions',
    expressions,
    data,
    now: 0,
    untilTrue: false,
    budgetMs: 10_000,
    ...DEFAULT_LIMITS,
  };
  const inline = await timed(() => runner.run(job));
  const worker = await timed(() => pool.run(job, run));
  const hop = median(worker) - median(inline);
  line(`${name}: on the calling thread, p50`, `${fmt(median(inline) * 1000)} µs`, NO_TARGET);
  line(
    `${name}: in a worker, p50 / p99`,
    `${fmt(median(worker) * 1000)} / ${fmt(percentile(worker, 99) * 1000)} µs`,
    NO_TARGET,
  );
  line(`${name}: the hop, p50`, `${fmt(hop * 1000)} µs`, NO_TARGET);
  report.row(`expression hop: ${name}, p50`, `${fmt(hop * 1000)} µs`, NO_TARGET);
  results[name] = {
    inlineP50Ms: median(inline),
    workerP50Ms: median(worker),
    workerP99Ms: percentile(worker, 99),
  };
}
note(
  'The hop is one structured clone each way and a message round trip; one per agent call, not per expression.',
);
await pool.close();

report.data = { samples: SAMPLES, results };
report.save();

/**
 * Benchmark: the executions list (issue 9, item 2), the route Mission Control
 * polls, at 1,000 and at 100,000 executions in one workspace, through the HTTP
 * API of an embedded runtime, with and without a status filter.
 *
 * The executions are written straight through the documents port, in
 * transactions of SEED_BATCH (running 100,000 would take minutes): copies of
 * one execution the engine really ran, with their own ids, times and statuses.
 */
import { fmt, lib, line, note, percentile, Report, rate, section, withServedRuntime } from './harness.mjs';

const SIZES = [1_000, 100_000];
const SEED_BATCH = 1_000;
/** Sequential requests per measurement (after WARMUP), and measurements per figure (the spread). */
const REQUESTS = 500;
const WARMUP = 50;
const RUNS = 3;
/** Mission Control's page. */
const PAGE = 50;
/** The workspaces: one per size, measured in turns so that both see the same machine. */
const workspaceOf = (size) => `bench-${size}`;
const MAX_P99_MS = 20;
const MAX_GROWTH = 1.5;
/** Of every 20 executions seeded: 16 succeeded, 3 failed, 1 cancelled. */
const STATUSES = [...Array(16).fill('succeeded'), 'failed', 'failed', 'failed', 'cancelled'];

const { createUlids } = await lib('platform/ids.js');

const useCase = {
  id: 'pair',
  name: 'pair',
  vertical: 'bench',
  workflow: {
    steps: [
      { id: 'a', agent: 'transform', inputs: { v: 'input.v' }, output: 'x', config: { expression: 'v + 1' } },
      { id: 'b', agent: 'transform', inputs: { x: 'x' }, output: 'y', config: { expression: 'x + 1' } },
    ],
  },
};

/** `fn(runtime, base)`, where `base(workspace)` is that workspace's executions API. */
function withServedList(fn) {
  return withServedRuntime((runtime, url) =>
    fn(runtime, (workspace) => `${url}/api/executions/workspaces/${workspace}`),
  );
}

async function call(url, init) {
  let res;
  try {
    res = await fetch(url, init);
  } catch (error) {
    // A kept-alive connection the server closed while it sat idle (during a seed): a GET goes again.
    if (init?.method || error?.cause?.code !== 'ECONNRESET') throw error;
    res = await fetch(url, init);
  }
  const body = await res.json();
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/** One execution the engine ran to the end: what every seeded one is a copy of. */
async function template(runtime, base, workspace) {
  const post = (path, body) =>
    call(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  // Use cases live in their own orchestrator.
  await call(`${base.replace('/api/executions/', '/api/useCases/')}/use-cases`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(useCase),
  });
  const { id } = await post('/executions', { useCaseId: useCase.id, input: { v: 1 } });
  for (;;) {
    const execution = await call(`${base}/executions/${id}`);
    if (execution.status === 'succeeded') break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const doc = await runtime.documents.get(`workspaces/${workspace}/executions/${id}`);
  return doc.data;
}

/** Adds executions to `workspace` until it has `total`, newest last; returns the seconds it took. */
async function seed(runtime, workspace, data, from, total) {
  const started = performance.now();
  const start = Date.now() - total * 10;
  let seeded = from;
  // Ids in creation order, as the engine's are.
  const ids = createUlids(() => start + seeded * 10);
  while (seeded < total) {
    const end = Math.min(total, seeded + SEED_BATCH);
    await runtime.documents.transaction(async (tx) => {
      for (; seeded < end; seeded++) {
        const id = ids.next();
        const at = start + seeded * 10;
        tx.create(`workspaces/${workspace}/executions/${id}`, {
          ...data,
          id,
          workspace,
          status: STATUSES[seeded % STATUSES.length],
          createdAt: at,
          updatedAt: at + 5,
        });
      }
    });
  }
  return (performance.now() - started) / 1000;
}

/** p50 and p99 (ms) of REQUESTS sequential list requests. */
async function measure(url) {
  const times = [];
  for (let i = 0; i < WARMUP + REQUESTS; i++) {
    const t = performance.now();
    const page = await call(url);
    if (i >= WARMUP) times.push(performance.now() - t);
    if (page.executions.length !== PAGE) throw new Error(`${url} gave ${page.executions.length} rows`);
  }
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

const report = new Report('executions list');
section('Executions list (GET …/executions, the route Mission Control polls)');
note(
  `One workspace, an embedded runtime served over HTTP; ${fmt(REQUESTS)} sequential requests for a page of ${PAGE},`,
);
note(
  `A workspace per size, measured in turns (${RUNS} runs each): the median run's p99, with the spread across runs;`,
);
note("the growth is the median of the runs' ratios (each run pairs the two sizes measured back to back).");

const FILTERS = [
  ['no filter', ''],
  ['status=failed', '&status=failed'],
];

const results = await withServedList(async (runtime, base) => {
  const first = workspaceOf(SIZES[0]);
  const data = await template(runtime, base(first), first);
  for (const size of SIZES) {
    const have = size === SIZES[0] ? 1 : 0;
    const seconds = await seed(runtime, workspaceOf(size), data, have, size);
    note(
      `seeded ${workspaceOf(size)}: ${fmt(size - have)} executions written in ${fmt(seconds, 1)} s (${fmt(rate(size - have, seconds * 1000))}/s, transactions of ${fmt(SEED_BATCH)})`,
    );
  }
  const out = {};
  for (const [label, query] of FILTERS) {
    const runs = Object.fromEntries(SIZES.map((size) => [size, []]));
    for (let r = 0; r < RUNS; r++) {
      for (const size of SIZES)
        runs[size].push(await measure(`${base(workspaceOf(size))}/executions?limit=${PAGE}${query}`));
    }
    const [small, large] = SIZES;
    const growths = runs[large].map((run, i) => run.p99 / runs[small][i].p99).sort((a, b) => a - b);
    out[label] = { growth: growths[1], growthMin: growths[0], growthMax: growths[RUNS - 1] };
    for (const size of SIZES) {
      const p99s = runs[size].map((run) => run.p99).sort((a, b) => a - b);
      const p50s = runs[size].map((run) => run.p50).sort((a, b) => a - b);
      out[label][size] = { p99: p99s[1], p50: p50s[1], min: p99s[0], max: p99s[RUNS - 1] };
    }
  }
  return out;
});

for (const [label] of FILTERS) {
  const r = results[label];
  for (const size of SIZES) {
    const { p99, p50, min, max } = r[size];
    line(
      `${label}, ${fmt(size)} executions: p99 (p50 ${fmt(p50, 2)} ms)`,
      `${fmt(p99, 2)} ms [${fmt(min, 2)}–${fmt(max, 2)}]`,
      `< ${MAX_P99_MS} ms`,
    );
    report.row(
      `list p99, ${label}, ${fmt(size)} executions`,
      `${fmt(p99, 2)} ms (runs ${fmt(min, 2)}–${fmt(max, 2)}; p50 ${fmt(p50, 2)} ms)`,
      `< ${MAX_P99_MS} ms`,
      p99 < MAX_P99_MS,
    );
  }
  line(
    `${label}: p99 at ${fmt(SIZES[1])} ÷ p99 at ${fmt(SIZES[0])}`,
    `${fmt(r.growth, 2)}× [${fmt(r.growthMin, 2)}–${fmt(r.growthMax, 2)}]`,
    `≤ ${MAX_GROWTH}×`,
  );
  report.row(
    `list p99 growth ${fmt(SIZES[0])} → ${fmt(SIZES[1])}, ${label}`,
    `${fmt(r.growth, 2)}× (runs ${fmt(r.growthMin, 2)}–${fmt(r.growthMax, 2)})`,
    `≤ ${MAX_GROWTH}×`,
    r.growth <= MAX_GROWTH,
  );
}
report.data = results;
report.save();

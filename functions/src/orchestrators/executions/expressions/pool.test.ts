import { afterEach, describe, expect, it } from 'vitest';
import { ExpressionTimeoutError, PermanentError, RetryableError } from '../../../platform/errors.js';
import { DEFAULT_LIMITS } from './language.js';
import { ExpressionPool } from './pool.js';
import type { ExpressionJob } from './protocol.js';

/** Minutes in one built-in call on the thread that runs it: only terminating the worker stops it. */
const QUADRATIC = '$count($distinct([1..1000000]))';
/** JSONata's merge sort needs gigabytes for this. */
const HUNGRY = '$count($sort($reverse([1..50000])))';

const job = (source: string, data: unknown = {}): ExpressionJob => ({
  kind: 'expressions',
  expressions: [{ source, condition: false }],
  data,
  now: 0,
  untilTrue: false,
  budgetMs: 1,
  ...DEFAULT_LIMITS,
});
const run = { step: 'score', capMs: 10_000, stepLeftMs: 60_000 };

const pools: ExpressionPool[] = [];
const pool = (size = 1, maxHeapMb?: number, killGraceMs?: number) => {
  const made = new ExpressionPool({
    size,
    ...(maxHeapMb ? { maxHeapMb } : {}),
    ...(killGraceMs ? { killGraceMs } : {}),
  });
  pools.push(made);
  return made;
};
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

describe('ExpressionPool', () => {
  it('evaluates in a worker and gives the values back as plain data', async () => {
    const workers = pool();
    expect(await workers.run(job('{"total": $sum(items.p)}', { items: [{ p: 2 }, { p: 3 }] }), run)).toEqual([
      { total: 5 },
    ]);
    expect(workers.stats()).toMatchObject({ workers: 1, busy: 0, queued: 0, replaced: 0 });
  });

  it('terminates a worker stuck in one call at the deadline, and replaces it for the next job', async () => {
    // The worker's own deadline comes a minute after the kill: on a loaded machine it could otherwise
    // fire before the worker even reaches the stuck call, and the kill would have nothing to do.
    const workers = pool(1, undefined, -60_000);
    const error = await workers.run(job(QUADRATIC), { ...run, capMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExpressionTimeoutError);
    expect((error as Error).message).toBe(
      `Step "score": expression ${JSON.stringify(QUADRATIC)} ran past the deadline of 300 ms and was stopped`,
    );
    expect(workers.stats().replaced).toBe(1);
    expect(await workers.run(job('1 + 1'), run)).toEqual([2]);
    expect(workers.stats()).toMatchObject({ workers: 1, replaced: 1 });
  });

  it('ends a runaway the worker can interrupt itself without losing the worker', async () => {
    // The worker's own deadline is 500 ms in; the terminate would come 1.5 s after that, so a busy
    // machine's scheduling cannot make the kill win.
    const workers = pool(1, undefined, 1_500);
    await expect(
      workers.run(job('($f := function($n){ $f($n + 1) }; $f(0))'), { ...run, capMs: 2_000 }),
    ).rejects.toBeInstanceOf(ExpressionTimeoutError);
    expect(workers.stats().replaced).toBe(0);
  });

  it('contains an expression that runs out of memory to its worker', async () => {
    const workers = pool(1, 32);
    const error = await workers.run(job(HUNGRY), run).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toBe(
      'Step "score": the expression used more than 32 MB and was stopped',
    );
    expect(await workers.run(job('"still here"'), run)).toEqual(['still here']);
  });

  it('stops a job when its step is aborted', async () => {
    const workers = pool();
    const abort = new AbortController();
    const running = workers.run(job(QUADRATIC), { ...run, signal: abort.signal });
    await expect.poll(() => workers.stats().busy).toBe(1);
    abort.abort();
    await expect(running).rejects.toBeInstanceOf(RetryableError);
    expect(workers.stats()).toMatchObject({ busy: 0, replaced: 1 });
  });

  it('queues jobs beyond its size, in order, and gives each its own deadline', async () => {
    const workers = pool(1);
    await workers.run(job('0'), run); // started: the next job goes straight to it
    const slow = workers.run(job(QUADRATIC), { ...run, capMs: 300 });
    const next = workers.run(job('"after"'), run);
    expect(workers.stats()).toMatchObject({ queued: 1 });
    await expect(slow).rejects.toBeInstanceOf(ExpressionTimeoutError);
    expect(await next).toEqual(['after']);
  });

  it('fails a job whose step ran out of time while it waited, as worth retrying', async () => {
    const workers = pool(1);
    const slow = workers.run(job(QUADRATIC), { ...run, capMs: 300 }).catch((e: unknown) => e);
    const starved = workers.run(job('1'), { ...run, stepLeftMs: 100 });
    await expect(starved).rejects.toThrow('Step "score": no expression worker was free before its deadline');
    await expect(starved).rejects.toBeInstanceOf(RetryableError);
    expect(await slow).toBeInstanceOf(ExpressionTimeoutError);
  });
});

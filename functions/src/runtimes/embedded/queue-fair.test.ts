/** The embedded queue as the pool's dispatcher: fair claims, deferral without spending attempts, gated wake-ups. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../platform/clock.js';
import { rateLimits, retryPolicy } from '../../platform/delivery.js';
import { DeferError, NotFoundError } from '../../platform/errors.js';
import { createUlids } from '../../platform/ids.js';
import { createLogger, MemorySink } from '../../platform/logger.js';
import type { TaskInfo } from '../../platform/ports.js';
import { EmbeddedTaskQueue, type QueueConfig } from './queue.js';
import { openDatabase } from './sqlite.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A started-later queue over a real SQLite file in a fresh temp dir; stopped, closed and removed after the test. */
function newQueue(opts: { random?: () => number } = {}): { queue: EmbeddedTaskQueue; db: DatabaseSync } {
  const dir = mkdtempSync(join(tmpdir(), 'seraphim-fair-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const db = openDatabase({ file: join(dir, 'seraphim.db') });
  cleanups.push(() => db.close());
  const queue = new EmbeddedTaskQueue(db, {
    clock: systemClock,
    ids: createUlids(),
    logger: createLogger({ sink: new MemorySink() }),
    ...opts,
  });
  cleanups.push(async () => void (await queue.stop({ graceMs: 1000 })));
  return { queue, db };
}

function config(name: string, over: Partial<QueueConfig> = {}): QueueConfig {
  return {
    name,
    retry: retryPolicy({ maxAttempts: 3, minBackoffSeconds: 0.01 }),
    rateLimits: rateLimits({}),
    timeoutMs: 30_000,
    ...over,
  };
}

/** Waits for `cond` to hold, failing after a generous deadline. */
async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function row(db: DatabaseSync, id: string) {
  return db.prepare(`SELECT state, attempts, deferrals, gate FROM tasks WHERE id = ?`).get(id) as
    | { state: string; attempts: number; deferrals: number; gate: string | null }
    | undefined;
}

describe('fair claims', () => {
  async function runFloodThenQuiet(keyed: boolean): Promise<string[]> {
    const { queue } = newQueue();
    const handled: string[] = [];
    queue.register(
      config('work', { rateLimits: rateLimits({ maxConcurrentDispatches: 1 }) }),
      async (payload) => {
        handled.push((payload as { name: string }).name);
      },
    );
    for (let i = 0; i < 20; i++) {
      await queue.enqueue('work', { name: `flood-${i}` }, keyed ? { fairness: { key: 'flood' } } : {});
    }
    await queue.enqueue('work', { name: 'quiet' }, keyed ? { fairness: { key: 'quiet' } } : {});
    queue.start();
    await queue.whenIdle();
    await until(() => handled.length === 21, 'all 21 tasks to run');
    return handled;
  }

  it('runs a quiet key’s task among the first few, not behind a flood', async () => {
    const handled = await runFloodThenQuiet(true);
    expect(handled.indexOf('quiet')).toBeGreaterThanOrEqual(0);
    expect(handled.indexOf('quiet')).toBeLessThan(3);
    // The flood's own tasks still run oldest first.
    expect(handled.filter((n) => n !== 'quiet')).toEqual(Array.from({ length: 20 }, (_, i) => `flood-${i}`));
  });

  it('runs strictly in enqueue order without fairness keys', async () => {
    const handled = await runFloodThenQuiet(false);
    expect(handled).toEqual([...Array.from({ length: 20 }, (_, i) => `flood-${i}`), 'quiet']);
  });
});

describe('deferral', () => {
  it('does not spend an attempt: a task deferred 3 times with maxAttempts 2 still succeeds on attempt 1', async () => {
    // random 0 keeps the gated fallback delays short (200, 400, 800 ms) since nothing wakes gate g here.
    const { queue, db } = newQueue({ random: () => 0 });
    const attempts: number[] = [];
    let calls = 0;
    queue.register(
      config('work', { retry: retryPolicy({ maxAttempts: 2, minBackoffSeconds: 0.01 }) }),
      async (_p, info) => {
        attempts.push(info.attempt);
        calls++;
        if (calls <= 3) throw new DeferError('full', { gate: 'g', delayMs: 0 });
      },
    );
    await queue.enqueue('work', {}, { id: 't1' });
    queue.start();
    await until(
      () => row(db, 't1')?.state === 'done' || row(db, 't1')?.state === 'dead',
      'the task to settle',
    );

    expect(row(db, 't1')).toMatchObject({ state: 'done', attempts: 1, deferrals: 3 });
    expect(calls).toBe(4);
    expect(attempts.at(-1)).toBe(1);
    expect(attempts).toEqual([1, 1, 1, 1]);
    expect((await queue.stats('work')).deadLettered).toBe(0);
  });

  it('wakes parked tasks highest priority first, and reports how many it woke', async () => {
    const { queue, db } = newQueue();
    const events: string[] = [];
    const deferred = new Set<string>();
    const handler = (name: string) => async (_p: unknown, info: TaskInfo) => {
      if (!deferred.has(info.id)) {
        deferred.add(info.id);
        events.push(`${name}:defer`);
        // A long fallback: only a wake-up can run it again within the test.
        throw new DeferError('full', { gate: 'g', delayMs: 600_000 });
      }
      events.push(`${name}:run`);
    };
    queue.register(config('batch', { priority: 3 }), handler('batch'));
    queue.register(config('high', { priority: 0 }), handler('high'));
    expect(await queue.wake('g', 1)).toBe(0); // nothing parked yet

    // The batch task is the older one: priority, not age, must decide.
    await queue.enqueue('batch', {}, { id: 'b1' });
    await queue.enqueue('high', {}, { id: 'h1' });
    queue.start();
    const parked = () =>
      (
        db.prepare(`SELECT count(*) AS n FROM tasks WHERE gate = 'g' AND state = 'pending'`).get() as {
          n: number;
        }
      ).n;
    await until(() => parked() === 2, 'both tasks to park on gate g');

    expect(await queue.wake('g', 1)).toBe(1);
    await until(() => events.some((e) => e.endsWith(':run')), 'a woken task to run');
    expect(events.filter((e) => e.endsWith(':run'))).toEqual(['high:run']);
    await until(() => row(db, 'h1')?.state === 'done', 'the high task to be done');
    expect(row(db, 'b1')).toMatchObject({ state: 'pending', gate: 'g' });

    expect(await queue.wake('g', 1)).toBe(1);
    await until(() => row(db, 'b1')?.state === 'done', 'the batch task to be done');
    expect(events.filter((e) => e.endsWith(':run'))).toEqual(['high:run', 'batch:run']);

    expect(await queue.wake('g', 1)).toBe(0); // nothing parked any more
  });
});

describe('order among due tasks (EnqueueOptions.order)', () => {
  it('claims an earlier order first, and a woken task goes back to its place, not behind the due ones', async () => {
    const { queue, db } = newQueue();
    const ran: string[] = [];
    let parkedOnce = false;
    let release: () => void = () => {};
    const blocked = new Promise<void>((r) => (release = r));
    queue.register(
      config('steps', { rateLimits: rateLimits({ maxConcurrentDispatches: 1 }) }),
      async (_p, info) => {
        if (info.id === 'old' && !parkedOnce) {
          parkedOnce = true;
          throw new DeferError('full', { gate: 'g', delayMs: 600_000 });
        }
        ran.push(info.id);
        if (info.id === 'new') await blocked; // holds the queue's one slot
      },
    );
    const t = Date.now();
    // Enqueued first, ordered after: the old one (ordered first) is claimed first, and parks.
    await queue.enqueue('steps', {}, { id: 'new', order: t - 1_000 });
    await queue.enqueue('steps', {}, { id: 'old', order: t - 60_000 });
    queue.start();
    await until(() => ran.includes('new'), 'the new task to run while the old one is parked');
    expect(row(db, 'old')).toMatchObject({ state: 'pending', gate: 'g' });
    // More work arrives, due now and ordered after the old task; then the old one is woken.
    await queue.enqueue('steps', {}, { id: 'newer', order: t - 500 });
    expect(await queue.wake('g', 1)).toBe(1);
    release();
    await until(() => ran.length === 3, 'every task to run');
    expect(ran).toEqual(['new', 'old', 'newer']);
  });
});

describe('wakes of gates', () => {
  it('a task parked before a restart is woken after it (the queue learns its parked gates at start)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seraphim-parked-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'seraphim.db');
    const open = () => {
      const db = openDatabase({ file });
      const queue = new EmbeddedTaskQueue(db, {
        clock: systemClock,
        ids: createUlids(),
        logger: createLogger({ sink: new MemorySink() }),
      });
      return { db, queue };
    };
    const first = open();
    first.queue.register(config('q'), async () => {
      throw new DeferError('full', { gate: 'g', delayMs: 600_000 });
    });
    await first.queue.enqueue('q', {}, { id: 't1' });
    first.queue.start();
    await until(() => row(first.db, 't1')?.gate === 'g', 'the task to park');
    await first.queue.stop({ graceMs: 1000 });
    first.db.close();

    const second = open();
    cleanups.push(async () => {
      await second.queue.stop({ graceMs: 1000 });
      second.db.close();
    });
    const ran: string[] = [];
    second.queue.register(config('q'), async (_p, info) => void ran.push(info.id));
    second.queue.start();
    expect(await second.queue.wake('g', 1)).toBe(1);
    await until(() => ran.length === 1, 'the woken task to run');
    // Nobody is parked there any more: the next wake finds none.
    expect(await second.queue.wake('g', 1)).toBe(0);
  });
});

describe('a wake that comes before its deferral has parked', () => {
  it('is not lost: the attempt that was on its way to park goes again at once', async () => {
    const { queue } = newQueue();
    let release: () => void = () => {};
    const refusedButNotParked = new Promise<void>((resolve) => {
      release = resolve;
    });
    const runs: number[] = [];
    let attempts = 0;
    queue.register(config('q'), async () => {
      attempts += 1;
      if (attempts === 1) {
        // Refused a slot; before this deferral reaches the queue, the slot is freed and the gate woken.
        await refusedButNotParked;
        throw new DeferError('full', { gate: 'g', delayMs: 600_000 });
      }
      runs.push(attempts);
    });
    await queue.enqueue('q', {}, { id: 't1' });
    queue.start();
    await until(() => attempts === 1, 'the first attempt to start');
    expect(await queue.wake('g', 1)).toBe(0); // nobody is parked yet
    release();
    // Without the late wake it would sleep out its 600 s fallback.
    await until(() => runs.length === 1, 'the deferred task to run again');
    expect(runs).toEqual([2]);
  });

  it('is not taken by an attempt that began after it', async () => {
    const { queue, db } = newQueue();
    queue.register(config('q'), async () => {
      throw new DeferError('full', { gate: 'g', delayMs: 600_000 });
    });
    expect(await queue.wake('g', 1)).toBe(0);
    await queue.enqueue('q', {}, { id: 't1' });
    queue.start();
    await until(() => row(db, 't1')?.gate === 'g', 'the task to park on gate g');
    expect(row(db, 't1')).toMatchObject({ state: 'pending', gate: 'g' });
  });
});

describe('rate limits', () => {
  it('setRateLimits changes rateLimitsOf and refuses an unknown queue', async () => {
    const { queue } = newQueue();
    queue.register(
      config('work', { rateLimits: rateLimits({ maxConcurrentDispatches: 10 }) }),
      async () => {},
    );
    expect(queue.rateLimitsOf('work')).toEqual(rateLimits({ maxConcurrentDispatches: 10 }));

    await queue.setRateLimits('work', { maxConcurrentDispatches: 2, maxDispatchesPerSecond: 7 });
    expect(queue.rateLimitsOf('work')).toEqual({ maxConcurrentDispatches: 2, maxDispatchesPerSecond: 7 });

    await expect(
      queue.setRateLimits('nope', { maxConcurrentDispatches: 1, maxDispatchesPerSecond: 1 }),
    ).rejects.toBeInstanceOf(NotFoundError);
    expect(queue.rateLimitsOf('nope')).toBeUndefined();
  });

  it('applies new concurrency limits to the next dispatches', async () => {
    const { queue } = newQueue();
    let running = 0;
    let most = 0;
    let done = 0;
    queue.register(config('work', { rateLimits: rateLimits({ maxConcurrentDispatches: 10 }) }), async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 10));
      running--;
      done++;
    });
    await queue.setRateLimits('work', { maxConcurrentDispatches: 1, maxDispatchesPerSecond: 1000 });
    for (let i = 0; i < 6; i++) await queue.enqueue('work', { i });
    queue.start();
    await until(() => done === 6, 'all tasks to run');
    expect(most).toBe(1);
  });
});

describe('dispatch beside a busy event loop', () => {
  it('defect (issue 9, item 6): a task enqueued while the loop has work waiting starts before that work, not behind it', async () => {
    // A flood's completions wait for the loop as immediates and timers. A quiet workspace's task
    // enqueued meanwhile must not queue behind them: its wait would follow the flood's load.
    const { queue } = newQueue();
    const seen: Array<{ name: string; afterBacklog: boolean }> = [];
    let backlogRan = false;
    queue.register(config('work'), async (payload) => {
      seen.push({ name: (payload as { name: string }).name, afterBacklog: backlogRan });
    });
    queue.start();
    await queue.enqueue('work', { name: 'first' }, { fairness: { key: 'quiet' } });
    await until(() => seen.length === 1, 'the first task to run');
    await queue.whenIdle();
    // One timers phase later, every immediate the first task left behind (a flush, a wake) has run.
    await new Promise((resolve) => setTimeout(resolve, 0));
    setImmediate(() => {
      backlogRan = true;
    });
    await queue.enqueue('work', { name: 'quiet' }, { fairness: { key: 'quiet' } });
    await until(() => seen.length === 2, 'the quiet task to run');
    expect(seen[1]).toEqual({ name: 'quiet', afterBacklog: false });
  });

  it('what a handler enqueues (the next step of a chain) waits for a wake, so chains leave the loop to requests', async () => {
    const { queue } = newQueue();
    const seen: Array<{ name: string; afterBacklog: boolean }> = [];
    let backlogRan = false;
    queue.register(config('work'), async (payload) => {
      const { name } = payload as { name: string };
      seen.push({ name, afterBacklog: backlogRan });
      if (name !== 'first') return;
      setImmediate(() => {
        backlogRan = true;
      });
      await queue.enqueue('work', { name: 'next' });
    });
    queue.start();
    // One timers phase later, the wake start() scheduled has run: only the handler's own enqueue can wake the queue.
    await new Promise((resolve) => setTimeout(resolve, 0));
    await queue.enqueue('work', { name: 'first' });
    await until(() => seen.length === 2, 'both tasks to run');
    expect(seen).toEqual([
      { name: 'first', afterBacklog: false },
      { name: 'next', afterBacklog: true },
    ]);
  });

  it('enqueues past the budget of one turn still run, on the next wake', async () => {
    const { queue } = newQueue();
    const handled: number[] = [];
    queue.register(config('work'), async (payload) => {
      handled.push((payload as { i: number }).i);
    });
    queue.start();
    await Promise.all(Array.from({ length: 100 }, (_, i) => queue.enqueue('work', { i })));
    await until(() => handled.length === 100, 'all 100 tasks to run');
    expect([...handled].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});

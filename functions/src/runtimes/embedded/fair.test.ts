/** The fair scheduler alone: which ready tasks a claim takes, in what order, and what it holds back. */
import { describe, expect, it } from 'vitest';
import { FairScheduler, type ReadyKey } from './fair.js';

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Plenty of everything but what the test names. */
const free = (over: Partial<{ slots: number; tokens: number; limit: number }> = {}) => ({
  slots: 100,
  tokens: 100,
  limit: 64,
  ...over,
});

/** Picks one task at a time `rounds` times from backlogs that never run dry, counting picks per key. */
function countSingles(
  fair: FairScheduler,
  keys: Array<{ key: string; weight: number }>,
  rounds: number,
): Record<string, number> {
  const backlog = new Map<string, number[]>();
  // Interleaved seqs, as if the keys had enqueued alternately.
  keys.forEach(({ key }, k) => {
    backlog.set(
      key,
      range(0, rounds).map((i) => i * keys.length + k + 1),
    );
  });
  const owner = new Map<number, string>();
  for (const [key, seqs] of backlog) for (const seq of seqs) owner.set(seq, key);
  const counts: Record<string, number> = Object.fromEntries(keys.map(({ key }) => [key, 0]));
  for (let i = 0; i < rounds; i++) {
    const ready: ReadyKey[] = keys.map(({ key, weight }) => ({ key, weight, seqs: backlog.get(key) ?? [] }));
    const picked = fair.pick(ready, free({ slots: 1 }), 16, 0);
    expect(picked).toHaveLength(1);
    const seq = picked[0] as number;
    const key = owner.get(seq) as string;
    counts[key] = (counts[key] ?? 0) + 1;
    backlog.set(
      key,
      (backlog.get(key) ?? []).filter((s) => s !== seq),
    );
  }
  return counts;
}

describe('FairScheduler: fair order', () => {
  it('alternates two equally weighted backlogged keys, oldest first within a key', () => {
    const fair = new FairScheduler();
    const picked = fair.pick(
      [
        { key: 'a', weight: 1, seqs: range(1, 10) },
        { key: 'b', weight: 1, seqs: range(11, 20) },
      ],
      free({ slots: 6 }),
      16,
      0,
    );
    expect(picked).toEqual([1, 11, 2, 12, 3, 13]);
  });

  it('keeps alternating across claims of one task each', () => {
    const fair = new FairScheduler();
    const counts = countSingles(
      fair,
      [
        { key: 'a', weight: 1 },
        { key: 'b', weight: 1 },
      ],
      100,
    );
    expect(counts).toEqual({ a: 50, b: 50 });
  });

  it('serves a key of weight 2 twice as often as one of weight 1 over a long run', () => {
    const fair = new FairScheduler();
    const counts = countSingles(
      fair,
      [
        { key: 'heavy', weight: 2 },
        { key: 'light', weight: 1 },
      ],
      300,
    );
    // Exactly 2:1 with these tie-breaks; allow a task of slack either way for the order of ties.
    expect(counts.heavy).toBeGreaterThanOrEqual(199);
    expect(counts.heavy).toBeLessThanOrEqual(201);
    expect((counts.heavy ?? 0) + (counts.light ?? 0)).toBe(300);
  });

  it('serves a key that arrives after a long backlog first: it never queues behind it', () => {
    const fair = new FairScheduler();
    // `a` alone is served 50 times (its tasks are 1..100; it stays backlogged).
    expect(fair.pick([{ key: 'a', weight: 1, seqs: range(1, 100) }], free({ slots: 50 }), 2, 0)).toEqual(
      range(1, 50),
    );
    // `b` arrives with one task, younger than all of a's, yet it goes first.
    fair.seen('b', 1);
    const picked = fair.pick(
      [
        { key: 'a', weight: 1, seqs: range(51, 100) },
        { key: 'b', weight: 1, seqs: [1000] },
      ],
      free({ slots: 3 }),
      2,
      1,
    );
    expect(picked).toEqual([1000, 51, 52]);
  });

  it('does not let an idle key save up turns', () => {
    const fair = new FairScheduler();
    // a and b both start; b then goes idle while a is served 20 times.
    fair.pick(
      [
        { key: 'a', weight: 1, seqs: [1] },
        { key: 'b', weight: 1, seqs: [2] },
      ],
      free({ slots: 2 }),
      2,
      0,
    );
    fair.pick([{ key: 'a', weight: 1, seqs: range(3, 22) }], free({ slots: 20 }), 2, 1);
    // Back with a backlog, b gets one turn ahead, then they alternate: not 20 in a row.
    const picked = fair.pick(
      [
        { key: 'a', weight: 1, seqs: range(23, 40) },
        { key: 'b', weight: 1, seqs: range(100, 120) },
      ],
      free({ slots: 6 }),
      2,
      2,
    );
    expect(picked.filter((s) => s >= 100)).toHaveLength(3);
    expect(picked[0]).toBe(100);
  });
});

describe('FairScheduler: headroom', () => {
  /** A turn after which `key` still has work pending: from then on it is busy. */
  const makeBusy = (fair: FairScheduler, key: string, now = 0) =>
    fair.pick([{ key, weight: 1, seqs: [], more: true }], free(), 16, now);

  it('keeps the last token of a busy flood for a key seen recently, and gives it to that key once ready', () => {
    const fair = new FairScheduler();
    fair.seen('quiet', 0);
    makeBusy(fair, 'flood');
    const flood: ReadyKey = { key: 'flood', weight: 1, seqs: range(1, 10) };
    expect(fair.pick([flood], free({ tokens: 3 }), 16, 0)).toEqual([1, 2]);

    // The flood alone still may not take the one token left.
    expect(fair.pick([{ ...flood, seqs: range(3, 10) }], free({ tokens: 1 }), 16, 1)).toEqual([]);

    // Now quiet has a task: it gets the token the flood left.
    const picked = fair.pick(
      [
        { ...flood, seqs: range(3, 10) },
        { key: 'quiet', weight: 1, seqs: [50] },
      ],
      free({ tokens: 1 }),
      16,
      2,
    );
    expect(picked).toEqual([50]);
  });

  it('keeps a concurrency slot back for a key seen recently', () => {
    const fair = new FairScheduler();
    fair.seen('quiet', 0);
    makeBusy(fair, 'flood');
    expect(fair.pick([{ key: 'flood', weight: 1, seqs: range(1, 10) }], free({ slots: 3 }), 16, 0)).toEqual([
      1, 2,
    ]);
  });

  it('counts a key the queue holds back as busy: no headroom is kept for it, and it takes none', () => {
    const fair = new FairScheduler();
    fair.seen('parked', 0);
    fair.pick([], free(), 16, 0, new Set(['parked']));
    makeBusy(fair, 'flood');
    // parked has work pending (held back), so it is not an idle key to keep a slot for: only the newcomer token.
    expect(fair.pick([{ key: 'flood', weight: 1, seqs: range(1, 10) }], free({ slots: 3 }), 16, 1)).toEqual([
      1, 2, 3,
    ]);
  });

  it('holds back at most a quarter of the capacity however many keys were seen', () => {
    const fair = new FairScheduler();
    for (const key of ['q1', 'q2', 'q3', 'q4', 'q5']) fair.seen(key, 0);
    makeBusy(fair, 'flood');
    // capacity 8 → at most 2 kept back: 8 of 10 tokens and slots are used.
    const picked = fair.pick(
      [{ key: 'flood', weight: 1, seqs: range(1, 20) }],
      free({ slots: 10, tokens: 10 }),
      8,
      0,
    );
    expect(picked).toEqual(range(1, 8));
  });

  it('keeps one token of a busy key for a key never seen before, but not a slot', () => {
    const backlog: ReadyKey = { key: 'only', weight: 1, seqs: range(1, 20) };
    const busy = () => {
      const fair = new FairScheduler();
      makeBusy(fair, 'only');
      return fair;
    };
    // Token-bound: one of two tokens is left unused.
    expect(busy().pick([backlog], free({ slots: 10, tokens: 2 }), 4, 0)).toEqual([1]);
    // Slot-bound with plenty of tokens: every slot is used.
    expect(busy().pick([backlog], free({ slots: 3, tokens: 100 }), 4, 0)).toEqual([1, 2, 3]);
  });

  it('lets a key that was idle use the headroom on its turn, and holds it back once it is busy', () => {
    const fair = new FairScheduler();
    const burst: ReadyKey = { key: 'new', weight: 1, seqs: range(1, 10) };
    // Never seen: idle, so its first turn may take every token.
    expect(fair.pick([burst], free({ tokens: 3 }), 16, 0)).toEqual([1, 2, 3]);
    // It still had work pending after that turn: busy now, so it leaves the newcomer token.
    expect(fair.pick([{ ...burst, seqs: range(4, 10) }], free({ tokens: 3 }), 16, 1)).toEqual([4, 5]);
    // While busy, its next task does not get the last token.
    expect(fair.pick([{ ...burst, seqs: range(6, 10) }], free({ tokens: 1 }), 16, 2)).toEqual([]);
    // Drained to nothing pending: idle again, and may use the headroom on its next arrival.
    expect(fair.pick([{ ...burst, seqs: range(6, 10) }], free({ tokens: 100 }), 16, 3)).toEqual(range(6, 10));
    expect(fair.pick([{ ...burst, seqs: [11] }], free({ tokens: 1 }), 16, 4)).toEqual([11]);
    expect(fair.pick([{ ...burst, seqs: [12] }], free({ tokens: 1 }), 16, 5)).toEqual([12]);
  });

  it('keeps nothing back in a queue with capacity under 4', () => {
    const backlog: ReadyKey = { key: 'only', weight: 1, seqs: range(1, 20) };
    expect(new FairScheduler().pick([backlog], free({ slots: 10, tokens: 2 }), 3, 0)).toEqual([1, 2]);

    const fair = new FairScheduler();
    fair.seen('quiet', 0);
    expect(fair.pick([backlog], free({ slots: 3, tokens: 3 }), 3, 0)).toEqual([1, 2, 3]);
  });

  it('never holds a ready key back for another ready key', () => {
    const fair = new FairScheduler();
    fair.seen('b', 0);
    // b was seen recently, but it has ready work: no slot is kept back for it (3 slots, 3 picks).
    const picked = fair.pick(
      [
        { key: 'a', weight: 1, seqs: range(1, 10) },
        { key: 'b', weight: 1, seqs: range(11, 20) },
      ],
      free({ slots: 3, tokens: 100 }),
      16,
      0,
    );
    expect(picked).toEqual([1, 11, 2]);
  });
});

describe('FairScheduler: memory', () => {
  it('forgets keys not seen for longer than memoryMs', () => {
    const fair = new FairScheduler({ memoryMs: 1000 });
    for (let i = 0; i < 50; i++) fair.seen(`old-${i}`, 0);
    expect(fair.size).toBe(50);
    // Within memoryMs, they count as recently active and are kept.
    fair.pick([{ key: 'live', weight: 1, seqs: [1] }], free(), 2, 1000);
    expect(fair.size).toBe(51);
    // Past memoryMs: forgotten.
    fair.pick([{ key: 'live', weight: 1, seqs: [2] }], free(), 2, 2001);
    expect(fair.size).toBe(1);
  });

  it('forgets a stream of one-task keys once they have been idle memoryMs, though each is a turn ahead', () => {
    const fair = new FairScheduler({ memoryMs: 1000 });
    for (let i = 0; i < 5000; i++)
      fair.pick([{ key: `k${i}`, weight: 1, seqs: [i] }], free({ slots: 1 }), 2, i * 100);
    // Only the keys seen in the last second are remembered.
    expect(fair.size).toBeLessThanOrEqual(11);
  });
});

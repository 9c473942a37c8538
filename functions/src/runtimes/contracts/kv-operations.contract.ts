/**
 * The named kv operations' contract: each operation's Lua script (on Redis,
 * through Upstash) and its memory version must give the same answers and
 * leave the same state. Run by `kv.contract.test.ts` against both adapters.
 *
 * Leases are scored with the `now` passed in, so expiry is tested by passing
 * a later `now`: no waiting, and the same on a manual clock and on Redis.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError, PermanentError } from '../../platform/errors.js';
import { acquireSlots, countSlots, releaseSlots, type SlotDimension } from '../../platform/kv-slots.js';
import {
  type AimdObservation,
  type AimdPolicy,
  type AimdState,
  initialAimd,
  observeAimd,
} from '../../platform/pool/aimd.js';
import {
  addToCounters,
  observeAimd as aimdOperation,
  settleStep,
} from '../../platform/pool/kv-operations.js';
import type { KeyValueStore } from '../../platform/ports.js';
import { giveBackTurn, takeTurn } from '../firebase/pacing.js';
import type { KvContractSubject } from './kv.contract.js';

const T0 = Date.UTC(2026, 0, 1);
/** Long enough that no key's own TTL runs out during a test on real Redis. */
const LEASE_MS = 60_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface AimdCase {
  name: string;
  policy: AimdPolicy;
  /** Stored before the first observation (raw text); absent: no state yet. */
  stored?: string;
  seen: Array<[latencyMs: number, rateLimited?: boolean]>;
}

const fixed: AimdPolicy = { min: 1, max: 8, targetLatencyMs: 100, window: 3 };
const adaptive: AimdPolicy = { min: 1, max: 8, window: 3 };
const queue: AimdPolicy = { min: 1, max: 10, targetLatencyMs: Number.POSITIVE_INFINITY, window: 2 };

/** Sequences chosen to pass through every branch of `observeAimd`, with awkward numbers. */
const AIMD_CASES: AimdCase[] = [
  {
    name: 'fixed target: slow, overloaded, 429, then healthy steps climb back',
    policy: fixed,
    seen: [[50], [150], [250], [50, true], [40], [60], [70], [99.5], [100], [100.4], [201], [1], [1], [1]],
  },
  {
    name: 'fixed target from a stored lower limit: increases one window at a time up to max',
    policy: fixed,
    stored: JSON.stringify({ limit: 2, healthy: 1 }),
    seen: Array.from({ length: 22 }, () => [10] as [number]),
  },
  {
    name: 'adaptive target: the EWMA (rounded to one decimal) sets the target after `window` samples',
    policy: adaptive,
    seen: [
      [100],
      [120.37],
      [95.55],
      [101],
      [400],
      [401],
      [900],
      [33.333],
      [0.05],
      [0.15],
      [2.25],
      [1234.5678],
    ],
  },
  {
    name: 'adaptive target: a 429 leaves the average alone; reasons round halves up',
    policy: adaptive,
    stored: JSON.stringify({ limit: 6, healthy: 2, avgMs: 62.25, samples: 5 }),
    seen: [[10, true], [250.5], [62.25], [124.5], [124.6], [500, true], [0], [0], [0]],
  },
  {
    name: 'adaptive target with a floor: millisecond latencies never halve it; past twice the floor does',
    policy: { min: 2, max: 8, window: 3, floorMs: 100 },
    seen: [[2], [2.5], [1.75], [4], [9], [30], [150], [201], [250.5, true], [99], [2], [2], [2]],
  },
  {
    name: 'an infinite target (the queues): only 429s decrease, healthy steps increase',
    policy: queue,
    stored: JSON.stringify({ limit: 5, healthy: 0 }),
    seen: [[1e6], [2], [3], [4], [5, true], [5, true], [5, true], [5, true], [7], [8]],
  },
  {
    name: 'at the maximum healthy is capped at window and nothing changes',
    policy: { min: 2, max: 4, targetLatencyMs: 100, window: 2 },
    seen: [[1], [1], [1], [1], [1]],
  },
  {
    name: 'a stored limit outside [min, max] is clamped first',
    policy: { min: 2, max: 4, targetLatencyMs: 100, window: 2 },
    stored: JSON.stringify({ limit: 0, healthy: 7 }),
    seen: [[1], [1000], [1], [1], [1]],
  },
  {
    name: 'a stored limit above max is clamped and halved from max',
    policy: { min: 1, max: 6, window: 1 },
    stored: JSON.stringify({ limit: 50, healthy: 0, avgMs: 10, samples: 3 }),
    seen: [[21], [41], [1], [1]],
  },
  {
    name: 'an unreadable stored state counts as none',
    policy: fixed,
    stored: 'not json',
    seen: [[50, true], [50]],
  },
  {
    name: 'a stored state without numeric fields counts as none; a bad average is dropped',
    policy: adaptive,
    stored: JSON.stringify({ limit: '3', healthy: 0 }),
    seen: [[50]],
  },
  {
    name: 'a malformed average alone is dropped, the rest kept',
    policy: adaptive,
    stored: JSON.stringify({ limit: 3, healthy: 1, avgMs: 'fast', samples: 9 }),
    seen: [[50], [51], [52], [1000]],
  },
];

function storedState(raw: string | undefined): AimdState | undefined {
  if (raw === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value !== 'object' || value === null) return undefined;
    const { limit, healthy, avgMs, samples } = value as Record<string, unknown>;
    if (typeof limit !== 'number' || typeof healthy !== 'number') return undefined;
    return {
      limit,
      healthy,
      ...(typeof avgMs === 'number' ? { avgMs } : {}),
      ...(typeof samples === 'number' ? { samples } : {}),
    };
  } catch {
    return undefined;
  }
}

export function describeKvOperationsContract(name: string, setup: () => Promise<KvContractSubject>): void {
  describe(`kv operations contract: ${name}`, () => {
    let subject: KvContractSubject | undefined;
    let kv: KeyValueStore;
    const run = Math.random().toString(36).slice(2, 8);
    let testIndex = 0;
    let prefix = '';
    const key = (suffix: string) => `${prefix}:${suffix}`;
    const dims = (...limits: number[]): SlotDimension[] =>
      limits.map((limit, i) => ({ key: key(`slot${i}`), limit }));
    const acquire = (dimensions: SlotDimension[], holder: string, now = T0, ttlMs = LEASE_MS) =>
      kv.run(acquireSlots, { dimensions, holder, ttlMs, now });
    const count = (dimension: SlotDimension | undefined, now = T0) =>
      kv.run(countSlots, { key: dimension?.key ?? '', now });
    /** Frees the holder's slots in `dimensions` and pops a waiter of each, observing nothing. */
    const settlePopping = (dimensions: SlotDimension[], holder: string) =>
      kv.run(settleStep, { keys: dimensions.map((d) => d.key), holder, observations: [], pop: true });

    beforeEach(async () => {
      subject = await setup();
      kv = subject.kv;
      testIndex += 1;
      prefix = `ops:${run}:${testIndex}`;
    });
    afterEach(async () => {
      await subject?.teardown();
      subject = undefined;
    });

    it('never lets more holders in than the limit: 50 concurrent acquirers', async () => {
      const limit = 5;
      const dimensions = dims(limit, 50);
      const firstWave = await Promise.all(Array.from({ length: 50 }, (_, i) => acquire(dimensions, `h${i}`)));
      expect(firstWave.filter((r) => r.ok)).toHaveLength(limit);
      expect(firstWave.filter((r) => !r.ok)).toEqual(
        Array(50 - limit).fill({ ok: false, refused: 0, woken: [] }),
      );
      expect(await count(dimensions[0])).toBe(limit);
      expect(await count(dimensions[1])).toBe(limit);
      await Promise.all(
        firstWave.map((r, i) =>
          r.ok ? kv.run(releaseSlots, { keys: dimensions.map((d) => d.key), holder: `h${i}` }) : null,
        ),
      );
      expect(await count(dimensions[0])).toBe(0);

      // Churn: each of 50 takes a slot, holds it a moment, gives it back; the most held at once is counted.
      let held = 0;
      let most = 0;
      await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const holder = `churn${i}`;
          while (!(await acquire(dimensions, holder)).ok) await sleep(1);
          held += 1;
          most = Math.max(most, held);
          await sleep(2);
          held -= 1;
          expect(await kv.run(releaseSlots, { keys: dimensions.map((d) => d.key), holder })).toBe(2);
        }),
      );
      expect(most).toBeGreaterThan(0);
      expect(most).toBeLessThanOrEqual(limit);
      expect(await count(dimensions[0])).toBe(0);
    });

    it('an expired lease frees its slot at its expiry, not before', async () => {
      const dimensions = dims(1);
      expect(await acquire(dimensions, 'a', T0, 1_000)).toEqual({ ok: true });
      expect(await acquire(dimensions, 'b', T0 + 999)).toEqual({ ok: false, refused: 0, woken: [] });
      expect(await count(dimensions[0], T0 + 999)).toBe(1);
      expect(await count(dimensions[0], T0 + 1_000)).toBe(0);
      expect(await acquire(dimensions, 'b', T0 + 1_000)).toEqual({ ok: true });
      expect(await acquire(dimensions, 'a', T0 + 1_000)).toEqual({ ok: false, refused: 0, woken: [] });
    });

    it('keeps each slot key alive at least as long as the lease it holds', async () => {
      const dimensions = dims(3, 3);
      await acquire(dimensions, 'a', T0, LEASE_MS);
      for (const d of dimensions) expect(await kv.ttl(d.key)).toBeGreaterThan(LEASE_MS - 5_000);
      await acquire(dimensions, 'b', T0, 1_000);
      // A shorter lease never shortens the key's life below a longer one's.
      for (const d of dimensions) expect(await kv.ttl(d.key)).toBeGreaterThan(LEASE_MS - 5_000);
    });

    it('re-acquiring what a holder already holds answers ok, takes no second slot, and renews the lease', async () => {
      const dimensions = dims(1, 1);
      expect(await acquire(dimensions, 'a', T0, 1_000)).toEqual({ ok: true });
      expect(await acquire(dimensions, 'a', T0 + 500, 1_000)).toEqual({ ok: true });
      expect(await count(dimensions[0], T0 + 500)).toBe(1);
      expect(await acquire(dimensions, 'b', T0 + 1_200)).toEqual({ ok: false, refused: 0, woken: [] });
      // A shorter repeat never shortens it.
      expect(await acquire(dimensions, 'a', T0 + 1_200, 10)).toEqual({ ok: true });
      expect(await acquire(dimensions, 'b', T0 + 1_499)).toEqual({ ok: false, refused: 0, woken: [] });
      expect(await acquire(dimensions, 'b', T0 + 1_500)).toEqual({ ok: true });
    });

    it('a holder holding some dimensions already takes the rest if they have room', async () => {
      const [first, second] = dims(1, 1);
      if (first === undefined || second === undefined) throw new Error('two dimensions expected');
      expect(await acquire([first], 'a')).toEqual({ ok: true });
      expect(await acquire([first, second], 'a')).toEqual({ ok: true });
      expect(await count(second)).toBe(1);
      expect(await acquire([second], 'b')).toEqual({ ok: false, refused: 0, woken: [] });
    });

    it('a refusal names the first full dimension and takes nothing anywhere', async () => {
      const dimensions = dims(3, 1, 3);
      expect(await acquire([dimensions[1] as SlotDimension], 'x')).toEqual({ ok: true });
      expect(await acquire(dimensions, 'a')).toEqual({ ok: false, refused: 1, woken: [] });
      expect(await count(dimensions[0])).toBe(0);
      expect(await count(dimensions[1])).toBe(1);
      expect(await count(dimensions[2])).toBe(0);
      expect(await kv.run(releaseSlots, { keys: dimensions.map((d) => d.key), holder: 'a' })).toBe(0);
    });

    it('a limit of 0 refuses everyone; an infinite one no one', async () => {
      const dimensions = dims(5, 0);
      expect(await acquire(dimensions, 'a')).toEqual({ ok: false, refused: 1, woken: [] });
      expect(await count(dimensions[0])).toBe(0);
      const unlimited = dims(Number.POSITIVE_INFINITY);
      for (const holder of ['a', 'b', 'c']) expect(await acquire(unlimited, holder)).toEqual({ ok: true });
      expect(await count(unlimited[0])).toBe(3);
    });

    it('release frees only the holder’s own slots and answers how many it held', async () => {
      const dimensions = dims(2, 2, 2);
      const keys = dimensions.map((d) => d.key);
      await acquire(dimensions, 'a');
      await acquire(dimensions, 'b');
      expect(await kv.run(releaseSlots, { keys, holder: 'a' })).toBe(3);
      expect(await kv.run(releaseSlots, { keys, holder: 'a' })).toBe(0);
      for (const d of dimensions) expect(await count(d)).toBe(1);
      expect(await kv.run(releaseSlots, { keys: [], holder: 'b' })).toBe(0);
    });

    it('a late release cannot free a slot re-taken after its lease expired', async () => {
      const dimensions = dims(1);
      const keys = dimensions.map((d) => d.key);
      await acquire(dimensions, 'a', T0, 100);
      expect(await acquire(dimensions, 'b', T0 + 200)).toEqual({ ok: true });
      expect(await kv.run(releaseSlots, { keys, holder: 'a' })).toBe(0);
      expect(await count(dimensions[0], T0 + 200)).toBe(1);
      expect(await acquire(dimensions, 'c', T0 + 200)).toEqual({ ok: false, refused: 0, woken: [] });
    });

    it('limitFrom lowers a limit from the JSON state it names, and never raises it', async () => {
      const state = key('aimd');
      const dimension = (limit: number): SlotDimension[] => [
        { key: key(`slot-${limit}`), limit, limitFrom: { key: state } },
      ];
      await kv.set(state, JSON.stringify({ limit: 1, healthy: 0 }));
      expect(await acquire(dimension(5), 'a')).toEqual({ ok: true });
      expect(await acquire(dimension(5), 'b')).toEqual({ ok: false, refused: 0, woken: [] });
      await kv.set(state, JSON.stringify({ limit: 9, healthy: 0 }));
      expect(await acquire(dimension(1), 'a')).toEqual({ ok: true });
      expect(await acquire(dimension(1), 'b')).toEqual({ ok: false, refused: 0, woken: [] });
      await kv.set(state, JSON.stringify({ limit: 0 }));
      expect(await acquire(dimension(3), 'a')).toEqual({ ok: false, refused: 0, woken: [] });
    });

    it('limitFrom leaves the limit alone when the state is missing or has no valid limit', async () => {
      const state = key('aimd');
      const dimensions: SlotDimension[] = [{ key: key('slot'), limit: 2, limitFrom: { key: state } }];
      for (const [holder, stored] of [
        ['a', undefined],
        ['b', 'not json'],
        ['c', JSON.stringify({ limit: -1 })],
        ['d', JSON.stringify({ limit: '1' })],
        ['e', JSON.stringify([1])],
      ] as const) {
        if (stored !== undefined) await kv.set(state, stored);
        await kv.run(releaseSlots, { keys: [key('slot')], holder: 'other' });
        expect(await acquire(dimensions, 'other')).toEqual({ ok: true });
        expect(await acquire(dimensions, holder)).toEqual({ ok: true });
        expect(await kv.run(releaseSlots, { keys: [key('slot')], holder })).toBe(1);
      }
    });

    it('refuses invalid arguments with InvalidInputError before touching anything', async () => {
      await expect(acquire([], 'a')).rejects.toBeInstanceOf(InvalidInputError);
      await expect(acquire(dims(1), '')).rejects.toBeInstanceOf(InvalidInputError);
      await expect(acquire(dims(1), 'a', T0, 0)).rejects.toBeInstanceOf(InvalidInputError);
      await expect(acquire(dims(-1), 'a')).rejects.toBeInstanceOf(InvalidInputError);
      await expect(acquire(dims(1), 'a', 1.5)).rejects.toBeInstanceOf(InvalidInputError);
      await expect(
        kv.run(aimdOperation, {
          key: key('aimd'),
          policy: { ...fixed, min: 9 },
          latencyMs: 1,
          rateLimited: false,
        }),
      ).rejects.toBeInstanceOf(InvalidInputError);
      await expect(
        kv.run(aimdOperation, { key: key('aimd'), policy: fixed, latencyMs: -1, rateLimited: false }),
      ).rejects.toBeInstanceOf(InvalidInputError);
      expect(await count(dims(1)[0])).toBe(0);
      expect(await kv.get(key('aimd'))).toBeNull();
    });

    it('a slot key holding a string, or a string read of a slot key, fails as PermanentError', async () => {
      await kv.set(key('slot0'), 'a string');
      await expect(acquire(dims(1), 'a')).rejects.toBeInstanceOf(PermanentError);
      expect(await kv.get(key('slot0'))).toBe('a string');
      const dimensions = [{ key: key('zset'), limit: 1 }];
      await acquire(dimensions, 'a');
      await expect(kv.get(key('zset'))).rejects.toBeInstanceOf(PermanentError);
      expect(await kv.mget([key('zset')])).toEqual([null]);
    });

    for (const c of AIMD_CASES) {
      it(`observeAimd gives exactly aimd.ts's answers: ${c.name}`, async () => {
        const at = key('aimd');
        if (c.stored !== undefined) await kv.set(at, c.stored);
        let state = storedState(c.stored) ?? initialAimd(c.policy);
        for (const [latencyMs, rateLimited = false] of c.seen) {
          const seen: AimdObservation = { latencyMs, rateLimited };
          const expected = observeAimd(c.policy, state, seen);
          const got = await kv.run(aimdOperation, { key: at, policy: c.policy, ...seen });
          expect({ seen, ...got }).toEqual({ seen, ...expected });
          state = expected.state;
        }
        const stored = await kv.get(at);
        expect(storedState(stored ?? undefined) ?? initialAimd(c.policy)).toEqual(state);
      });
    }

    it('observeAimd writes nothing when the state does not change', async () => {
      const at = key('aimd');
      const policy: AimdPolicy = { min: 1, max: 4, targetLatencyMs: 100, window: 2 };
      await kv.run(aimdOperation, { key: at, policy, latencyMs: 1, rateLimited: false });
      await kv.run(aimdOperation, { key: at, policy, latencyMs: 1, rateLimited: false });
      const capped = await kv.get(at);
      expect(storedState(capped ?? undefined)).toEqual({ limit: 4, healthy: 2 });
      await kv.set(at, capped ?? '', { ttlMs: LEASE_MS });
      await kv.run(aimdOperation, { key: at, policy, latencyMs: 1, rateLimited: false });
      // Still the same value with its expiry: a write would have dropped it.
      expect(await kv.ttl(at)).toBeGreaterThan(LEASE_MS - 5_000);
    });

    it('addToCounters adds to each counter, gives a counter it creates its TTL, and leaves an existing one’s', async () => {
      await kv.incr(key('old'), 5, { ttlMs: LEASE_MS });
      await kv.incr(key('forever'), 1);
      const values = await kv.run(addToCounters, {
        counters: [
          { key: key('old'), by: 2, ttlMs: 1_000 },
          { key: key('new'), by: 1, ttlMs: 1_000 },
          { key: key('forever'), by: -3 },
        ],
      });
      expect(values).toEqual([7, 1, -2]);
      expect(await kv.mget([key('old'), key('new'), key('forever')])).toEqual(['7', '1', '-2']);
      expect(await kv.ttl(key('old'))).toBeGreaterThan(1_000);
      expect(await kv.ttl(key('new'))).toBeLessThanOrEqual(1_000);
      expect(await kv.ttl(key('new'))).toBeGreaterThan(0);
      expect(await kv.ttl(key('forever'))).toBeNull();
    });

    it('settleStep frees the holder’s slots and feeds each controller, as releaseSlots and observeAimd would', async () => {
      const dimensions = dims(2, 2, 2);
      await acquire(dimensions, 'a');
      await acquire(dimensions, 'b');
      const kind = { key: key('aimd-kind'), policy: { min: 1, max: 8, window: 2 } };
      const queue = {
        key: key('aimd-queue'),
        policy: { min: 1, max: 10, targetLatencyMs: Infinity, window: 20 },
      };
      await kv.set(kind.key, JSON.stringify({ limit: 6, healthy: 1, avgMs: 50, samples: 3 }));
      const seen = { latencyMs: 400, rateLimited: false };
      const settled = await kv.run(settleStep, {
        keys: dimensions.map((d) => d.key),
        holder: 'a',
        observations: [
          { ...kind, ...seen },
          { ...queue, ...seen },
        ],
      });
      expect(settled.released).toBe(3);
      expect(settled.decisions).toEqual([
        observeAimd(kind.policy, { limit: 6, healthy: 1, avgMs: 50, samples: 3 }, seen),
        observeAimd(queue.policy, initialAimd(queue.policy), seen),
      ]);
      expect(settled.decisions[0]?.change).toEqual({
        from: 6,
        to: 3,
        reason: 'latency 400 ms over twice the 100 ms target',
      });
      expect(await Promise.all(dimensions.map((d) => count(d)))).toEqual([1, 1, 1]);
      expect(storedState((await kv.get(kind.key)) ?? undefined)?.limit).toBe(3);
      // Nothing to observe (a cache hit): only the slots go.
      expect(
        await kv.run(settleStep, { keys: dimensions.map((d) => d.key), holder: 'b', observations: [] }),
      ).toEqual({
        released: 3,
        decisions: [],
        woken: [],
      });
    });

    it('a refusal with `wait` joins the refusing dimension’s waiting list, and nothing else', async () => {
      const dimensions = dims(3, 1);
      expect(await acquire([dimensions[1] as SlotDimension], 'x')).toEqual({ ok: true });
      const wait = (member: string, score: number) => ({ member, score, ttlMs: LEASE_MS });
      const take = (holder: string, w: ReturnType<typeof wait>) =>
        kv.run(acquireSlots, { dimensions, holder, ttlMs: LEASE_MS, now: T0, wait: w });
      expect(await take('a', wait('late', 20))).toEqual({ ok: false, refused: 1, woken: [] });
      expect(await take('b', wait('early', 10))).toEqual({ ok: false, refused: 1, woken: [] });
      expect(await take('a', wait('late', 20))).toEqual({ ok: false, refused: 1, woken: [] }); // asking again: still one entry
      // A release with `pop` takes the lowest score first, one per freed key; the list on the other key is empty.
      const first = await settlePopping(dimensions, 'x');
      expect(first).toEqual({ released: 1, decisions: [], woken: ['early'] });
      const second = await settlePopping(dimensions, 'x');
      expect(second).toEqual({ released: 0, decisions: [], woken: ['late'] });
      const none = await settlePopping(dimensions, 'x');
      expect(none.woken).toEqual([]);
      // Granted, `wait` joins nothing.
      expect(await take('c', wait('granted', 1))).toEqual({ ok: true });
      const after = await settlePopping(dimensions, 'c');
      expect(after).toEqual({ released: 2, decisions: [], woken: [] });
    });

    it('a `claim` still waiting leaves the list and acquires; one already popped is unclaimed and takes nothing', async () => {
      const dimensions = dims(1, 5);
      expect(await acquire(dimensions, 'x')).toEqual({ ok: true });
      const wait = { member: 'm1', score: 1, ttlMs: LEASE_MS };
      expect(await kv.run(acquireSlots, { dimensions, holder: 'a', ttlMs: LEASE_MS, now: T0, wait })).toEqual(
        { ok: false, refused: 0, woken: [] },
      );
      // Still waiting, and the slot still taken: the claim leaves the list, and is refused (and waits again).
      const again = {
        dimensions,
        holder: 'a',
        ttlMs: LEASE_MS,
        now: T0,
        claim: 'm1',
        wait: { ...wait, member: 'm2' },
      };
      expect(await kv.run(acquireSlots, again)).toEqual({ ok: false, refused: 0, woken: [] });
      // m1 is gone from the list; m2 waits. Popped by a release, m2's claim is unclaimed and takes nothing.
      const popped = await settlePopping(dimensions, 'x');
      expect(popped.woken).toEqual(['m2']);
      expect(
        await kv.run(acquireSlots, { dimensions, holder: 'a', ttlMs: LEASE_MS, now: T0, claim: 'm2' }),
      ).toEqual({
        ok: false,
        unclaimed: true,
      });
      expect(await count(dimensions[0])).toBe(0);
      expect(await count(dimensions[1])).toBe(0);
      // A claim still in a list, with room: leaves the list and takes its slots.
      await kv.run(acquireSlots, {
        dimensions,
        holder: 'x',
        ttlMs: LEASE_MS,
        now: T0,
        wait: { ...wait, member: 'm3' },
      });
      await kv.run(acquireSlots, { dimensions, holder: 'y', ttlMs: LEASE_MS, now: T0 }); // no-op: dims(1) taken by x
      expect(
        await kv.run(acquireSlots, {
          dimensions,
          holder: 'b',
          ttlMs: LEASE_MS,
          now: T0,
          wait: { ...wait, member: 'm3' },
        }),
      ).toEqual({ ok: false, refused: 0, woken: [] });
      await kv.run(releaseSlots, { keys: dimensions.map((d) => d.key), holder: 'x' });
      expect(
        await kv.run(acquireSlots, { dimensions, holder: 'b', ttlMs: LEASE_MS, now: T0, claim: 'm3' }),
      ).toEqual({ ok: true });
      const empty = await settlePopping(dimensions, 'b');
      expect(empty).toEqual({ released: 2, decisions: [], woken: [] });
    });

    it('takeTurn hands out a key’s turns an interval apart, restarts a key behind the clock, and keeps it alive', async () => {
      const pace = key('pace');
      const turn = (now: number, intervalMs = 20) =>
        kv.run(takeTurn, { key: pace, intervalMs, now, ttlMs: 60_000 });
      expect(await turn(T0)).toBe(T0); // a new key goes now
      expect(await turn(T0)).toBe(T0 + 20);
      expect(await turn(T0 + 5)).toBe(T0 + 40);
      // Fallen behind (idle): it saves up no turns, and starts again from now.
      expect(await turn(T0 + 10_000)).toBe(T0 + 10_000);
      expect(await turn(T0 + 10_000, 50)).toBe(T0 + 10_020);
      const ttl = await kv.ttl(pace);
      expect(ttl).toBeGreaterThan(50_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
      // Concurrent turns of one key are all different, an interval apart.
      const fresh = key('pace-many');
      const many = await Promise.all(
        Array.from({ length: 20 }, () =>
          kv.run(takeTurn, { key: fresh, intervalMs: 10, now: T0, ttlMs: 60_000 }),
        ),
      );
      expect([...many].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => T0 + 10 * i));
    });

    it('a refusal with `wait` passes on the wakes of the dimensions before it: each has room, so its first waiter goes', async () => {
      const dimensions = dims(5, 1);
      const waitOn = (member: string) => ({ member, score: 1, ttlMs: LEASE_MS });
      // w1 waits on dimension 0 (full then), and x holds dimension 1.
      const first = dims(1)[0] as SlotDimension;
      expect(await acquire([first], 'y')).toEqual({ ok: true });
      const onFirst = [first, ...(dimensions.slice(1) as SlotDimension[])];
      expect(
        await kv.run(acquireSlots, {
          dimensions: [first],
          holder: 'w',
          ttlMs: LEASE_MS,
          now: T0,
          wait: waitOn('w1'),
        }),
      ).toEqual({ ok: false, refused: 0, woken: [] });
      await kv.run(releaseSlots, { keys: [first.key], holder: 'y' });
      expect(await acquire([dimensions[1] as SlotDimension], 'x')).toEqual({ ok: true });
      // Refused at dimension 1, with dimension 0 now free: w1's wake is passed on, and the refused one waits on 1.
      expect(
        await kv.run(acquireSlots, {
          dimensions: onFirst,
          holder: 'a',
          ttlMs: LEASE_MS,
          now: T0,
          wait: waitOn('a1'),
        }),
      ).toEqual({ ok: false, refused: 1, woken: ['w1'] });
      expect(
        await kv.run(settleStep, {
          keys: [dimensions[1]?.key ?? ''],
          holder: 'x',
          observations: [],
          pop: true,
        }),
      ).toEqual({ released: 1, decisions: [], woken: ['a1'] });
    });

    it('an acquire with `wait` that succeeds leaves every waiting list: an earlier refusal’s entry cannot wake it again', async () => {
      const dimensions = dims(1, 5);
      const waitOn = { member: 'm1', score: 1, ttlMs: LEASE_MS };
      expect(await acquire(dimensions, 'x')).toEqual({ ok: true });
      expect(
        await kv.run(acquireSlots, { dimensions, holder: 'a', ttlMs: LEASE_MS, now: T0, wait: waitOn }),
      ).toEqual({ ok: false, refused: 0, woken: [] });
      await kv.run(releaseSlots, { keys: dimensions.map((d) => d.key), holder: 'x' });
      // The same task asks again (its copy was never enqueued, say) and gets its slots: m1 leaves the list.
      expect(
        await kv.run(acquireSlots, { dimensions, holder: 'a', ttlMs: LEASE_MS, now: T0, wait: waitOn }),
      ).toEqual({ ok: true });
      expect((await settlePopping(dimensions, 'a')).woken).toEqual([]);
    });

    it('giveBackTurn moves a key back to the turn it gave, only while no later turn was taken, keeping its expiry', async () => {
      const pace = key('pace-back');
      const turn = (now: number) => kv.run(takeTurn, { key: pace, intervalMs: 20, now, ttlMs: 60_000 });
      const back = (at: number) => kv.run(giveBackTurn, { key: pace, at, intervalMs: 20 });
      expect(await turn(T0)).toBe(T0);
      expect(await turn(T0)).toBe(T0 + 20);
      expect(await back(T0 + 20)).toBe(true);
      expect(await turn(T0)).toBe(T0 + 20); // the turn given back is handed out again
      expect(await turn(T0)).toBe(T0 + 40);
      expect(await back(T0 + 20)).toBe(false); // a later turn was taken: nothing changes
      expect(await turn(T0)).toBe(T0 + 60);
      const ttl = await kv.ttl(pace);
      expect(ttl).toBeGreaterThan(50_000);
      expect(await kv.run(giveBackTurn, { key: key('pace-none'), at: T0, intervalMs: 20 })).toBe(false);
    });
  });
}

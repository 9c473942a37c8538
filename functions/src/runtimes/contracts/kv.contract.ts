/**
 * The kv port's contract: one suite every adapter must pass, so the embedded
 * runtime and the firebase runtime (Upstash) cannot drift apart. It pins the
 * Redis semantics the cache, sessions, rate limits and quotas rely on.
 *
 * Time: an adapter on a fake clock passes `advance`; one on a real server
 * (Redis) leaves it out and the suite waits out short real TTLs instead.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../platform/errors.js';
import type { KeyValueStore } from '../../platform/ports.js';

export interface KvContractSubject {
  kv: KeyValueStore;
  /** Moves the adapter's clock forward; without it the suite sleeps for real. */
  advance?(ms: number): Promise<void> | void;
  teardown(): Promise<void>;
}

/** Short enough to keep the suite fast on real Redis, long enough to outlast an HTTP round trip. */
const SHORT_TTL_MS = 150;
/** Waited after a SHORT_TTL_MS key should have expired: Redis expiry has millisecond precision. */
const PAST_SHORT_TTL_MS = 250;
/** Long enough never to expire during a test, for asserting what `ttl()` reports. */
const LONG_TTL_MS = 60_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function describeKvContract(name: string, setup: () => Promise<KvContractSubject>): void {
  describe(`KeyValueStore contract: ${name}`, () => {
    let subject: KvContractSubject | undefined;
    let kv: KeyValueStore;
    // Keys are unique per test so a shared real Redis needs no flushing between tests.
    const run = Math.random().toString(36).slice(2, 8);
    let testIndex = 0;
    let prefix = '';
    const key = (suffix: string) => `${prefix}:${suffix}`;
    const elapse = async (ms: number) => {
      if (subject?.advance) await subject.advance(ms);
      else await sleep(ms);
    };

    beforeEach(async () => {
      subject = await setup();
      kv = subject.kv;
      testIndex += 1;
      prefix = `contract:${run}:${testIndex}`;
    });
    afterEach(async () => {
      await subject?.teardown();
      subject = undefined;
    });

    it('gets what was set, null for a missing key, and overwrites', async () => {
      expect(await kv.get(key('missing'))).toBeNull();
      expect(await kv.set(key('a'), 'one')).toBe(true);
      expect(await kv.get(key('a'))).toBe('one');
      expect(await kv.set(key('a'), 'two')).toBe(true);
      expect(await kv.get(key('a'))).toBe('two');
    });

    it('keeps values as opaque strings: numbers, JSON and the empty string come back unchanged', async () => {
      for (const [suffix, value] of [
        ['num', '123'],
        ['padded', '007'],
        ['json', '{"a":[1,2]}'],
        ['quoted', '"x"'],
        ['empty', ''],
        ['ok', 'OK'],
      ] as const) {
        await kv.set(key(suffix), value);
        expect(await kv.get(key(suffix))).toBe(value);
      }
    });

    it('deletes, reporting whether the key existed', async () => {
      await kv.set(key('a'), 'v');
      expect(await kv.del(key('a'))).toBe(true);
      expect(await kv.get(key('a'))).toBeNull();
      expect(await kv.del(key('a'))).toBe(false);
    });

    it('delIfEquals deletes a key that holds exactly the value', async () => {
      await kv.set(key('lease'), 'holder-1', { ttlMs: LONG_TTL_MS });
      expect(await kv.delIfEquals(key('lease'), 'holder-1')).toBe(true);
      expect(await kv.get(key('lease'))).toBeNull();
      expect(await kv.delIfEquals(key('lease'), 'holder-1')).toBe(false);
    });

    it('delIfEquals refuses a key that holds another value and keeps it, expiry included', async () => {
      await kv.set(key('lease'), 'holder-2', { ttlMs: LONG_TTL_MS });
      for (const other of ['holder-1', 'holder-2 ', 'HOLDER-2', '']) {
        expect(await kv.delIfEquals(key('lease'), other)).toBe(false);
      }
      expect(await kv.get(key('lease'))).toBe('holder-2');
      expect(await kv.ttl(key('lease'))).toBeGreaterThan(LONG_TTL_MS - 5_000);
    });

    it('delIfEquals returns false for a missing key, even asked for the empty string', async () => {
      expect(await kv.delIfEquals(key('missing'), 'v')).toBe(false);
      expect(await kv.delIfEquals(key('missing'), '')).toBe(false);
      await kv.set(key('empty'), '');
      expect(await kv.delIfEquals(key('empty'), '')).toBe(true);
      expect(await kv.get(key('empty'))).toBeNull();
    });

    it('delIfEquals treats an expired key as missing: a late holder cannot free a lease re-taken since', async () => {
      await kv.set(key('lease'), 'holder-1', { ttlMs: SHORT_TTL_MS });
      await elapse(PAST_SHORT_TTL_MS);
      expect(await kv.delIfEquals(key('lease'), 'holder-1')).toBe(false);
      expect(await kv.set(key('lease'), 'holder-2', { ifAbsent: true, ttlMs: LONG_TTL_MS })).toBe(true);
      expect(await kv.delIfEquals(key('lease'), 'holder-1')).toBe(false);
      expect(await kv.get(key('lease'))).toBe('holder-2');
    });

    it('delIfEquals is atomic: of 20 concurrent releases by the holder, exactly one deletes', async () => {
      await kv.set(key('lease'), 'holder-1');
      const results = await Promise.all(
        Array.from({ length: 20 }, () => kv.delIfEquals(key('lease'), 'holder-1')),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await kv.get(key('lease'))).toBeNull();
    });

    it('delIfEquals round-trips unicode keys and values byte for byte', async () => {
      const value = 'holder 🚀 ü "quoted" \\ \n';
      await kv.set(key('ключ/🔑'), value);
      expect(await kv.delIfEquals(key('ключ/🔑'), 'holder 🚀 u "quoted" \\ \n')).toBe(false);
      expect(await kv.delIfEquals(key('ключ/🔑'), value)).toBe(true);
      expect(await kv.get(key('ключ/🔑'))).toBeNull();
    });

    it('mgets in order, with null for missing keys, and [] for no keys', async () => {
      await kv.set(key('a'), '1');
      await kv.set(key('c'), '3');
      expect(await kv.mget([key('a'), key('b'), key('c'), key('a')])).toEqual(['1', null, '3', '1']);
      expect(await kv.mget([])).toEqual([]);
    });

    it('ifAbsent sets only a missing key and never overwrites', async () => {
      expect(await kv.set(key('a'), 'first', { ifAbsent: true })).toBe(true);
      expect(await kv.set(key('a'), 'second', { ifAbsent: true })).toBe(false);
      expect(await kv.get(key('a'))).toBe('first');
    });

    it('ifAbsent treats an expired key as absent', async () => {
      await kv.set(key('lock'), 'old', { ttlMs: SHORT_TTL_MS });
      expect(await kv.set(key('lock'), 'new', { ifAbsent: true })).toBe(false);
      await elapse(PAST_SHORT_TTL_MS);
      expect(await kv.set(key('lock'), 'new', { ifAbsent: true, ttlMs: LONG_TTL_MS })).toBe(true);
      expect(await kv.get(key('lock'))).toBe('new');
      expect(await kv.ttl(key('lock'))).toBeGreaterThan(LONG_TTL_MS - 5_000);
    });

    it('expires a key set with ttlMs', async () => {
      await kv.set(key('a'), 'v', { ttlMs: SHORT_TTL_MS });
      expect(await kv.get(key('a'))).toBe('v');
      await elapse(PAST_SHORT_TTL_MS);
      expect(await kv.get(key('a'))).toBeNull();
      expect(await kv.mget([key('a')])).toEqual([null]);
      expect(await kv.ttl(key('a'))).toBeNull();
      expect(await kv.del(key('a'))).toBe(false);
    });

    it('reports the remaining ttl, and null for no expiry or a missing key', async () => {
      await kv.set(key('timed'), 'v', { ttlMs: LONG_TTL_MS });
      const ttl = await kv.ttl(key('timed'));
      expect(ttl).toBeGreaterThan(LONG_TTL_MS - 5_000);
      expect(ttl).toBeLessThanOrEqual(LONG_TTL_MS);
      await kv.set(key('forever'), 'v');
      expect(await kv.ttl(key('forever'))).toBeNull();
      expect(await kv.ttl(key('missing'))).toBeNull();
    });

    it('a plain set drops the previous expiry, as Redis SET does', async () => {
      await kv.set(key('a'), 'v1', { ttlMs: LONG_TTL_MS });
      await kv.set(key('a'), 'v2');
      expect(await kv.ttl(key('a'))).toBeNull();
    });

    it('expire sets a ttl on an existing key and returns false for a missing or expired one', async () => {
      await kv.set(key('a'), 'v');
      expect(await kv.expire(key('a'), LONG_TTL_MS)).toBe(true);
      expect(await kv.ttl(key('a'))).toBeGreaterThan(LONG_TTL_MS - 5_000);
      expect(await kv.expire(key('missing'), LONG_TTL_MS)).toBe(false);
      expect(await kv.get(key('missing'))).toBeNull();
      expect(await kv.expire(key('a'), SHORT_TTL_MS)).toBe(true);
      await elapse(PAST_SHORT_TTL_MS);
      expect(await kv.get(key('a'))).toBeNull();
      expect(await kv.expire(key('a'), LONG_TTL_MS)).toBe(false);
    });

    it('rejects a ttl that is not a positive integer', async () => {
      await expect(kv.set(key('a'), 'v', { ttlMs: 0 })).rejects.toBeInstanceOf(InvalidInputError);
      await expect(kv.set(key('a'), 'v', { ttlMs: 1.5 })).rejects.toBeInstanceOf(InvalidInputError);
      await expect(kv.expire(key('a'), -1)).rejects.toBeInstanceOf(InvalidInputError);
      await expect(kv.incr(key('a'), 1, { ttlMs: 0 })).rejects.toBeInstanceOf(InvalidInputError);
      expect(await kv.get(key('a'))).toBeNull();
    });

    it('incr starts a new key at 0, adds `by`, and stores the number as a string', async () => {
      expect(await kv.incr(key('n'))).toBe(1);
      expect(await kv.incr(key('n'))).toBe(2);
      expect(await kv.incr(key('n'), 10)).toBe(12);
      expect(await kv.incr(key('n'), -13)).toBe(-1);
      expect(await kv.get(key('n'))).toBe('-1');
      expect(await kv.incr(key('m'), 5)).toBe(5);
      await kv.set(key('s'), '41');
      expect(await kv.incr(key('s'))).toBe(42);
    });

    it('incr is atomic: 50 concurrent increments end at exactly 50, each result seen once', async () => {
      const results = await Promise.all(Array.from({ length: 50 }, () => kv.incr(key('n'))));
      expect(await kv.get(key('n'))).toBe('50');
      expect([...results].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    });

    it('incr with ttlMs is atomic under concurrency and leaves one expiry on the counter', async () => {
      const results = await Promise.all(
        Array.from({ length: 50 }, () => kv.incr(key('window'), 1, { ttlMs: LONG_TTL_MS })),
      );
      expect(new Set(results).size).toBe(50);
      expect(await kv.get(key('window'))).toBe('50');
      expect(await kv.ttl(key('window'))).toBeGreaterThan(LONG_TTL_MS - 5_000);
    });

    it('incr with ttlMs sets the ttl only when it creates the key', async () => {
      expect(await kv.incr(key('w'), 1, { ttlMs: LONG_TTL_MS })).toBe(1);
      const first = await kv.ttl(key('w'));
      expect(first).toBeGreaterThan(LONG_TTL_MS - 5_000);
      // A later, longer ttl must not extend the window.
      expect(await kv.incr(key('w'), 1, { ttlMs: LONG_TTL_MS * 10 })).toBe(2);
      expect(await kv.ttl(key('w'))).toBeLessThanOrEqual(LONG_TTL_MS);
      // A key that exists without expiry keeps having none.
      await kv.set(key('plain'), '5');
      expect(await kv.incr(key('plain'), 1, { ttlMs: LONG_TTL_MS })).toBe(6);
      expect(await kv.ttl(key('plain'))).toBeNull();
    });

    it('incr without ttlMs keeps an existing expiry', async () => {
      await kv.incr(key('w'), 1, { ttlMs: LONG_TTL_MS });
      await kv.incr(key('w'));
      expect(await kv.ttl(key('w'))).toBeGreaterThan(LONG_TTL_MS - 5_000);
    });

    it('a fixed-window counter starts again from `by` once its window expired', async () => {
      expect(await kv.incr(key('w'), 1, { ttlMs: SHORT_TTL_MS })).toBe(1);
      expect(await kv.incr(key('w'), 1, { ttlMs: SHORT_TTL_MS })).toBe(2);
      await elapse(PAST_SHORT_TTL_MS);
      expect(await kv.incr(key('w'), 3, { ttlMs: LONG_TTL_MS })).toBe(3);
      expect(await kv.ttl(key('w'))).toBeGreaterThan(LONG_TTL_MS - 5_000);
    });

    it('incr on a value that is not an integer rejects with InvalidInputError and changes nothing', async () => {
      for (const [suffix, value] of [
        ['word', 'abc'],
        ['float', '1.5'],
        ['space', ' 1'],
        ['plus', '+1'],
        ['empty', ''],
      ] as const) {
        await kv.set(key(suffix), value);
        await expect(kv.incr(key(suffix))).rejects.toBeInstanceOf(InvalidInputError);
        await expect(kv.incr(key(suffix), 1, { ttlMs: LONG_TTL_MS })).rejects.toBeInstanceOf(
          InvalidInputError,
        );
        expect(await kv.get(key(suffix))).toBe(value);
        expect(await kv.ttl(key(suffix))).toBeNull();
      }
    });

    it('incr rejects an increment that would overflow a signed 64-bit integer', async () => {
      await kv.set(key('big'), '9223372036854775807');
      await expect(kv.incr(key('big'))).rejects.toBeInstanceOf(InvalidInputError);
      expect(await kv.get(key('big'))).toBe('9223372036854775807');
    });

    it('incr rejects a fractional `by`', async () => {
      await expect(kv.incr(key('n'), 0.5)).rejects.toBeInstanceOf(InvalidInputError);
      expect(await kv.get(key('n'))).toBeNull();
    });

    it('round-trips unicode keys and values', async () => {
      const value = 'héllo wörld — 日本語 · emoji 🚀👩🏽‍💻 · RTL עברית · "quotes" \\ / \n\t';
      const unicodeKey = key('ключ/🔑 with spaces?&=%');
      await kv.set(unicodeKey, value);
      expect(await kv.get(unicodeKey)).toBe(value);
      expect(await kv.mget([unicodeKey])).toEqual([value]);
      expect(await kv.incr(key('счётчик'))).toBe(1);
    });

    it('round-trips a 100 KB value', async () => {
      const chunk = 'a€😀0123456789';
      const value = chunk.repeat(Math.ceil((100 * 1024) / Buffer.byteLength(chunk)));
      expect(Buffer.byteLength(value)).toBeGreaterThanOrEqual(100 * 1024);
      await kv.set(key('large'), value);
      expect(await kv.get(key('large'))).toBe(value);
    });
  });
}

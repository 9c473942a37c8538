/**
 * The embedded kv: an in-process LRU with TTLs that behaves like the Redis
 * subset the firebase runtime reaches through Upstash, so code tested on one
 * machine meets the same semantics in production. The shared contract suite
 * (`runtimes/contracts/kv.contract.ts`) holds both to that.
 *
 * Everything runs synchronously inside each call, so every call is atomic
 * with respect to the others without any locking. That includes the named
 * operations (`run`): their memory version sees the sorted sets they need
 * through a narrow `KvMemory` view, with Redis' rules for them.
 */
import { type Clock, systemClock } from '../../platform/clock.js';
import { InvalidInputError, PermanentError } from '../../platform/errors.js';
import type { KvMemory, KvOperation } from '../../platform/kv-operations.js';
import type { KeyValueStore, KvSetOptions } from '../../platform/ports.js';

export interface MemoryKvOptions {
  /**
   * Where time comes from; tests pass a `ManualClock` to expire keys without waiting.
   * @default systemClock
   */
  clock?: Clock;
  /**
   * Upper bound on stored keys; the least recently used key is evicted beyond it,
   * as Redis does under `maxmemory-policy allkeys-lru`.
   * @default 10_000
   * @example new MemoryKv({ maxEntries: 500 })
   */
  maxEntries?: number;
}

/** A string, or a sorted set (member → score) for the named operations; both expire alike. */
type Entry = { expiresAt: number | undefined } & (
  | { type: 'string'; value: string }
  | { type: 'zset'; members: Map<string, number> }
);
type StringEntry = Extract<Entry, { type: 'string' }>;
type ZsetEntry = Extract<Entry, { type: 'zset' }>;

/** Redis' own rule for what INCRBY accepts: canonical signed 64-bit decimal, no sign on zero, no padding. */
const REDIS_INTEGER = /^(?:0|-?[1-9][0-9]{0,18})$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export class MemoryKv implements KeyValueStore {
  readonly #clock: Clock;
  readonly #maxEntries: number;
  /** Map iteration order is insertion order: re-inserting on access keeps the LRU key first. */
  readonly #entries = new Map<string, Entry>();

  constructor(opts: MemoryKvOptions = {}) {
    this.#clock = opts.clock ?? systemClock;
    this.#maxEntries = opts.maxEntries ?? 10_000;
    if (!Number.isSafeInteger(this.#maxEntries) || this.#maxEntries < 1) {
      throw new InvalidInputError('MemoryKv maxEntries must be a positive integer');
    }
  }

  /** Keys currently held, expired ones not yet swept included: for tests and diagnostics. */
  get size(): number {
    return this.#entries.size;
  }

  async get(key: string): Promise<string | null> {
    return this.#readString(key)?.value ?? null;
  }

  async mget(keys: string[]): Promise<Array<string | null>> {
    // Redis' MGET answers nil for a key of another type rather than failing.
    return keys.map((key) => {
      const entry = this.#read(key);
      return entry?.type === 'string' ? entry.value : null;
    });
  }

  async set(key: string, value: string, opts: KvSetOptions = {}): Promise<boolean> {
    if (opts.ttlMs !== undefined) assertTtl(opts.ttlMs);
    if (opts.ifAbsent && this.#read(key) !== undefined) return false;
    // Like Redis SET, a plain set drops any previous expiry.
    this.#write(key, { type: 'string', value, expiresAt: this.#expiry(opts.ttlMs) });
    return true;
  }

  async del(key: string): Promise<boolean> {
    const existed = this.#live(key) !== undefined;
    this.#entries.delete(key);
    return existed;
  }

  async delIfEquals(key: string, value: string): Promise<boolean> {
    if (this.#readString(key)?.value !== value) return false;
    this.#entries.delete(key);
    return true;
  }

  async incr(key: string, by = 1, opts: { ttlMs?: number } = {}): Promise<number> {
    if (!Number.isSafeInteger(by)) throw new InvalidInputError('kv.incr: `by` must be a safe integer');
    if (opts.ttlMs !== undefined) assertTtl(opts.ttlMs);
    const current = this.#read(key);
    if (current?.type === 'zset') throw notAnInteger(key);
    if (current === undefined) {
      // A new key starts at 0 and gets the ttl: the fixed-window counter case.
      this.#write(key, { type: 'string', value: String(by), expiresAt: this.#expiry(opts.ttlMs) });
      return by;
    }
    const next = REDIS_INTEGER.test(current.value) ? BigInt(current.value) + BigInt(by) : undefined;
    if (next === undefined || next < INT64_MIN || next > INT64_MAX) throw notAnInteger(key);
    // INCRBY keeps the key's expiry, whatever ttl this call asked for.
    current.value = next.toString();
    return Number(next);
  }

  async expire(key: string, ttlMs: number): Promise<boolean> {
    assertTtl(ttlMs);
    const entry = this.#read(key);
    if (entry === undefined) return false;
    entry.expiresAt = this.#expiry(ttlMs);
    return true;
  }

  async ttl(key: string): Promise<number | null> {
    const entry = this.#live(key);
    if (entry?.expiresAt === undefined) return null;
    return entry.expiresAt - this.#clock.now();
  }

  async run<A, R>(op: KvOperation<A, R>, args: A): Promise<R> {
    return op.memory(this.#memory, op.parseArgs(args));
  }

  /** The operations' view: Redis' sorted-set rules over the same entries, LRU and TTLs. */
  readonly #memory: KvMemory = {
    get: (key) => this.#readString(key)?.value ?? null,
    set: (key, value) => this.#write(key, { type: 'string', value, expiresAt: undefined }),
    zscore: (key, member) => this.#readZset(key)?.members.get(member) ?? null,
    zadd: (key, member, score) => {
      const entry = this.#readZset(key);
      if (entry !== undefined) entry.members.set(member, score);
      else this.#write(key, { type: 'zset', members: new Map([[member, score]]), expiresAt: undefined });
    },
    zrem: (key, member) => {
      const entry = this.#readZset(key);
      const removed = entry?.members.delete(member) ?? false;
      this.#dropIfEmpty(key, entry);
      return removed;
    },
    zremRangeByScore: (key, max) => {
      const entry = this.#readZset(key);
      if (entry === undefined) return 0;
      let removed = 0;
      for (const [member, score] of entry.members) {
        if (score <= max && entry.members.delete(member)) removed += 1;
      }
      this.#dropIfEmpty(key, entry);
      return removed;
    },
    zpopmin: (key) => {
      const entry = this.#readZset(key);
      if (entry === undefined) return null;
      let lowest: [string, number] | undefined;
      for (const [member, score] of entry.members) {
        if (
          lowest === undefined ||
          score < lowest[1] ||
          // Ties go by member, compared as Redis does: byte by byte (UTF-8), not by UTF-16 code unit.
          (score === lowest[1] && Buffer.compare(Buffer.from(member), Buffer.from(lowest[0])) < 0)
        )
          lowest = [member, score];
      }
      if (lowest === undefined) return null;
      entry.members.delete(lowest[0]);
      this.#dropIfEmpty(key, entry);
      return lowest[0];
    },
    zcountAbove: (key, min) => {
      let count = 0;
      for (const score of this.#readZset(key)?.members.values() ?? []) if (score > min) count += 1;
      return count;
    },
    pttl: (key) => {
      const entry = this.#live(key);
      return entry?.expiresAt === undefined ? null : entry.expiresAt - this.#clock.now();
    },
    pexpire: (key, ttlMs) => {
      const entry = this.#read(key);
      if (entry !== undefined) entry.expiresAt = this.#expiry(ttlMs);
      return entry !== undefined;
    },
  };

  /** A live string entry; a key of another type fails as Redis' WRONGTYPE does. */
  #readString(key: string): StringEntry | undefined {
    const entry = this.#read(key);
    if (entry?.type === 'zset') throw wrongType(key);
    return entry;
  }

  #readZset(key: string): ZsetEntry | undefined {
    const entry = this.#read(key);
    if (entry?.type === 'string') throw wrongType(key);
    return entry;
  }

  /** Redis deletes a sorted set when its last member goes. */
  #dropIfEmpty(key: string, entry: ZsetEntry | undefined): void {
    if (entry !== undefined && entry.members.size === 0) this.#entries.delete(key);
  }

  /** The entry if it exists and has not expired; an expired one is dropped on the way (lazy expiry). */
  #live(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= this.#clock.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** A live lookup that also marks the key most recently used. */
  #read(key: string): Entry | undefined {
    const entry = this.#live(key);
    if (entry !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    }
    return entry;
  }

  #write(key: string, entry: Entry): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
  }

  #expiry(ttlMs: number | undefined): number | undefined {
    return ttlMs === undefined ? undefined : this.#clock.now() + ttlMs;
  }
}

/** Redis rejects zero, negative and fractional expiries in SET PX; refuse them the same way here. */
function assertTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) {
    throw new InvalidInputError('kv: ttlMs must be a positive integer number of milliseconds');
  }
}

/** What the Upstash adapter makes of Redis' WRONGTYPE reply. */
function wrongType(key: string): PermanentError {
  return new PermanentError(`kv: WRONGTYPE "${key}" holds another kind of value`);
}

/** Same error, same words, as the Upstash adapter gives for Redis' "not an integer" reply. */
function notAnInteger(key: string): InvalidInputError {
  return new InvalidInputError(
    `kv.incr("${key}"): the value is not an integer or the increment would overflow`,
  );
}

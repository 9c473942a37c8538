/**
 * Named atomic kv operations: each decision that reads, decides and writes
 * (take a slot, apply an AIMD observation) is one operation, written twice: a
 * Lua script Upstash runs atomically in one round trip, and a function the
 * memory kv runs synchronously (atomic because nothing interleaves with it).
 * The operations' contract suite holds the two together
 * (`runtimes/contracts/kv-operations.contract.ts`). No I/O here: the adapters
 * run what is defined.
 *
 * Times come in as arguments (`now`, ms), never from Redis' `TIME`, so a memory
 * kv on a manual clock and Redis give the same answers.
 */
import type { z } from 'zod';
import { InvalidInputError } from './errors.js';
import { zodFields } from './problem.js';

/**
 * What the memory kv offers an operation: Redis' semantics for the few
 * structures the operations need. Keys expire like the kv's strings, and a
 * sorted set left empty stops existing, as in Redis.
 */
export interface KvMemory {
  /** A string key's value; null when missing (a key of another type is an error, as Redis' WRONGTYPE). */
  get(key: string): string | null;
  /** SET without options: replaces whatever the key held and drops its expiry. */
  set(key: string, value: string): void;
  /** ZSCORE: the member's score, or null. */
  zscore(key: string, member: string): number | null;
  /** ZADD: adds the member or moves it to `score`. */
  zadd(key: string, member: string, score: number): void;
  /** ZREM: whether the member was there. */
  zrem(key: string, member: string): boolean;
  /** ZREMRANGEBYSCORE key -inf max: removes members scored at most `max`; how many. */
  zremRangeByScore(key: string, max: number): number;
  /** ZPOPMIN key: removes and answers the member with the lowest score (ties by member, as Redis), or null. */
  zpopmin(key: string): string | null;
  /** ZCOUNT key (min +inf: members scored above `min`. */
  zcountAbove(key: string, min: number): number;
  /** PTTL: remaining ms; null when the key is missing or has no expiry. */
  pttl(key: string): number | null;
  /** PEXPIRE: whether the key exists. */
  pexpire(key: string, ttlMs: number): boolean;
}

export interface KvOperationDefinition<A, R> {
  /** Stable and unique: names the operation in errors and logs. */
  name: string;
  /** Checks the arguments before either version runs: bad input is an InvalidInputError, never a script error. */
  args: z.ZodType<A>;
  /**
   * The Redis version: one script, run with EVALSHA (EVAL on NOSCRIPT). It must
   * touch only `KEYS` (Redis' rule for scripts), and carry no shebang flags:
   * Redis 7.0 refuses flags it does not know.
   */
  lua: string;
  keys(args: A): string[];
  /** Numbers as strings the Lua side reads with `tonumber`. */
  argv(args: A): string[];
  /** Turns the script's raw reply into the answer (parse it: it crossed a wire). */
  reply(raw: unknown): R;
  /** The memory kv's version: synchronous, so atomic by construction. */
  memory(mem: KvMemory, args: A): R;
}

export interface KvOperation<A, R> extends Readonly<KvOperationDefinition<A, R>> {
  /** Parses the arguments with `args`; InvalidInputError naming the operation when they do not fit. */
  parseArgs(args: unknown): A;
}

export function defineKvOperation<A, R>(definition: KvOperationDefinition<A, R>): KvOperation<A, R> {
  return Object.freeze({
    ...definition,
    parseArgs(args: unknown): A {
      const parsed = definition.args.safeParse(args);
      if (parsed.success) return parsed.data;
      throw new InvalidInputError(
        `kv.run(${definition.name}): invalid arguments`,
        zodFields(parsed.error, 'args'),
      );
    },
  });
}

/**
 * A number for a script's ARGV. `Infinity` travels as `inf` (the Lua side's
 * `argNumber` reads it back); `String()` gives the shortest text that reads
 * back as the same double, which Lua's `tonumber` does.
 */
export function luaNumber(n: number): string {
  if (n === Number.POSITIVE_INFINITY) return 'inf';
  if (n === Number.NEGATIVE_INFINITY) return '-inf';
  return String(n);
}

/** The Lua side of `luaNumber`, for a script to include. */
export const LUA_ARG_NUMBER = `
local function argNumber(s)
  if s == 'inf' then return math.huge end
  if s == '-inf' then return -math.huge end
  return tonumber(s)
end
-- A number as a command argument: Lua's own tostring keeps only 14 digits.
local function numberArg(n)
  if n == math.huge then return '+inf' end
  if n == -math.huge then return '-inf' end
  return string.format('%.17g', n)
end
`;

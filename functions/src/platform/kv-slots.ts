/**
 * Concurrency slots as atomic kv operations: a counting semaphore per key,
 * taken over several keys at once or not at all. They live in the platform, not
 * the pool, because any declared concurrency limit is the same semaphore.
 *
 * Each key is a sorted set of holders scored by lease expiry (ms). A lease
 * whose score is at or before `now` is expired: a holder that died frees its
 * slot when its lease passes, with nothing to sweep it.
 */
import { z } from 'zod';
import { defineKvOperation, LUA_ARG_NUMBER, luaNumber } from './kv-operations.js';

/** A limit: a non-negative number of holders, or no limit at all (`Infinity`). */
const Limit = z.union([z.number().nonnegative(), z.custom<number>((v) => v === Number.POSITIVE_INFINITY)]);
const Key = z.string().min(1);
const Holder = z.string().min(1);
/** Epoch ms; scores are doubles, exact for integers this size. */
const Instant = z.number().int().nonnegative();

const SlotDimension = z.object({
  /** The semaphore's key. */
  key: Key,
  /** Holders allowed at once; 0 refuses everyone. */
  limit: Limit,
  /**
   * A kv string holding JSON whose numeric `limit` field, when present, a
   * non-negative number and lower, lowers this dimension's limit (the AIMD state
   * lives there). A missing key or unreadable JSON leaves `limit` as it is.
   */
  limitFrom: z.object({ key: Key }).optional(),
});
export type SlotDimension = z.infer<typeof SlotDimension>;

/** A task's place in a dimension's waiting list (`waitingKey`): the member, and its order (lowest first). */
const Waiter = z.object({ member: z.string().min(1), score: Instant, ttlMs: z.number().int().positive() });

const AcquireSlotsArgs = z.object({
  dimensions: z.array(SlotDimension).min(1),
  /** Who takes the slots: the same holder asking again gets its own slots back (redelivery). */
  holder: Holder,
  /** Lease length; a holder that never releases frees its slots after this. */
  ttlMs: z.number().int().positive(),
  now: Instant,
  /**
   * On a refusal, joins the refusing dimension's waiting list (a releaser pops
   * it: settleStep's `pop`), and passes on the wakes of the dimensions before
   * it: each of those has room, so the first waiter of each is popped and
   * answered in `woken`. On success, leaves every waiting list: an entry left
   * by an earlier refusal of the same task must not wake it again.
   */
  wait: Waiter.optional(),
  /**
   * First leaves every dimension's waiting list; when it was in none (a releaser
   * popped it, or it expired), nothing is taken and the answer is `claimed: false`.
   */
  claim: z.string().min(1).optional(),
});
export type AcquireSlotsArgs = z.input<typeof AcquireSlotsArgs>;

/**
 * `refused`: the index in `dimensions` of the first one that was full; nothing
 * was taken; `woken`: the waiters popped from the dimensions before it (with
 * `wait`). `unclaimed`: the `claim` was in no waiting list; nothing was taken.
 */
export type SlotsAcquired =
  | { ok: true }
  | { ok: false; refused: number; woken: string[] }
  | { ok: false; unclaimed: true };

/**
 * Where the tasks refused by a dimension wait their turn: a sorted set named
 * apart from every semaphore (`waiting:` before the slot key), so that no
 * slot key can be another's waiting list.
 */
export function waitingKey(slotKey: string): string {
  return `waiting:${slotKey}`;
}

const ACQUIRE_SLOTS_LUA = `${LUA_ARG_NUMBER}
local holder = ARGV[1]
local now = argNumber(ARGV[2])
local ttl = argNumber(ARGV[3])
local n = tonumber(ARGV[4])
local w = 5 + 2 * n
-- KEYS[waits + i] is dimension i's waiting list (none when waits is 0).
local waits = tonumber(ARGV[w])
local claim = ARGV[w + 1]
local member = ARGV[w + 2]
if claim ~= '' then
  local removed = 0
  for i = 1, n do removed = removed + redis.call('ZREM', KEYS[waits + i], claim) end
  if removed == 0 then return { -2 } end
end
for i = 1, n do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', numberArg(now))
end
for i = 1, n do
  -- A dimension the holder already holds is its own: no limit to check there.
  if not redis.call('ZSCORE', KEYS[i], holder) then
    local limit = argNumber(ARGV[3 + 2 * i])
    local from = tonumber(ARGV[4 + 2 * i])
    if from > 0 then
      local raw = redis.call('GET', KEYS[from])
      if raw then
        local ok, decoded = pcall(cjson.decode, raw)
        if ok and type(decoded) == 'table' and type(decoded.limit) == 'number'
          and decoded.limit >= 0 and decoded.limit < limit then
          limit = decoded.limit
        end
      end
    end
    if redis.call('ZCARD', KEYS[i]) >= limit then
      local reply = { i - 1 }
      if member ~= '' then
        redis.call('ZADD', KEYS[waits + i], ARGV[w + 3], member)
        redis.call('PEXPIRE', KEYS[waits + i], ARGV[w + 4])
        -- The dimensions before this one have room: a wake their waiters were owed goes on.
        for j = 1, i - 1 do
          local first = redis.call('ZPOPMIN', KEYS[waits + j])
          if first[1] then reply[#reply + 1] = first[1] end
        end
      end
      return reply
    end
  end
end
local expiry = numberArg(now + ttl)
for i = 1, n do
  -- GT adds a new holder, and renews a repeated acquire's lease without ever shortening it.
  redis.call('ZADD', KEYS[i], 'GT', expiry, holder)
  if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
  if member ~= '' then redis.call('ZREM', KEYS[waits + i], member) end
end
return { -1 }
`;

/**
 * Takes one slot in every dimension, or none. Atomically: with `claim`, first
 * leaves the waiting lists (answering `unclaimed` when it was in none); drops
 * expired leases everywhere; refuses at the first dimension the holder does not
 * already hold whose live count has reached its limit (taking nothing, and
 * joining that dimension's waiting list with `wait`); else adds the holder to
 * every dimension with a lease until `now + ttlMs`, keeping each key alive at
 * least that long.
 * @example await kv.run(acquireSlots, { dimensions: [{ key: 'pool:slot:global', limit: 32 }], holder: 'exec-1:step-2', ttlMs: 60_000, now })
 */
export const acquireSlots = defineKvOperation<AcquireSlotsArgs, SlotsAcquired>({
  name: 'acquireSlots',
  args: AcquireSlotsArgs,
  lua: ACQUIRE_SLOTS_LUA,
  keys: ({ dimensions, wait, claim }) => [
    ...dimensions.map((d) => d.key),
    ...dimensions.flatMap((d) => (d.limitFrom ? [d.limitFrom.key] : [])),
    ...(wait || claim ? dimensions.map((d) => waitingKey(d.key)) : []),
  ],
  argv: ({ dimensions, holder, ttlMs, now, wait, claim }) => {
    let from = dimensions.length;
    const limits = dimensions.flatMap((d) => [luaNumber(d.limit), d.limitFrom ? String(++from) : '0']);
    return [
      holder,
      luaNumber(now),
      luaNumber(ttlMs),
      String(dimensions.length),
      ...limits,
      // The waiting lists follow the limitFrom keys.
      wait || claim ? String(from) : '0',
      claim ?? '',
      wait?.member ?? '',
      wait ? luaNumber(wait.score) : '0',
      wait ? luaNumber(wait.ttlMs) : '0',
    ];
  },
  reply: (raw) => {
    const [answer, ...woken] = z.tuple([z.number().int().min(-2)], z.string()).parse(raw);
    if (answer === -2) return { ok: false, unclaimed: true };
    return answer === -1 ? { ok: true } : { ok: false, refused: answer, woken };
  },
  memory: (mem, { dimensions, holder, ttlMs, now, wait, claim }) => {
    if (claim !== undefined) {
      const removed = dimensions.filter((d) => mem.zrem(waitingKey(d.key), claim)).length;
      if (removed === 0) return { ok: false, unclaimed: true };
    }
    for (const d of dimensions) mem.zremRangeByScore(d.key, now);
    for (const [index, d] of dimensions.entries()) {
      if (mem.zscore(d.key, holder) !== null) continue;
      const lowered = d.limitFrom ? storedLimit(mem.get(d.limitFrom.key)) : undefined;
      const limit = lowered !== undefined && lowered < d.limit ? lowered : d.limit;
      if (mem.zcountAbove(d.key, Number.NEGATIVE_INFINITY) >= limit) {
        const woken: string[] = [];
        if (wait) {
          mem.zadd(waitingKey(d.key), wait.member, wait.score);
          mem.pexpire(waitingKey(d.key), wait.ttlMs);
          for (const before of dimensions.slice(0, index)) {
            const first = mem.zpopmin(waitingKey(before.key));
            if (first !== null) woken.push(first);
          }
        }
        return { ok: false, refused: index, woken };
      }
    }
    const expiry = now + ttlMs;
    for (const d of dimensions) {
      mem.zadd(d.key, holder, Math.max(expiry, mem.zscore(d.key, holder) ?? expiry));
      if ((mem.pttl(d.key) ?? -1) < ttlMs) mem.pexpire(d.key, ttlMs);
      if (wait) mem.zrem(waitingKey(d.key), wait.member);
    }
    return { ok: true };
  },
});

/** The `limit` field of a limitFrom value, read as the Lua side reads it. */
function storedLimit(raw: string | null): number | undefined {
  if (raw === null) return undefined;
  let decoded: unknown;
  try {
    decoded = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const limit = z.object({ limit: z.number().nonnegative() }).safeParse(decoded);
  return limit.success ? limit.data.limit : undefined;
}

const ReleaseSlotsArgs = z.object({ keys: z.array(Key), holder: Holder });
export type ReleaseSlotsArgs = z.infer<typeof ReleaseSlotsArgs>;

/**
 * Removes the holder from each key and answers how many it held. Only its own
 * entry: a slot whose lease expired and was taken again belongs to the new holder.
 */
export const releaseSlots = defineKvOperation<ReleaseSlotsArgs, number>({
  name: 'releaseSlots',
  args: ReleaseSlotsArgs,
  lua: `
local released = 0
for i = 1, #KEYS do
  released = released + redis.call('ZREM', KEYS[i], ARGV[1])
end
return released
`,
  keys: ({ keys }) => keys,
  argv: ({ holder }) => [holder],
  reply: (raw) => z.number().int().nonnegative().parse(raw),
  memory: (mem, { keys, holder }) => keys.filter((key) => mem.zrem(key, holder)).length,
});

const CountSlotsArgs = z.object({ key: Key, now: Instant });
export type CountSlotsArgs = z.infer<typeof CountSlotsArgs>;

/** Live holders of one key at `now`, for monitoring; reads only. */
export const countSlots = defineKvOperation<CountSlotsArgs, number>({
  name: 'countSlots',
  args: CountSlotsArgs,
  lua: `return redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[1], '+inf')`,
  keys: ({ key }) => [key],
  argv: ({ now }) => [luaNumber(now)],
  reply: (raw) => z.number().int().nonnegative().parse(raw),
  memory: (mem, { key, now }) => mem.zcountAbove(key, now),
});

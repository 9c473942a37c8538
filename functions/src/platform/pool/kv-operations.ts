/**
 * The pool's own atomic kv operation: one AIMD observation applied to the
 * stored controller state in one step, so two dispatchers observing at once
 * cannot lose each other's update. The slot operations are general and live
 * in `platform/kv-slots.ts`.
 *
 * The Lua version re-states `aimd.ts` line for line; the memory version calls
 * it. The contract suite runs tables of observations through both and compares
 * them with `aimd.ts` itself, to the EWMA rounding and the reasons' words.
 */
import { z } from 'zod';
import { PermanentError } from '../errors.js';
import { defineKvOperation, type KvMemory, LUA_ARG_NUMBER, luaNumber } from '../kv-operations.js';
import { waitingKey } from '../kv-slots.js';
import {
  type AimdDecision,
  type AimdPolicy,
  type AimdState,
  observeAimd as decideAimd,
  initialAimd,
} from './aimd.js';

/**
 * Latencies and targets above this (about 31 years) are refused: below it every
 * rounded average fits the 14 digits Redis' cjson writes, and every rounded
 * latency Lua's `%d`, so both versions answer alike.
 */
const MAX_MS = 1e12;
const Ms = z.number().nonnegative().max(MAX_MS);

const AimdPolicySchema = z
  .object({
    min: z.number().int().nonnegative(),
    max: z.number().int().positive(),
    window: z.number().int().positive(),
    targetLatencyMs: z.union([Ms, z.custom<number>((v) => v === Number.POSITIVE_INFINITY)]).optional(),
    floorMs: Ms.optional(),
  })
  .refine((p) => p.min <= p.max, { message: 'min must not exceed max', path: ['min'] });

const ObserveAimdArgs = z.object({
  /** Where the controller's state lives (JSON); absent means `initialAimd(policy)`. */
  key: z.string().min(1),
  policy: AimdPolicySchema,
  latencyMs: Ms,
  rateLimited: z.boolean(),
});
export interface ObserveAimdArgs {
  key: string;
  policy: AimdPolicy;
  latencyMs: number;
  rateLimited: boolean;
}

/**
 * A stored state as both versions read it: `limit` and `healthy` must be
 * numbers or the whole state counts as absent; a malformed average is dropped.
 */
const StoredAimdState = z.object({
  limit: z.number(),
  healthy: z.number(),
  avgMs: z.number().optional().catch(undefined),
  samples: z.number().optional().catch(undefined),
});

export function readAimdState(raw: string | null): AimdState | undefined {
  if (raw === null) return undefined;
  try {
    const parsed = StoredAimdState.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

const AimdReply = z.object({
  state: z.object({
    limit: z.number(),
    healthy: z.number(),
    avgMs: z.number().optional(),
    samples: z.number().optional(),
  }),
  change: z.object({ from: z.number(), to: z.number(), reason: z.string() }).optional(),
});

/** The controller's body: reads KEYS[1] and ARGV[1..7], returns the decision as JSON (settleStep calls it as a function). */
const OBSERVE_AIMD_BODY = `
local min = argNumber(ARGV[1])
local max = argNumber(ARGV[2])
local window = argNumber(ARGV[3])
local fixedTarget = nil
if ARGV[4] ~= '' then fixedTarget = argNumber(ARGV[4]) end
local latency = argNumber(ARGV[5])
local rateLimited = ARGV[6] == '1'
local floorMs = 0
if ARGV[7] ~= nil and ARGV[7] ~= '' then floorMs = argNumber(ARGV[7]) end

-- JavaScript's Math.round: halves go up (x - floor(x) is exact).
local function round(x)
  local f = math.floor(x)
  if x - f >= 0.5 then return f + 1 end
  return f
end
local function int(n) return string.format('%d', n) end

local before = nil
local raw = redis.call('GET', KEYS[1])
if raw then
  local ok, decoded = pcall(cjson.decode, raw)
  if ok and type(decoded) == 'table' and type(decoded.limit) == 'number'
    and type(decoded.healthy) == 'number' then
    before = { limit = decoded.limit, healthy = decoded.healthy }
    if type(decoded.avgMs) == 'number' then before.avgMs = decoded.avgMs end
    if type(decoded.samples) == 'number' then before.samples = decoded.samples end
  end
end
if not before then before = { limit = max, healthy = 0 } end

local limit = math.min(math.max(before.limit, min), max)
local target = math.huge
if fixedTarget ~= nil then
  target = fixedTarget
elseif before.avgMs ~= nil and (before.samples or 0) >= window then
  target = math.max(floorMs, 2 * before.avgMs)
end
-- Only an adaptive target needs the average; a 429's latency says nothing about the upstream's speed.
local avgMs, samples = before.avgMs, before.samples
if fixedTarget == nil and not rateLimited then
  if avgMs == nil then avgMs = latency else avgMs = avgMs + 0.1 * (latency - avgMs) end
  samples = (before.samples or 0) + 1
end

local function decide(nextLimit, healthy, change)
  local state = { limit = nextLimit, healthy = healthy }
  if avgMs ~= nil then
    state.avgMs = round(avgMs * 10) / 10
    state.samples = samples
  end
  -- Unchanged (a healthy step at the maximum, usually): no write.
  if state.limit ~= before.limit or state.healthy ~= before.healthy
    or state.avgMs ~= before.avgMs or state.samples ~= before.samples then
    redis.call('SET', KEYS[1], cjson.encode(state))
  end
  return cjson.encode({ state = state, change = change })
end

if rateLimited or latency > 2 * target then
  local to = math.max(min, math.floor(limit / 2))
  local reason = 'upstream answered 429'
  if not rateLimited then
    reason = 'latency ' .. int(round(latency)) .. ' ms over twice the ' .. int(round(target)) .. ' ms target'
  end
  local change = nil
  if to ~= limit then change = { from = limit, to = to, reason = reason } end
  return decide(to, 0, change)
end
if latency > target then return decide(limit, before.healthy, nil) end
local healthy = before.healthy + 1
if healthy < window or limit >= max then return decide(limit, math.min(healthy, window), nil) end
local under = ''
if target ~= math.huge then under = ' under ' .. int(round(target)) .. ' ms' end
return decide(limit + 1, 0, { from = limit, to = limit + 1, reason = int(window) .. ' healthy steps' .. under })
`;
const OBSERVE_AIMD_LUA = `${LUA_ARG_NUMBER}${OBSERVE_AIMD_BODY}`;

/**
 * Applies one finished step's latency and 429 to the AIMD state at `key`
 * (`aimd.ts`'s `observeAimd`, atomically) and answers the new state and the
 * limit change, if any. The state is written only when it changed.
 * @example await kv.run(observeAimd, { key: 'pool:aimd:llm', policy, latencyMs: 840, rateLimited: false })
 */
export const observeAimd = defineKvOperation<ObserveAimdArgs, AimdDecision>({
  name: 'observeAimd',
  args: ObserveAimdArgs,
  lua: OBSERVE_AIMD_LUA,
  keys: ({ key }) => [key],
  argv: observeArgv,
  reply: (raw) => {
    const { state, change } = AimdReply.parse(JSON.parse(z.string().parse(raw)));
    return { state, change: change ?? null };
  },
  memory: (mem, args) => observeInMemory(mem, args),
});

function observeInMemory(
  mem: KvMemory,
  { key, policy, latencyMs, rateLimited }: ObserveAimdArgs,
): AimdDecision {
  const before = readAimdState(mem.get(key)) ?? initialAimd(policy);
  const decision = decideAimd(policy, before, { latencyMs, rateLimited });
  const state = JSON.stringify(decision.state);
  if (state !== JSON.stringify(before)) mem.set(key, state);
  return decision;
}

function observeArgv({ policy, latencyMs, rateLimited }: ObserveAimdArgs): string[] {
  return [
    luaNumber(policy.min),
    luaNumber(policy.max),
    luaNumber(policy.window),
    policy.targetLatencyMs === undefined ? '' : luaNumber(policy.targetLatencyMs),
    luaNumber(latencyMs),
    rateLimited ? '1' : '0',
    policy.floorMs === undefined ? '' : luaNumber(policy.floorMs),
  ];
}

const SettleStepArgs = z.object({
  /** The slot keys the step holds. */
  keys: z.array(z.string().min(1)),
  holder: z.string().min(1),
  /** Controllers fed with the step's outcome (none for a cache hit or a wait). */
  observations: z.array(ObserveAimdArgs),
  /** Pops the first waiter of each key's waiting list (kv-slots.ts `waitingKey`): a slot there is free now. */
  pop: z.boolean().default(false),
});
export interface SettleStepArgs {
  keys: string[];
  holder: string;
  observations: ObserveAimdArgs[];
  pop?: boolean;
}

export interface SettledStep {
  /** How many of the keys the holder held. */
  released: number;
  /** Each controller's decision, in the order of `observations`. */
  decisions: AimdDecision[];
  /** The waiters popped (with `pop`), in the order of `keys`; a key nobody waited on adds none. */
  woken: string[];
}

/**
 * A step's end in one round trip: frees its slots (releaseSlots), feeds each
 * controller its outcome (observeAimd), and with `pop` takes the first waiter
 * off each freed key's waiting list, atomically.
 * @example await kv.run(settleStep, { keys, holder, observations: [{ key: 'pool:aimd:agentKind:llm', policy, latencyMs: 840, rateLimited: false }] })
 */
export const settleStep = defineKvOperation<SettleStepArgs, SettledStep>({
  name: 'settleStep',
  args: SettleStepArgs,
  lua: `${LUA_ARG_NUMBER}
local function observe(KEYS, ARGV)
${OBSERVE_AIMD_BODY}
end
local slots = tonumber(ARGV[2])
local observations = tonumber(ARGV[3])
local released = 0
for i = 1, slots do
  released = released + redis.call('ZREM', KEYS[i], ARGV[1])
end
local woken = {}
-- With pop, the waiting lists follow the controllers' keys.
for i = slots + observations + 1, #KEYS do
  local first = redis.call('ZPOPMIN', KEYS[i])
  if first[1] then woken[#woken + 1] = first[1] end
end
local reply = { released, woken }
for j = 1, observations do
  local at = 3 + (j - 1) * 7
  reply[j + 2] = observe({ KEYS[slots + j] }, { ARGV[at + 1], ARGV[at + 2], ARGV[at + 3], ARGV[at + 4], ARGV[at + 5], ARGV[at + 6], ARGV[at + 7] })
end
return reply
`,
  keys: ({ keys, observations, pop }) => [
    ...keys,
    ...observations.map((o) => o.key),
    ...(pop ? keys.map(waitingKey) : []),
  ],
  argv: ({ keys, holder, observations }) => [
    holder,
    String(keys.length),
    String(observations.length),
    ...observations.flatMap(observeArgv),
  ],
  reply: (raw) => {
    const [released, woken, ...decisions] = z
      .tuple([z.number().int().nonnegative(), z.array(z.string())], z.string())
      .parse(raw);
    return {
      released,
      woken,
      decisions: decisions.map((json) => {
        const { state, change } = AimdReply.parse(JSON.parse(json));
        return { state, change: change ?? null };
      }),
    };
  },
  memory: (mem, { keys, holder, observations, pop }) => ({
    released: keys.filter((key) => mem.zrem(key, holder)).length,
    decisions: observations.map((o) => observeInMemory(mem, o)),
    woken: pop ? keys.flatMap((key) => mem.zpopmin(waitingKey(key)) ?? []) : [],
  }),
});

const AddToCountersArgs = z.object({
  counters: z
    .array(
      z.object({
        key: z.string().min(1),
        by: z.number().int(),
        /** Given to a counter this call creates; an existing one keeps its expiry. */
        ttlMs: z.number().int().positive().optional(),
      }),
    )
    .min(1),
});
export type AddToCountersArgs = z.infer<typeof AddToCountersArgs>;

/**
 * Adds to several counters in one round trip (INCRBY each; a counter it
 * creates gets its TTL) and answers their new values, in order: what the
 * pool counts on a refusal costs one command, not three.
 */
export const addToCounters = defineKvOperation<AddToCountersArgs, number[]>({
  name: 'addToCounters',
  args: AddToCountersArgs,
  lua: `
local values = {}
for i = 1, #KEYS do
  local created = redis.call('EXISTS', KEYS[i]) == 0
  values[i] = redis.call('INCRBY', KEYS[i], ARGV[2 * i - 1])
  local ttl = tonumber(ARGV[2 * i])
  if created and ttl > 0 then redis.call('PEXPIRE', KEYS[i], ttl) end
end
return values
`,
  keys: ({ counters }) => counters.map((c) => c.key),
  argv: ({ counters }) => counters.flatMap((c) => [String(c.by), String(c.ttlMs ?? 0)]),
  reply: (raw) => z.array(z.number().int()).parse(raw),
  memory: (mem, { counters }) =>
    counters.map(({ key, by, ttlMs }) => {
      const stored = mem.get(key);
      const current = stored === null ? 0 : Number(stored);
      if (!Number.isSafeInteger(current)) throw new PermanentError(`${key} does not hold an integer`);
      const ttl = mem.pttl(key);
      mem.set(key, String(current + by));
      if (stored === null) {
        if (ttlMs !== undefined) mem.pexpire(key, ttlMs);
      } else if (ttl !== null) mem.pexpire(key, ttl);
      return current + by;
    }),
});

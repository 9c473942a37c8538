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
import { defineKvOperation, LUA_ARG_NUMBER, luaNumber } from '../../platform/kv-operations.js';
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

function readAimdState(raw: string | null): AimdState | undefined {
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

const OBSERVE_AIMD_LUA = `${LUA_ARG_NUMBER}
local min = argNumber(ARGV[1])
local max = argNumber(ARGV[2])
local window = argNumber(ARGV[3])
local fixedTarget = nil
if ARGV[4] ~= '' then fixedTarget = argNumber(ARGV[4]) end
local latency = argNumber(ARGV[5])
local rateLimited = ARGV[6] == '1'

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
  target = 2 * before.avgMs
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
  argv: ({ policy, latencyMs, rateLimited }) => [
    luaNumber(policy.min),
    luaNumber(policy.max),
    luaNumber(policy.window),
    policy.targetLatencyMs === undefined ? '' : luaNumber(policy.targetLatencyMs),
    luaNumber(latencyMs),
    rateLimited ? '1' : '0',
  ],
  reply: (raw) => {
    const { state, change } = AimdReply.parse(JSON.parse(z.string().parse(raw)));
    return { state, change: change ?? null };
  },
  memory: (mem, { key, policy, latencyMs, rateLimited }) => {
    const before = readAimdState(mem.get(key)) ?? initialAimd(policy);
    const decision = decideAimd(policy, before, { latencyMs, rateLimited });
    const state = JSON.stringify(decision.state);
    if (state !== JSON.stringify(before)) mem.set(key, state);
    return decision;
  },
});

/**
 * Fair queuing on Cloud Tasks. A Cloud Tasks queue dispatches its tasks in
 * schedule order and knows nothing of workspaces, so a workspace that enqueues
 * ten thousand steps at once would sit in front of every other workspace's
 * next step until its backlog drained.
 *
 * So tasks with a fairness key are paced: each key keeps, in kv, the time its
 * next task may be dispatched, and every task it enqueues takes that time and
 * moves it on by `1 / (rate × share)`, where `rate` is the queue's dispatch
 * rate and `share` the key's part of it now (its weight over the weights of
 * all workspaces with work, from the pool). A flood is thus spread over the
 * future at its share of the rate, and a quiet workspace's task, whose time
 * is now, is dispatched next. A key whose time has fallen behind the clock
 * starts again from now: an idle key saves up no turns. Taking a turn is one
 * atomic kv operation (`takeTurn`: one Upstash command per paced enqueue).
 *
 * Approximate by design: the queue's actual rate may be lower than declared
 * (auto-scaling), which only delays everyone alike. Pacing never loses work:
 * if kv fails, the task is enqueued unpaced.
 */
import { z } from 'zod';
import { PermanentError } from '../../platform/errors.js';
import { defineKvOperation, luaNumber } from '../../platform/kv-operations.js';
import type { KeyValueStore } from '../../platform/ports.js';

export interface PaceRequest {
  queue: string;
  key: string;
  /** 0 < share ≤ 1. */
  share: number;
  now: number;
}

/**
 * The earliest dispatch time (ms) for the key's next task, and a way to give
 * that turn back when the task was not enqueued after all (a duplicate id):
 * only what is enqueued is charged.
 */
export type Pacer = (request: PaceRequest) => Promise<{ at: number; giveBack(): Promise<void> }>;

/** Kept a while past its last use, so an idle key's entry expires by itself. */
const PACE_TTL_MS = 60 * 60_000;

export function kvPacer(opts: {
  kv: KeyValueStore;
  /** The queue's dispatch rate, per second. */
  rate: (queue: string) => Promise<number>;
}): Pacer {
  return async ({ queue, key, share, now }) => {
    const rate = Math.max(await opts.rate(queue), 1e-3);
    const intervalMs = Math.max(1, Math.round(1000 / (rate * Math.min(Math.max(share, 1e-3), 1))));
    const paceKey = `pace:${queue}:${key}`;
    // One command: take the key's next time and move it on, or restart it from now when it fell behind.
    const at = await opts.kv.run(takeTurn, { key: paceKey, intervalMs, now, ttlMs: PACE_TTL_MS });
    return { at, giveBack: () => opts.kv.run(giveBackTurn, { key: paceKey, at, intervalMs }).then(() => {}) };
  };
}

const TakeTurnArgs = z.object({
  key: z.string().min(1),
  intervalMs: z.number().int().positive(),
  now: z.number().int().nonnegative(),
  ttlMs: z.number().int().positive(),
});
export type TakeTurnArgs = z.infer<typeof TakeTurnArgs>;

/**
 * A key's turn, atomically: its next dispatch time moves on by `intervalMs`,
 * and the time it held is the answer; a time behind `now` (an idle or new
 * key) restarts at `now`. The key lives `ttlMs` past its last turn.
 * @example await kv.run(takeTurn, { key: 'pace:executions-stepNormal:ws1', intervalMs: 20, now, ttlMs: 3_600_000 })
 */
export const takeTurn = defineKvOperation<TakeTurnArgs, number>({
  name: 'takeTurn',
  args: TakeTurnArgs,
  lua: `
local interval = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local at = redis.call('INCRBY', KEYS[1], interval) - interval
if at < now then
  at = now
  redis.call('SET', KEYS[1], string.format('%.0f', now + interval))
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return at
`,
  keys: ({ key }) => [key],
  argv: ({ intervalMs, now, ttlMs }) => [luaNumber(intervalMs), luaNumber(now), luaNumber(ttlMs)],
  reply: (raw) => z.number().int().parse(raw),
  memory: (mem, { key, intervalMs, now, ttlMs }) => {
    const stored = mem.get(key);
    const held = stored === null ? 0 : Number(stored);
    if (!Number.isSafeInteger(held)) throw new PermanentError(`${key} does not hold an integer`);
    const at = Math.max(held, now);
    mem.set(key, String(at + intervalMs));
    mem.pexpire(key, ttlMs);
    return at;
  },
});

const GiveBackTurnArgs = z.object({
  key: z.string().min(1),
  /** The time the turn gave. */
  at: z.number().int().nonnegative(),
  intervalMs: z.number().int().positive(),
});
export type GiveBackTurnArgs = z.infer<typeof GiveBackTurnArgs>;

/**
 * Gives a turn back, atomically: the key's next time moves back to `at` if it
 * is still the one this turn set (`at + intervalMs`), keeping its expiry; if
 * another turn was taken since, nothing changes (that one slot stays spent:
 * approximate, like pacing itself). Answers whether it gave the turn back.
 */
export const giveBackTurn = defineKvOperation<GiveBackTurnArgs, boolean>({
  name: 'giveBackTurn',
  args: GiveBackTurnArgs,
  lua: `
if redis.call('GET', KEYS[1]) == ARGV[2] then
  redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL')
  return 1
end
return 0
`,
  keys: ({ key }) => [key],
  argv: ({ at, intervalMs }) => [luaNumber(at), luaNumber(at + intervalMs)],
  reply: (raw) => z.union([z.literal(0), z.literal(1)]).parse(raw) === 1,
  memory: (mem, { key, at, intervalMs }) => {
    if (mem.get(key) !== String(at + intervalMs)) return false;
    const ttl = mem.pttl(key);
    mem.set(key, String(at));
    if (ttl !== null) mem.pexpire(key, ttl);
    return true;
  },
});

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
 * starts again from now: an idle key saves up no turns.
 *
 * Approximate by design: two concurrent enqueues of a key that has fallen
 * behind may both restart it (one slot too early), and the queue's actual
 * rate may be lower than declared (auto-scaling), which only delays everyone
 * alike. Pacing never loses work: if kv fails, the task is enqueued unpaced.
 */
import type { KeyValueStore } from '../../platform/ports.js';

export interface PaceRequest {
  queue: string;
  key: string;
  /** 0 < share ≤ 1. */
  share: number;
  now: number;
}

/** Returns the earliest dispatch time (ms) for the key's next task. */
export type Pacer = (request: PaceRequest) => Promise<number>;

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
    const slotKey = `pace:${queue}:${key}`;
    const next = await opts.kv.incr(slotKey, intervalMs, { ttlMs: PACE_TTL_MS });
    const at = next - intervalMs;
    if (at >= now) return at;
    // Behind the clock (idle, or new): this task goes now and the key's next one an interval later.
    await opts.kv.set(slotKey, String(now + intervalMs), { ttlMs: PACE_TTL_MS });
    return now;
  };
}

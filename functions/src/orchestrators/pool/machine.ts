/**
 * The resource pool's decisions, pure: who may take a slot now, and whether a
 * new execution is admitted.
 *
 * Allocation is weighted fair sharing across workspaces. Every workspace has a
 * weight (default 1). While only one workspace has work, it may use the whole
 * global limit. When several have work, each may hold at most its share of
 * the global limit: `global × weight / (sum of the weights of the workspaces
 * with work)`, rounded down but never below one slot. A workspace that floods
 * the queue therefore cannot hold more than its share; its extra step tasks
 * are sent back to wait a little (throttled), and the other workspaces' tasks
 * take the free slots. When the others go quiet, the flooder's share grows
 * back to the whole limit. Shares are recomputed from live counts on every
 * acquisition, so nothing has to be rebalanced by hand.
 *
 * Admission is a budget per workspace: executions accepted but not finished.
 * Under the budget a new execution is accepted and told its position; at the
 * budget it is refused with a Retry-After. Nothing accepted is ever dropped.
 */

export interface FairShareInput {
  globalLimit: number;
  workspace: string;
  /** Weight of every workspace that has work now (queued or running), this one included. */
  activeWeights: ReadonlyMap<string, number>;
}

/** The most slots `workspace` may hold right now. */
export function fairShare({ globalLimit, workspace, activeWeights }: FairShareInput): number {
  const mine = activeWeights.get(workspace) ?? 1;
  let total = mine;
  for (const [ws, weight] of activeWeights) if (ws !== workspace) total += weight;
  return Math.max(1, Math.floor((globalLimit * mine) / total));
}

export type Admission =
  | { accepted: true; position: number }
  | { accepted: false; retryAfterMs: number; reason: string };

/**
 * `inFlight`: this workspace's executions accepted and not finished, before this one.
 * `recentFinishRate`: its executions finished per second lately (0 when unknown), to
 * estimate when a place frees up.
 */
export function admit(inFlight: number, budget: number, recentFinishRate = 0): Admission {
  if (inFlight < budget) return { accepted: true, position: inFlight + 1 };
  const excess = inFlight - budget + 1;
  const seconds = recentFinishRate > 0 ? excess / recentFinishRate : 5;
  return {
    accepted: false,
    retryAfterMs: Math.round(Math.min(Math.max(seconds, 1), 300) * 1000),
    reason: `workspace has ${inFlight} executions in progress; its queue budget is ${budget}`,
  };
}

/** Percentile of a sample (nearest rank); 0 for no samples. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/**
 * How long a throttled step waits before it asks again, after `times` refusals:
 * 25 ms doubling to a 2 s cap, jittered ±50% so that refused steps spread out.
 * Short at first, because a slot is usually freed by the next step to finish;
 * growing, so that a workspace far over its share does not spin.
 */
export function throttleDelayMs(times: number, random: () => number = Math.random): number {
  const base = Math.min(25 * 2 ** Math.max(0, times), 2000);
  return Math.round(base * (0.5 + random()));
}

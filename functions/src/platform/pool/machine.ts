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
 * Headroom: a workspace with nothing in flight right now but work in the last
 * few seconds (a steady trickle, say) is "recently idle". Shares only limit
 * new acquisitions, so without headroom its next step would find every slot
 * held by a flooder and wait for one to free. So the others leave one slot
 * per recently idle workspace free, and at least one for a workspace never
 * seen before (at most a quarter of the global limit in all): a workspace
 * alone holds at most global − 1 slots (31 of the default 32).
 *
 * Where the work waits: a step refused a slot is deferred (DeferError) on the
 * dimension that refused it, without spending an attempt. Freeing a slot
 * wakes one task deferred on that dimension, the highest priority class
 * first, so slots go to high-priority work before batch work and none stays
 * idle while work waits. In the queue itself, workspaces take turns at
 * dispatch in weighted fair order (runtimes/embedded/fair.ts).
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
  /** Other workspaces with nothing in flight now but work in the last few seconds. @default 0 */
  recentlyIdle?: number;
}

/** The most slots `workspace` may hold right now. */
export function fairShare({
  globalLimit,
  workspace,
  activeWeights,
  recentlyIdle = 0,
}: FairShareInput): number {
  const mine = activeWeights.get(workspace) ?? 1;
  let total = mine;
  for (const [ws, weight] of activeWeights) if (ws !== workspace) total += weight;
  const headroom = Math.min(Math.max(recentlyIdle, 1), Math.floor(globalLimit / 4));
  return Math.max(1, Math.min(Math.floor((globalLimit * mine) / total), globalLimit - headroom));
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

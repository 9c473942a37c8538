/**
 * How work is delivered and retried: the retry and rate settings a trigger
 * declares, their defaults, and the defaults both runtimes apply where a
 * definition says nothing (task timeout, event and document deliveries,
 * schedule firings). One place, so the embedded queue and Cloud Functions
 * cannot drift apart.
 */

export interface RetryPolicy {
  /** Attempts in all, the first included, before the work is dead-lettered. @default 5 */
  maxAttempts?: number;
  /** @default 1 */
  minBackoffSeconds?: number;
  /** @default 300 */
  maxBackoffSeconds?: number;
  /** How many times the backoff doubles before it grows linearly. @default 5 */
  maxDoublings?: number;
}

export interface RateLimits {
  /** @default 10 */
  maxConcurrentDispatches?: number;
  /** @default 100 */
  maxDispatchesPerSecond?: number;
}

export const DEFAULT_RETRY: Required<RetryPolicy> = {
  maxAttempts: 5,
  minBackoffSeconds: 1,
  maxBackoffSeconds: 300,
  maxDoublings: 5,
};

export const DEFAULT_RATE_LIMITS: Required<RateLimits> = {
  maxConcurrentDispatches: 10,
  maxDispatchesPerSecond: 100,
};

export function retryPolicy(policy: RetryPolicy | undefined): Required<RetryPolicy> {
  return { ...DEFAULT_RETRY, ...policy };
}

export function rateLimits(limits: RateLimits | undefined): Required<RateLimits> {
  return { ...DEFAULT_RATE_LIMITS, ...limits };
}

/**
 * Delay before attempt `attempt + 1`, after `attempt` failures: doubles from the
 * minimum up to `maxDoublings`, then grows linearly, capped, with full jitter on
 * the upper half so that a burst of failures does not retry in lockstep.
 */
export function backoffMs(
  policy: Required<RetryPolicy>,
  attempt: number,
  random: () => number = Math.random,
): number {
  const min = policy.minBackoffSeconds * 1000;
  const doublings = Math.min(Math.max(attempt - 1, 0), policy.maxDoublings);
  const linear = Math.max(attempt - 1 - policy.maxDoublings, 0);
  const base = min * 2 ** doublings + linear * min * 2 ** policy.maxDoublings;
  const capped = Math.min(base, policy.maxBackoffSeconds * 1000);
  return Math.round(capped / 2 + (capped / 2) * random());
}

/** How long one task attempt may run when its definition does not say. @default 60 */
export const DEFAULT_TASK_TIMEOUT_SECONDS = 60;

/**
 * Event subscriptions and document triggers: retried sooner and capped lower
 * than tasks (a minute, not five), since a delivery is usually a small
 * bookkeeping step that someone is waiting on.
 */
export function deliveryRetry(policy: RetryPolicy | undefined): Required<RetryPolicy> {
  return retryPolicy({ minBackoffSeconds: 1, maxBackoffSeconds: 60, ...policy });
}

/** How long one event or document delivery may run. */
export const DELIVERY_TIMEOUT_SECONDS = 60;

/** A schedule firing is tried this many times in all (Cloud Scheduler's retryCount is one less). */
export const SCHEDULE_ATTEMPTS = 3;

/** How long one schedule firing may run: the longest an event-driven Cloud Function may. */
export const SCHEDULE_TIMEOUT_SECONDS = 540;

/**
 * The recovery index: when the sweep must next look at an execution.
 *
 * A step's task can be lost: a crash between the commit that dispatched it and
 * the enqueue, or a timer Cloud Tasks dropped. Each dispatched step has a lease
 * that expires `STALL_AFTER_MS` after it was due to run (a timer: after its
 * time); by then a healthy task has usually settled it. The execution's
 * snapshot stores the earliest lease expiry of its steps as `recoverAt`, and
 * the sweep (maintenance.ts) reads only the executions whose `recoverAt` has
 * passed, through an index on it, in bounded pages: its cost follows the work
 * whose lease expired, not all active work.
 *
 * The snapshot is not rewritten for every step (store.ts), so `recoverAt` is
 * kept by one rule: **it is never later than the lease expiry of any step the
 * sweep has not looked at.** It may be earlier, which costs a look and no more.
 * - A commit that dispatches a step moves it earlier when that step's lease
 *   ends sooner (rare: an execution's first lease is usually its earliest).
 * - A commit moves it later only when it has passed and no step's lease has
 *   expired, which saves the sweep a look at an execution that is progressing.
 * - The sweep, after sending again what an expired lease held, looks again
 *   after as long as that step has waited (at least `STALL_AFTER_MS`, at most
 *   `MAX_LOOK_AGAIN_MS`): a step that waits in a long backlog is looked at a
 *   logarithmic number of times, not once a minute.
 * - A finished execution has none (null), nor does one that waits only for people.
 */
import { z } from 'zod';
import { type Execution, type StepState, TERMINAL_EXECUTION } from './model.js';

/** A dispatched step whose task has not settled it this long after it was due may have lost its task. */
export const STALL_AFTER_MS = 30_000;
/** The longest the sweep waits before looking again at a step it already sent again. */
export const MAX_LOOK_AGAIN_MS = 60 * 60_000;

/** The index fields an execution's stored snapshot carries besides the execution (stripped on read). */
export const RecoveryIndexSchema = z.object({
  /** ms since epoch; null or absent: nothing of it can stall. */
  recoverAt: z.number().nullable().optional(),
});

/** The index value a stored snapshot carries: null when none (or when it predates the index). */
export function storedRecoverAt(data: Record<string, unknown>): number | null {
  const parsed = RecoveryIndexSchema.safeParse(data);
  return parsed.success ? (parsed.data.recoverAt ?? null) : null;
}

/** Whether a stored snapshot has an index value at all (one written before the index has none). */
export function hasRecoveryIndex(data: Record<string, unknown>): boolean {
  return 'recoverAt' in data;
}

/** Since when a step has been due to run (or to fire), if it holds a lease. */
export function dueSince(step: StepState): number | null {
  if (step.status === 'queued' || step.status === 'running') return step.resumeAt ?? step.queuedAt;
  if (step.status === 'waiting' && step.resumeAt !== null) return step.resumeAt; // a timer
  return null;
}

/** When a step's lease expires; null when it holds none. */
export function leaseExpiry(step: StepState): number | null {
  const since = dueSince(step);
  return since === null ? null : since + STALL_AFTER_MS;
}

/** The steps whose lease has expired at `now`: the ones the sweep sends again. */
export function expiredLeases(execution: Execution, now: number): Array<[string, StepState]> {
  if (TERMINAL_EXECUTION.includes(execution.status)) return [];
  return Object.entries(execution.steps).filter(([, s]) => {
    const expiry = leaseExpiry(s);
    return expiry !== null && expiry <= now;
  });
}

/** A key naming one lease: the step, its attempt and its due time (a new attempt or a new time is a new lease). */
export function leaseKey(stepId: string, step: StepState): string {
  return `${stepId}/${step.attempts}/${dueSince(step)}`;
}

function lookAgain(since: number, now: number): number {
  return now + Math.min(MAX_LOOK_AGAIN_MS, Math.max(STALL_AFTER_MS, now - since));
}

/**
 * The index a commit of `next` (the state it commits at `now`) carries, given
 * the stored one; `mustWrite` says whether the snapshot must be written for it
 * (when it is written anyway, it carries `recoverAt`).
 */
export function indexAtCommit(
  stored: number | null,
  next: Execution,
  now: number,
): { recoverAt: number | null; mustWrite: boolean } {
  let expired: number | null = null;
  let upcoming: number | null = null;
  if (!TERMINAL_EXECUTION.includes(next.status)) {
    for (const step of Object.values(next.steps)) {
      const expiry = leaseExpiry(step);
      if (expiry === null) continue;
      if (expiry <= now) expired = Math.min(expired ?? expiry, expiry);
      else upcoming = Math.min(upcoming ?? expiry, expiry);
    }
  }
  if (expired === null && upcoming === null) return { recoverAt: null, mustWrite: stored !== null };
  // No lease has expired: the earliest expiry, exactly. Written for it when it is earlier than
  // the stored one, or when the stored one has passed (the sweep would look for nothing).
  if (expired === null && upcoming !== null) {
    return { recoverAt: upcoming, mustWrite: stored === null || upcoming < stored || stored <= now };
  }
  // A lease has expired that the sweep has not looked at yet, or looks at again later: never later.
  const kept = Math.min(stored ?? (expired as number), upcoming ?? Number.POSITIVE_INFINITY);
  return { recoverAt: kept, mustWrite: kept !== stored };
}

/**
 * The index the sweep writes after a look at `now` with `current` the state
 * then, and `sent` the leases it sent again: each of those is looked at again
 * later (see the file header); any other expired lease keeps the sweep coming.
 */
export function indexAfterLook(current: Execution, now: number, sent: ReadonlySet<string>): number | null {
  if (TERMINAL_EXECUTION.includes(current.status)) return null;
  let next: number | null = null;
  for (const [stepId, step] of Object.entries(current.steps)) {
    const since = dueSince(step);
    if (since === null) continue;
    const expiry = since + STALL_AFTER_MS;
    const at = expiry > now ? expiry : sent.has(leaseKey(stepId, step)) ? lookAgain(since, now) : expiry;
    next = next === null ? at : Math.min(next, at);
  }
  return next;
}

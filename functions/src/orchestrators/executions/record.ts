/**
 * The execution record, event-sourced, pure. The stored execution is a
 * snapshot; each checkpoint after it stores what one step's settling changed
 * (the step states, the context keys written, the execution's own fields),
 * not a copy of the whole state. The current state is the snapshot with the
 * checkpoints written since folded in; the state at checkpoint n is the start
 * with checkpoints 1..n folded in.
 *
 * When the snapshot is written (store.ts, commitDecision): at creation; when
 * the execution's status or pause changes; for a decision that settles no
 * step (retry scheduling, waiting, rescheduling, operator actions), as it
 * writes no checkpoint; and every COMPACT_EVERY checkpoints, so a cold read
 * folds a bounded tail. A step that settles with no status change writes its
 * checkpoint alone: one document, whose size does not depend on the steps
 * before it.
 */

import { initialStepState } from './machine.js';
import type { Checkpoint, CheckpointRecord, Execution, ExecutionChange, StepState } from './model.js';

/**
 * The longest run of checkpoints after a snapshot before a settling step
 * writes the snapshot again, so a read with nothing cached folds a bounded
 * tail. Large, so that writes stay one per step for workflows of ordinary
 * length (a process keeps the states it folded: store.ts).
 */
export const COMPACT_EVERY = 64;

const EXECUTION_FIELDS = ['status', 'paused', 'error', 'endedAt', 'updatedAt'] as const;

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** What a decision changed, from the state before it to the state after. */
export function changeOf(before: Execution, after: Execution): ExecutionChange {
  const steps: Record<string, StepState> = {};
  for (const [id, s] of Object.entries(after.steps)) if (!same(before.steps[id], s)) steps[id] = s;
  const context: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(after.context))
    if (!(key in before.context) || !same(before.context[key], value)) context[key] = value;
  const execution: ExecutionChange['execution'] = {};
  for (const field of EXECUTION_FIELDS) {
    if (!same(before[field], after[field])) Object.assign(execution, { [field]: after[field] });
  }
  return { steps, context, execution };
}

function apply(state: Execution, record: CheckpointRecord): void {
  Object.assign(state.steps, record.change.steps);
  Object.assign(state.context, record.change.context);
  Object.assign(state, record.change.execution);
  state.checkpoint = record.n;
}

/** The state now: the snapshot with the checkpoints written after it applied, in order. */
export function fold(snapshot: Execution, tail: readonly CheckpointRecord[]): Execution {
  const state = structuredClone(snapshot);
  for (const record of tail) if (record.n > state.checkpoint) apply(state, record);
  return state;
}

/** The state at checkpoint 0: the input, the variables, and what a fork carried over; every other step not yet run. */
export function startOf(snapshot: Execution): Pick<Checkpoint, 'context' | 'steps'> {
  const steps: Record<string, StepState> = {};
  for (const id of Object.keys(snapshot.steps)) steps[id] = initialStepState();
  return {
    context: { input: snapshot.input, vars: snapshot.context.vars, ...snapshot.origin?.context },
    steps: { ...steps, ...snapshot.origin?.steps },
  };
}

/** The context and step states after the last of `records` (checkpoints 1..n, in order). */
export function stateAt(
  snapshot: Execution,
  records: readonly CheckpointRecord[],
): Pick<Checkpoint, 'context' | 'steps'> {
  const start = startOf(snapshot);
  for (const record of records) {
    Object.assign(start.steps, record.change.steps);
    Object.assign(start.context, record.change.context);
  }
  return start;
}

/** Whether a committed decision also rewrites the snapshot (see the file header). */
export function needsSnapshot(
  before: Execution,
  after: Execution,
  wroteCheckpoint: boolean,
  snapshotAt: number,
): boolean {
  return (
    !wroteCheckpoint ||
    before.status !== after.status ||
    before.paused !== after.paused ||
    after.checkpoint - snapshotAt >= COMPACT_EVERY
  );
}

/**
 * Debugging tools, pure: the timeline of an execution and the diff between two
 * checkpoints. Routes and the CLI feed them stored documents.
 */
import type { Checkpoint, CheckpointRecord, Execution, Step, StepStatus } from './model.js';

export interface TimelineEntry {
  stepId: string;
  /** The step's agent kind, from the use case version the execution runs. */
  agent: string | null;
  status: StepStatus;
  attempts: number;
  queuedAt: number | null;
  startedAt: number | null;
  endedAt: number | null;
  durationMs: number | null;
  cacheHit: boolean;
  error: string | null;
  waitingFor: string | null;
  /** What a human step asks (set while it waits for a person). */
  prompt: string | null;
  /** When a waiting timer or a retry backoff resumes, or a human step's deadline (ms since epoch). */
  resumeAt: number | null;
  /** A human step's decision deadline: past it the step fails with `human-timeout`. */
  deadline: number | null;
  tokens: { model: string; prompt: number; completion: number } | null;
  /** Checkpoints this step wrote (one per settled attempt). */
  checkpoints: number[];
  inputs: Record<string, unknown> | null;
  output: unknown;
}

/** `steps`: the workflow's steps, of the use case version the execution runs. */
export function timeline(
  execution: Execution,
  steps: ReadonlyArray<Pick<Step, 'id' | 'agent' | 'output'>>,
  checkpoints: ReadonlyArray<Pick<CheckpointRecord, 'n' | 'stepId' | 'inputs'>>,
): TimelineEntry[] {
  const declared = new Map(steps.map((step) => [step.id, step]));
  const entries = Object.entries(execution.steps).map(([stepId, s]): TimelineEntry => {
    const mine = checkpoints.filter((c) => c.stepId === stepId);
    const key = declared.get(stepId)?.output;
    return {
      stepId,
      agent: declared.get(stepId)?.agent ?? null,
      status: s.status,
      attempts: s.attempts,
      queuedAt: s.queuedAt,
      startedAt: s.startedAt,
      endedAt: s.endedAt,
      durationMs: s.startedAt !== null && s.endedAt !== null ? s.endedAt - s.startedAt : null,
      cacheHit: s.cacheHit,
      error: s.error?.message ?? null,
      waitingFor: s.waitingFor,
      prompt: s.prompt,
      resumeAt: s.resumeAt,
      deadline: s.waitingFor === 'human' ? s.resumeAt : null,
      tokens: s.tokens,
      checkpoints: mine.map((c) => c.n),
      inputs: mine.at(-1)?.inputs ?? null,
      output: key !== undefined && key in execution.context ? execution.context[key] : null,
    };
  });
  return entries.sort(
    (a, b) => (a.queuedAt ?? Number.MAX_SAFE_INTEGER) - (b.queuedAt ?? Number.MAX_SAFE_INTEGER),
  );
}

export interface ContextChange {
  key: string;
  change: 'added' | 'removed' | 'changed';
  before: unknown;
  after: unknown;
}

/** What changed in the shared context and in step states between two checkpoints. */
export function diffCheckpoints(
  from: Pick<Checkpoint, 'context' | 'steps'>,
  to: Pick<Checkpoint, 'context' | 'steps'>,
): {
  context: ContextChange[];
  steps: Array<{ stepId: string; before: string | null; after: string | null }>;
} {
  const context: ContextChange[] = [];
  for (const key of new Set([...Object.keys(from.context), ...Object.keys(to.context)])) {
    const had = key in from.context;
    const has = key in to.context;
    const before = from.context[key];
    const after = to.context[key];
    if (had && !has) context.push({ key, change: 'removed', before, after: null });
    else if (!had && has) context.push({ key, change: 'added', before: null, after });
    else if (JSON.stringify(before) !== JSON.stringify(after))
      context.push({ key, change: 'changed', before, after });
  }
  const steps = [...new Set([...Object.keys(from.steps), ...Object.keys(to.steps)])]
    .map((stepId) => ({
      stepId,
      before: from.steps[stepId]?.status ?? null,
      after: to.steps[stepId]?.status ?? null,
    }))
    .filter((s) => s.before !== s.after);
  return { context, steps };
}

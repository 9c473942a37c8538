/**
 * The execution engine's decisions, and nothing else: given an execution's
 * state and one input (a step finished, an operator paused, a timer fired…),
 * return the next state and the effects to carry out (dispatch a step, set a
 * timer, write a checkpoint). No I/O, no clock: time comes in with the input.
 *
 * Every input names the step attempt it is about. An input for an attempt
 * that is not the current one, or for a step that has already settled, is
 * ignored: duplicate and late deliveries change nothing, and shuffled ones
 * converge on the same final state.
 */
import type { TokenUsage } from './agents/types.js';
import {
  type Execution,
  type ExecutionStatus,
  SETTLED_STEP,
  type StepError,
  type StepState,
  TERMINAL_EXECUTION,
} from './model.js';
import type { CompiledStep, CompiledWorkflow } from './workflow.js';

export type MachineInput =
  | { type: 'start'; at: number }
  | { type: 'stepStarted'; stepId: string; attempt: number; at: number }
  | {
      type: 'stepSucceeded';
      stepId: string;
      attempt: number;
      output: unknown;
      /** When the agent started: wait time is startedAt − queued/resume time. */
      startedAt?: number | undefined;
      route?: string[] | undefined;
      usage?: TokenUsage | undefined;
      cacheHit?: boolean | undefined;
      at: number;
    }
  | {
      type: 'stepWaiting';
      stepId: string;
      attempt: number;
      reason: 'human' | 'timer';
      until?: number | undefined;
      prompt?: string | undefined;
      startedAt?: number | undefined;
      at: number;
    }
  | {
      type: 'stepFailed';
      stepId: string;
      attempt: number;
      error: StepError;
      startedAt?: number | undefined;
      at: number;
    }
  | { type: 'timerFired'; stepId: string; attempt: number; at: number }
  | {
      type: 'decision';
      stepId: string;
      decision: 'approved' | 'rejected';
      by: string;
      comment?: string;
      at: number;
    }
  | { type: 'pause'; at: number }
  | { type: 'resume'; at: number }
  | { type: 'cancel'; at: number; reason?: string }
  | { type: 'retryStep'; stepId: string; at: number }
  | { type: 'rescheduleStep'; stepId: string; resumeAt: number; at: number };

export type Effect =
  | { type: 'dispatchStep'; stepId: string; attempt: number; priority: string; agent: string; runAt: number }
  | { type: 'scheduleTimer'; stepId: string; attempt: number; at: number }
  | { type: 'checkpoint'; stepId: string }
  | { type: 'finished'; status: ExecutionStatus }
  /** The execution started (+1) or stopped (-1) waiting only on people or timers: it holds no runnable work then. */
  | { type: 'waiting'; delta: 1 | -1 };

export interface Decision {
  state: Execution;
  effects: Effect[];
  /** False when the input changed nothing (stale, duplicate, or not allowed now). */
  accepted: boolean;
  reason?: string;
}

export function initialStepState(): StepState {
  return {
    status: 'blocked',
    attempts: 0,
    queuedAt: null,
    startedAt: null,
    endedAt: null,
    resumeAt: null,
    waitingFor: null,
    prompt: null,
    error: null,
    cacheHit: false,
    tokens: null,
    route: null,
    budgetFrom: 0,
  };
}

const settled = (s: StepState | undefined) => s !== undefined && SETTLED_STEP.includes(s.status);
const isTerminal = (s: Execution) => TERMINAL_EXECUTION.includes(s.status);

/** Seconds before attempt `n + 1` after `n` failures in the current budget: doubling, capped. */
export function retryDelayMs(step: CompiledStep['step'], failures: number): number {
  const seconds = Math.min(
    step.retry.maxBackoffSeconds,
    step.retry.minBackoffSeconds * 2 ** Math.max(failures - 1, 0),
  );
  return Math.round(seconds * 1000);
}

export function decide(wf: CompiledWorkflow, current: Execution, input: MachineInput): Decision {
  const decision = decideInput(wf, current, input);
  const was = current.status === 'waiting';
  const is = decision.state.status === 'waiting';
  if (decision.accepted && was !== is) decision.effects.push({ type: 'waiting', delta: is ? 1 : -1 });
  return decision;
}

function decideInput(wf: CompiledWorkflow, current: Execution, input: MachineInput): Decision {
  const state = structuredClone(current);
  const effects: Effect[] = [];
  const ignore = (reason: string): Decision => ({ state: current, effects: [], accepted: false, reason });
  const touch = () => {
    state.updatedAt = Math.max(state.updatedAt, input.at);
  };

  if (input.type === 'start') {
    if (state.status !== 'pending') return ignore(`execution is ${state.status}`);
    state.status = 'running';
    touch();
    advance(wf, state, input.at, effects);
    return { state, effects, accepted: true };
  }
  if (input.type === 'cancel') {
    if (isTerminal(state)) return ignore(`execution is already ${state.status}`);
    for (const step of Object.values(state.steps)) {
      if (!settled(step)) {
        step.status = 'cancelled';
        step.endedAt = input.at;
      }
    }
    state.status = 'cancelled';
    state.endedAt = input.at;
    state.error = {
      message: input.reason ?? 'cancelled by an operator',
      code: 'cancelled',
      retryable: false,
    };
    state.paused = false;
    touch();
    effects.push({ type: 'finished', status: 'cancelled' });
    return { state, effects, accepted: true };
  }
  if (input.type === 'pause' || input.type === 'resume') {
    if (isTerminal(state)) return ignore(`execution is ${state.status}`);
    const paused = input.type === 'pause';
    if (state.paused === paused) return ignore(paused ? 'already paused' : 'not paused');
    state.paused = paused;
    touch();
    if (!paused) advance(wf, state, input.at, effects);
    return { state, effects, accepted: true };
  }
  if (input.type === 'retryStep') {
    const step = state.steps[input.stepId];
    if (step?.status !== 'failed') return ignore('only a failed step can be retried');
    step.status = 'blocked';
    step.error = null;
    step.endedAt = null;
    step.budgetFrom = step.attempts;
    if (state.status === 'failed') {
      // Reopen the execution: what the failure cancelled becomes runnable again.
      for (const other of Object.values(state.steps))
        if (other.status === 'cancelled') other.status = 'blocked';
      state.status = 'running';
      state.error = null;
      state.endedAt = null;
    }
    touch();
    advance(wf, state, input.at, effects);
    return { state, effects, accepted: true };
  }

  if (isTerminal(state)) return ignore(`execution is ${state.status}`);
  const node = wf.steps.get(input.stepId);
  const step = state.steps[input.stepId];
  if (!node || !step) return ignore(`no step "${input.stepId}"`);
  const startedAt = 'startedAt' in input ? input.startedAt : undefined;

  switch (input.type) {
    case 'stepStarted':
      if (input.attempt !== step.attempts || step.status !== 'queued') return ignore('stale attempt');
      step.status = 'running';
      step.startedAt = input.at;
      break;
    case 'stepSucceeded':
      if (input.attempt !== step.attempts || !['queued', 'running'].includes(step.status))
        return ignore('stale attempt');
      if (startedAt !== undefined) step.startedAt = startedAt;
      succeed(state, node, step, input.output, input.at);
      step.cacheHit = input.cacheHit ?? false;
      step.route = input.route ? input.route.filter((t) => node.targets.includes(t)) : null;
      if (input.usage) {
        step.tokens = {
          model: input.usage.model,
          prompt: input.usage.promptTokens,
          completion: input.usage.completionTokens,
        };
      }
      effects.push({ type: 'checkpoint', stepId: input.stepId });
      break;
    case 'stepWaiting':
      if (input.attempt !== step.attempts || !['queued', 'running'].includes(step.status))
        return ignore('stale attempt');
      step.status = 'waiting';
      step.startedAt = startedAt ?? step.startedAt ?? input.at;
      step.waitingFor = input.reason;
      step.prompt = input.prompt ?? null;
      // A timer resumes at `until`; a human request with a deadline expires at it.
      step.resumeAt = input.reason === 'timer' ? (input.until ?? input.at) : (input.until ?? null);
      if (step.resumeAt !== null) {
        effects.push({
          type: 'scheduleTimer',
          stepId: input.stepId,
          attempt: step.attempts,
          at: step.resumeAt,
        });
      }
      break;
    case 'timerFired':
      if (step.status !== 'waiting' || step.waitingFor === null || input.attempt !== step.attempts) {
        return ignore('no timer is waiting');
      }
      if (step.resumeAt === null) return ignore('the step has no deadline');
      if (input.at < step.resumeAt) return ignore('timer was rescheduled later');
      if (step.waitingFor === 'human') {
        // Nobody decided in time: the step fails for good (retrying would ask again, unasked for).
        return decide(wf, current, {
          type: 'stepFailed',
          stepId: input.stepId,
          attempt: input.attempt,
          error: {
            code: 'human-timeout',
            message: `No decision before the deadline (${new Date(step.resumeAt).toISOString()})`,
            retryable: false,
          },
          at: input.at,
        });
      }
      succeed(state, node, step, { waitedUntil: step.resumeAt }, input.at);
      effects.push({ type: 'checkpoint', stepId: input.stepId });
      break;
    case 'decision':
      if (step.status !== 'waiting' || step.waitingFor !== 'human')
        return ignore('step is not waiting for a decision');
      succeed(
        state,
        node,
        step,
        { decision: input.decision, by: input.by, comment: input.comment ?? null, decidedAt: input.at },
        input.at,
      );
      effects.push({ type: 'checkpoint', stepId: input.stepId });
      break;
    case 'rescheduleStep':
      if (step.status !== 'waiting' || step.waitingFor === null)
        return ignore('only a waiting step can be rescheduled');
      step.resumeAt = input.resumeAt;
      effects.push({
        type: 'scheduleTimer',
        stepId: input.stepId,
        attempt: step.attempts,
        at: input.resumeAt,
      });
      break;
    case 'stepFailed': {
      if (input.attempt !== step.attempts || !['queued', 'running', 'waiting'].includes(step.status)) {
        return ignore('stale attempt');
      }
      step.error = input.error;
      if (startedAt !== undefined) step.startedAt = startedAt;
      const used = step.attempts - step.budgetFrom;
      if (input.error.retryable && used < node.step.retry.maxAttempts) {
        if (state.paused) {
          step.status = 'blocked'; // dispatched again on resume
        } else {
          step.attempts += 1;
          step.status = 'queued';
          step.queuedAt = input.at;
          step.resumeAt = input.at + Math.max(retryDelayMs(node.step, used), input.error.retryAfterMs ?? 0);
          effects.push({
            type: 'dispatchStep',
            stepId: input.stepId,
            attempt: step.attempts,
            priority: node.step.priority,
            agent: node.step.agent,
            runAt: step.resumeAt,
          });
        }
      } else {
        step.status = 'failed';
        step.endedAt = input.at;
        effects.push({ type: 'checkpoint', stepId: input.stepId });
      }
      break;
    }
  }
  touch();
  advance(wf, state, input.at, effects);
  return { state, effects, accepted: true };
}

function succeed(state: Execution, node: CompiledStep, step: StepState, output: unknown, at: number): void {
  step.status = 'succeeded';
  step.endedAt = at;
  step.startedAt ??= at;
  step.error = null;
  step.waitingFor = null;
  step.resumeAt = null;
  state.context[node.step.output] = output;
}

/**
 * Walks the steps in topological order: skips what a branch or a skipped
 * dependency rules out, dispatches what is ready, then settles the
 * execution's own status.
 */
function advance(wf: CompiledWorkflow, state: Execution, at: number, effects: Effect[]): void {
  if (isTerminal(state)) return;
  for (const id of wf.order) {
    const node = wf.steps.get(id) as CompiledStep;
    const step = state.steps[id] as StepState;
    if (step.status !== 'blocked') continue;
    const deps = node.deps.map((d) => state.steps[d] as StepState);
    if (!deps.every(settled)) continue;
    const gatedOut = node.gatedBy.some((branch) => {
      const gate = state.steps[branch] as StepState;
      return gate.status === 'succeeded' && !(gate.route ?? []).includes(id);
    });
    const runnable =
      !gatedOut &&
      (node.step.join === 'all'
        ? deps.every((d) => d.status === 'succeeded')
        : deps.length === 0 || deps.some((d) => d.status === 'succeeded'));
    if (!runnable) {
      if (deps.some((d) => d.status === 'failed')) continue; // the execution fails below
      step.status = 'skipped';
      step.endedAt = at;
      continue;
    }
    if (state.paused) continue;
    step.attempts += 1;
    step.status = 'queued';
    step.queuedAt = at;
    step.resumeAt = null;
    effects.push({
      type: 'dispatchStep',
      stepId: id,
      attempt: step.attempts,
      priority: node.step.priority,
      agent: node.step.agent,
      runAt: at,
    });
  }

  const all = Object.values(state.steps);
  const failed = Object.entries(state.steps).find(([, s]) => s.status === 'failed');
  if (failed) {
    for (const s of all) {
      if (!settled(s)) {
        s.status = 'cancelled';
        s.endedAt = at;
      }
    }
    state.status = 'failed';
    state.endedAt = at;
    state.error = {
      ...(failed[1].error ?? { message: 'step failed', code: 'failed', retryable: false }),
      message: `step "${failed[0]}" failed: ${failed[1].error?.message ?? 'unknown error'}`,
    };
    // Pause holds back dispatches, not steps already under way: a run that ends is no longer paused.
    state.paused = false;
    effects.push({ type: 'finished', status: 'failed' });
    return;
  }
  if (all.every(settled)) {
    state.status = 'succeeded';
    state.endedAt = at;
    state.paused = false;
    effects.push({ type: 'finished', status: 'succeeded' });
    return;
  }
  const active = all.some((s) => s.status === 'queued' || s.status === 'running');
  state.status = !active && all.some((s) => s.status === 'waiting') ? 'waiting' : 'running';
}

/** A new execution of a use case: every step blocked, the context holding the input and the variables. */
export function newExecution(params: {
  id: string;
  workspace: string;
  useCase: {
    id: string;
    version: number;
    contextTtlSeconds: number;
    workflow: { vars: Record<string, unknown> };
  };
  wf: CompiledWorkflow;
  input: unknown;
  correlationId: string;
  at: number;
}): Execution {
  const steps: Record<string, StepState> = {};
  for (const id of params.wf.order) steps[id] = initialStepState();
  return {
    id: params.id,
    workspace: params.workspace,
    useCaseId: params.useCase.id,
    useCaseVersion: params.useCase.version,
    status: 'pending',
    paused: false,
    input: params.input,
    context: { input: params.input, vars: params.useCase.workflow.vars },
    steps,
    error: null,
    correlationId: params.correlationId,
    parentId: null,
    forkedFromCheckpoint: null,
    checkpoint: 0,
    origin: null,
    createdAt: params.at,
    updatedAt: params.at,
    endedAt: null,
    expiresAt: params.at + params.useCase.contextTtlSeconds * 1000,
  };
}

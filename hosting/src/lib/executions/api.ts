/**
 * The executions API: use cases, executions, their timelines and checkpoints, and the operator
 * controls. Calls go through the shared typed client, and the types are the routes' own answers
 * (inferred from the server's schemas); failures arrive as `ApiError`.
 */
import { type ApiResponse, api, type RequestOptions } from '../api.ts';

export type Execution = ApiResponse<'executions', 'get'>;
export type ExecutionStatus = Execution['status'];
export type StepState = Execution['steps'][string];
export type StepStatus = StepState['status'];
export type StepError = NonNullable<StepState['error']>;
export type TokenUsage = NonNullable<StepState['tokens']>;
export type UseCase = ApiResponse<'useCases', 'list'>['useCases'][number];
export type WorkflowStep = UseCase['workflow']['steps'][number];
export type ExecutionSummary = ApiResponse<'executions', 'list'>['executions'][number];
export type Timeline = ApiResponse<'executions', 'timeline'>;
export type TimelineEntry = Timeline['timeline'][number];
export type CheckpointDiff = ApiResponse<'executions', 'diff'>;
export type ContextChange = CheckpointDiff['context'][number];
/** A debug re-run of one step: what its agent did with the inputs the step recorded. */
export type RerunResult = ApiResponse<'executions', 'rerun'>;

/** In the order the filter offers them. */
export const EXECUTION_STATUSES = [
  'pending',
  'running',
  'waiting',
  'succeeded',
  'failed',
  'cancelled',
] as const satisfies readonly ExecutionStatus[];
export const TERMINAL_STATUSES: readonly ExecutionStatus[] = ['succeeded', 'failed', 'cancelled'];

export function isExecutionStatus(value: string): value is ExecutionStatus {
  return (EXECUTION_STATUSES as readonly string[]).includes(value);
}

export function isTerminal(status: ExecutionStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export interface ExecutionFilter {
  /** A use case id; empty for all. */
  useCase: string;
  /** Empty for all. */
  status: ExecutionStatus | '';
}

export type ControlAction = 'pause' | 'resume' | 'cancel';
export type Decision = 'approved' | 'rejected';

const executions = (options: RequestOptions | undefined) => api(options).executions;
const signal = (options: RequestOptions | undefined) => ({ signal: options?.signal });

/** Newest first. */
export function listExecutions(
  workspace: string,
  filter: ExecutionFilter,
  page: { cursor?: string | undefined; limit: number },
  options?: RequestOptions,
): Promise<ApiResponse<'executions', 'list'>> {
  return executions(options).list({
    params: { workspace },
    query: {
      limit: page.limit,
      ...(filter.useCase ? { useCase: filter.useCase } : {}),
      ...(filter.status ? { status: filter.status } : {}),
      ...(page.cursor ? { cursor: page.cursor } : {}),
    },
    ...signal(options),
  });
}

export function getExecution(workspace: string, id: string, options?: RequestOptions): Promise<Execution> {
  return executions(options).get({ params: { workspace, id }, ...signal(options) });
}

export function getTimeline(workspace: string, id: string, options?: RequestOptions): Promise<Timeline> {
  return executions(options).timeline({ params: { workspace, id }, ...signal(options) });
}

/** What changed between checkpoints `from` and `to` (0 is the start). */
export function getCheckpointDiff(
  workspace: string,
  id: string,
  from: number,
  to: number,
  options?: RequestOptions,
): Promise<CheckpointDiff> {
  return executions(options).diff({ params: { workspace, id }, query: { from, to }, ...signal(options) });
}

/** Rejects with a 409 `conflict` when the action does not apply to the execution as it is now. */
export function controlExecution(
  workspace: string,
  id: string,
  action: ControlAction,
  reason?: string,
  options?: RequestOptions,
): Promise<Execution> {
  return executions(options).control({
    params: { workspace, id },
    body: reason ? { action, reason } : { action },
    ...signal(options),
  });
}

export function retryStep(workspace: string, id: string, stepId: string, options?: RequestOptions) {
  return executions(options).retry({ params: { workspace, id, stepId }, ...signal(options) });
}

/** Moves the instant a waiting timer step resumes (`at`: ms since epoch). */
export function rescheduleStep(
  workspace: string,
  id: string,
  stepId: string,
  at: number,
  options?: RequestOptions,
): Promise<Execution> {
  return executions(options).reschedule({ params: { workspace, id, stepId }, body: { at }, ...signal(options) });
}

export function decideStep(
  workspace: string,
  id: string,
  stepId: string,
  decision: Decision,
  comment?: string,
  options?: RequestOptions,
): Promise<Execution> {
  return executions(options).decide({
    params: { workspace, id, stepId },
    body: comment ? { decision, comment } : { decision },
    ...signal(options),
  });
}

/**
 * Runs one step's agent again on the inputs it recorded, for debugging: the execution is not
 * changed, but the agent really runs (an `http` or `llm` step calls out again) and skips the cache.
 */
export function rerunStep(workspace: string, id: string, stepId: string, options?: RequestOptions) {
  return executions(options).rerun({ params: { workspace, id, stepId }, ...signal(options) });
}

/**
 * Starts a new execution from a checkpoint of this one, linked to it as its parent. Without
 * `input` the parent's input is reused and every step finished by the checkpoint is kept.
 */
export function forkExecution(
  workspace: string,
  id: string,
  checkpoint: number,
  input?: unknown,
  options?: RequestOptions,
): Promise<Execution> {
  return executions(options).fork({
    params: { workspace, id },
    body: input === undefined ? { checkpoint } : { checkpoint, input },
    ...signal(options),
  });
}

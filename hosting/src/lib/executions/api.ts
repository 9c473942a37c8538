/**
 * The executions API: use cases, executions, their timelines and checkpoints, and the operator
 * controls. Types mirror the server's zod schemas (functions/src/orchestrators/executions/model.ts);
 * every call goes through the shared JSON client, so failures arrive as `ApiError`.
 */
import { getJson, postJson, type RequestOptions } from '../api.ts';

export const EXECUTION_STATUSES = ['pending', 'running', 'waiting', 'succeeded', 'failed', 'cancelled'] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];
export const TERMINAL_STATUSES: readonly ExecutionStatus[] = ['succeeded', 'failed', 'cancelled'];

export type StepStatus =
  | 'blocked'
  | 'queued'
  | 'running'
  | 'waiting'
  | 'succeeded'
  | 'failed'
  | 'skipped'
  | 'cancelled';

export function isExecutionStatus(value: string): value is ExecutionStatus {
  return (EXECUTION_STATUSES as readonly string[]).includes(value);
}

export function isTerminal(status: ExecutionStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export interface WorkflowStep {
  id: string;
  agent: string;
  output: string;
  inputs: Record<string, string>;
  priority: string;
}

export interface UseCase {
  id: string;
  name: string;
  vertical: string;
  description: string;
  version: number;
  workflow: { steps: WorkflowStep[] };
}

export interface StepError {
  message: string;
  code: string;
  retryable: boolean;
}

export interface TokenUsage {
  model: string;
  prompt: number;
  completion: number;
}

export interface StepState {
  status: StepStatus;
  attempts: number;
  queuedAt: number | null;
  startedAt: number | null;
  endedAt: number | null;
  /** When a waiting timer (or a retry backoff) resumes, ms since epoch. */
  resumeAt: number | null;
  waitingFor: 'human' | 'timer' | null;
  /** What a human step asks the operator. */
  prompt: string | null;
  error: StepError | null;
  cacheHit: boolean;
  tokens: TokenUsage | null;
}

export interface Execution {
  id: string;
  useCaseId: string;
  useCaseVersion: number;
  status: ExecutionStatus;
  paused: boolean;
  input: unknown;
  context: Record<string, unknown>;
  steps: Record<string, StepState>;
  error: StepError | null;
  parentId: string | null;
  forkedFromCheckpoint: number | null;
  /** How many checkpoints have been written: they are numbered 1…checkpoint (0 is the start). */
  checkpoint: number;
  createdAt: number;
  updatedAt: number;
  endedAt: number | null;
}

export interface ExecutionSummary {
  id: string;
  useCaseId: string;
  useCaseVersion: number;
  status: ExecutionStatus;
  paused: boolean;
  createdAt: number;
  updatedAt: number;
  endedAt: number | null;
  parentId: string | null;
  steps: { total: number; settled: number; failed: number; waiting: number };
  error: string | null;
  /** The start of the input's compact JSON (at most 80 characters): which run a row is. */
  inputPreview: string;
}

export interface TimelineEntry {
  stepId: string;
  /** The step's agent kind, from the use case version the run uses. */
  agent: string | null;
  status: StepStatus;
  attempts: number;
  queuedAt: number | null;
  startedAt: number | null;
  endedAt: number | null;
  durationMs: number | null;
  cacheHit: boolean;
  error: string | null;
  waitingFor: 'human' | 'timer' | null;
  /** What a human step asks; kept after the decision. */
  prompt: string | null;
  /** When a waiting timer or a retry backoff resumes, or a human step's deadline (ms since epoch). */
  resumeAt: number | null;
  /** A human step's decision deadline: past it the step fails with `human-timeout`. */
  deadline: number | null;
  tokens: TokenUsage | null;
  /** The checkpoints this step wrote, one per settled attempt. */
  checkpoints: number[];
  /** The inputs its last settled attempt saw; null until it settles. */
  inputs: Record<string, unknown> | null;
  output: unknown;
}

export interface Timeline {
  execution: ExecutionSummary;
  timeline: TimelineEntry[];
}

export interface ContextChange {
  key: string;
  change: 'added' | 'removed' | 'changed';
  before: unknown;
  after: unknown;
}

export interface CheckpointDiff {
  context: ContextChange[];
  steps: Array<{ stepId: string; before: StepStatus | null; after: StepStatus | null }>;
}

/** A debug re-run of one step: what its agent did with the inputs the step recorded. */
export interface RerunResult {
  inputs: Record<string, unknown>;
  /** What the agent answered; null when it threw (see `error`). */
  result:
    | { status: 'succeeded'; output: unknown; route?: string[] }
    | { status: 'waiting'; reason: 'human' | 'timer'; until?: number; prompt?: string }
    | null;
  error: StepError | null;
  durationMs: number;
}

export interface ExecutionFilter {
  /** A use case id; empty for all. */
  useCase: string;
  /** Empty for all. */
  status: ExecutionStatus | '';
}

export type ControlAction = 'pause' | 'resume' | 'cancel';
export type Decision = 'approved' | 'rejected';

const segment = encodeURIComponent;
const base = (workspace: string) => `/api/executions/workspaces/${segment(workspace)}`;
const executionPath = (workspace: string, id: string) => `${base(workspace)}/executions/${segment(id)}`;
const stepPath = (workspace: string, id: string, stepId: string) =>
  `${executionPath(workspace, id)}/steps/${segment(stepId)}`;

export function listUseCases(
  workspace: string,
  page: { cursor?: string; limit?: number } = {},
  options?: RequestOptions,
): Promise<{ useCases: UseCase[]; nextCursor?: string }> {
  const query = new URLSearchParams();
  if (page.limit !== undefined) query.set('limit', String(page.limit));
  if (page.cursor) query.set('cursor', page.cursor);
  const search = query.size > 0 ? `?${query}` : '';
  return getJson(`${base(workspace)}/use-cases${search}`, options);
}

/** Newest first. */
export function listExecutions(
  workspace: string,
  filter: ExecutionFilter,
  page: { cursor?: string | undefined; limit: number },
  options?: RequestOptions,
): Promise<{ executions: ExecutionSummary[]; nextCursor?: string }> {
  const query = new URLSearchParams({ limit: String(page.limit) });
  if (filter.useCase) query.set('useCase', filter.useCase);
  if (filter.status) query.set('status', filter.status);
  if (page.cursor) query.set('cursor', page.cursor);
  return getJson(`${base(workspace)}/executions?${query}`, options);
}

export function getExecution(workspace: string, id: string, options?: RequestOptions): Promise<Execution> {
  return getJson(executionPath(workspace, id), options);
}

export function getTimeline(workspace: string, id: string, options?: RequestOptions): Promise<Timeline> {
  return getJson(`${executionPath(workspace, id)}/timeline`, options);
}

/** What changed between checkpoints `from` and `to` (0 is the start). */
export function getCheckpointDiff(
  workspace: string,
  id: string,
  from: number,
  to: number,
  options?: RequestOptions,
): Promise<CheckpointDiff> {
  const query = new URLSearchParams({ from: String(from), to: String(to) });
  return getJson(`${executionPath(workspace, id)}/diff?${query}`, options);
}

/** Rejects with a 409 `conflict` when the action does not apply to the execution as it is now. */
export function controlExecution(
  workspace: string,
  id: string,
  action: ControlAction,
  reason?: string,
  options?: RequestOptions,
): Promise<Execution> {
  return postJson(`${executionPath(workspace, id)}/control`, reason ? { action, reason } : { action }, options);
}

export function retryStep(workspace: string, id: string, stepId: string, options?: RequestOptions) {
  return postJson<Execution>(`${stepPath(workspace, id, stepId)}/retry`, {}, options);
}

/** Moves the instant a waiting timer step resumes (`at`: ms since epoch). */
export function rescheduleStep(
  workspace: string,
  id: string,
  stepId: string,
  at: number,
  options?: RequestOptions,
): Promise<Execution> {
  return postJson(`${stepPath(workspace, id, stepId)}/reschedule`, { at }, options);
}

export function decideStep(
  workspace: string,
  id: string,
  stepId: string,
  decision: Decision,
  comment?: string,
  options?: RequestOptions,
): Promise<Execution> {
  const body = comment ? { decision, comment } : { decision };
  return postJson(`${stepPath(workspace, id, stepId)}/decision`, body, options);
}

/**
 * Runs one step's agent again on the inputs it recorded, for debugging: the execution is not
 * changed, but the agent really runs (an `http` or `llm` step calls out again) and skips the cache.
 */
export function rerunStep(workspace: string, id: string, stepId: string, options?: RequestOptions) {
  return postJson<RerunResult>(`${stepPath(workspace, id, stepId)}/rerun`, {}, options);
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
  const body = input === undefined ? { checkpoint } : { checkpoint, input };
  return postJson(`${executionPath(workspace, id)}/fork`, body, options);
}

/**
 * The pool API: monitoring, auto-scaling decisions, and each workspace's share and budget. Types
 * mirror the server's zod schemas (functions/src/orchestrators/pool/{model,routes}.ts); every call
 * goes through the shared JSON client, so failures arrive as `ApiError`.
 */
import { getJson, putJson, type QueueStats, type RequestOptions } from '../api.ts';

/** The priority classes, each its own step queue, in the order the pool serves them. */
export const PRIORITIES = ['high', 'normal', 'low', 'batch'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** Platform-wide limits, from the runtime's configuration. */
export interface PoolLimits {
  /** Steps running at once across every workspace. */
  global: number;
  /** Steps of one use case running at once. */
  perUseCase: number;
  /** Configured concurrency of the agent kinds listed; AIMD moves the effective limit below it. */
  perAgentKind: Record<string, number>;
  /** For agent kinds not listed. */
  defaultPerAgentKind: number;
}

/** Wait (queued or due → started) of recent steps of one priority class. */
export interface WaitStats {
  p50Ms: number;
  p95Ms: number;
  samples: number;
}

/**
 * Steps refused a slot and sent back to wait. The server counts per wall-clock minute: `lastMinute`
 * is the current minute's bucket (it starts again from 0 at each minute), `lastHour` the sum of the
 * last 60, and `byDimension` the current minute's count per limit that refused.
 */
export interface Throttling {
  lastMinute: number;
  lastHour: number;
  byDimension: Record<string, number>;
  /** Refusals per limit since the runtime's kv store began: running totals. */
  totals: Record<string, number>;
}

/** The limits acquisition enforces now, auto-scaling included. */
export interface LimitsInForce {
  global: number;
  perUseCase: number;
  /**
   * Every agent kind configured by name or named by a recent decision, at its limit now: the
   * controller's state for configured kinds, the latest decision for the others.
   */
  perAgentKind: Record<string, number>;
}

export interface WorkspaceShare {
  workspace: string;
  /** Executions accepted and not finished. */
  inFlight: number;
  weight: number;
  /** The most slots it may hold now, given the workspaces that have work. */
  share: number;
  queueBudget: number;
  /** Its cap on running steps; null for none. */
  maxConcurrent: number | null;
  /** The most steps it may run now: its share, or its cap when lower. */
  limit: number;
}

export interface PoolStats {
  limits: PoolLimits;
  limitsInForce: LimitsInForce;
  utilisation: { running: number; limit: number; ratio: number };
  /** The executions step queues (one per priority class) and timer queues. */
  queues: QueueStats[];
  /** Only the priority classes with recent samples. */
  waits: Partial<Record<string, WaitStats>>;
  throttled: Throttling;
  workspaces: WorkspaceShare[];
}

/** One change by an AIMD controller: of an agent kind's concurrency, or of a step queue's dispatch limits (in tenths). */
export interface ScalingDecision {
  agentKind?: string;
  queue?: string;
  from: number;
  to: number;
  reason: string;
  /** Epoch milliseconds. */
  at: number;
}

export interface ScalingDecisions {
  /** The effective limit now of each agent kind configured in `limits.perAgentKind`. */
  effectiveLimits: Record<string, number>;
  /** Each step queue's dispatch limits now, as a share of what it declares (0.1–1). */
  queueScale?: Record<string, number>;
  /** Newest first. */
  decisions: ScalingDecision[];
}

/**
 * A workspace's pool settings. PUT changes only the fields it sends; `maxConcurrent: null` removes
 * the cap.
 */
export interface WorkspacePoolSettings {
  /** Share of the global limit under contention, relative to other workspaces (0.01–100). */
  weight: number;
  /** Executions accepted and not finished before admission answers 429 (an integer ≥ 1). */
  queueBudget: number;
  /** A hard cap on its running steps, below its fair share; absent for none. */
  maxConcurrent?: number;
}

const settingsPath = (workspace: string) => `/api/pool/workspaces/${encodeURIComponent(workspace)}/settings`;

export function getPoolStats(options?: RequestOptions): Promise<PoolStats> {
  return getJson('/api/pool/stats', options);
}

/** The latest `limit` decisions (1–200), newest first, and the effective limits now. */
export function getScalingDecisions(limit: number, options?: RequestOptions): Promise<ScalingDecisions> {
  return getJson(`/api/pool/decisions?${new URLSearchParams({ limit: String(limit) })}`, options);
}

export function getWorkspaceSettings(workspace: string, options?: RequestOptions): Promise<WorkspacePoolSettings> {
  return getJson(settingsPath(workspace), options);
}

/**
 * Changes the settings the body names and answers with all of them. The body goes as given (it is typed loosely so that what the
 * operator typed reaches the server, whose `invalid-input` problem names each bad field); rejects
 * with a 404 `not-found` for an unknown workspace.
 */
export function putWorkspaceSettings(
  workspace: string,
  settings: Record<string, unknown>,
  options?: RequestOptions,
): Promise<WorkspacePoolSettings> {
  return putJson(settingsPath(workspace), settings, options);
}

/**
 * The pool API: monitoring, auto-scaling decisions, and each workspace's share and budget. Calls
 * go through the shared typed client, and the types are the routes' own answers (inferred from the
 * server's schemas); failures arrive as `ApiError`.
 */
import { type ApiResponse, api, invalidInput, type RequestOptions } from '../api.ts';

/** The priority classes, each its own step queue, in the order the pool serves them. */
export const PRIORITIES = ['high', 'normal', 'low', 'batch'] as const;
export type Priority = (typeof PRIORITIES)[number];

export type PoolStats = ApiResponse<'pool', 'stats'>;
/** Platform-wide limits, from the runtime's configuration. */
export type PoolLimits = PoolStats['limits'];
/** The limits acquisition enforces now, auto-scaling included. */
export type LimitsInForce = PoolStats['limitsInForce'];
/** Wait (queued or due → started) of recent steps of one priority class. */
export type WaitStats = NonNullable<PoolStats['waits'][string]>;
/** Steps refused a slot and sent back to wait, per wall-clock minute, hour and in all. */
export type Throttling = PoolStats['throttled'];
export type WorkspaceShare = PoolStats['workspaces'][number];
export type ScalingDecisions = ApiResponse<'pool', 'decisions'>;
/** One change by an AIMD controller: of an agent kind's concurrency, or of a step queue's dispatch limits (in tenths). */
export type ScalingDecision = ScalingDecisions['decisions'][number];
/**
 * A workspace's pool settings. PUT changes only the fields it sends; `maxConcurrent: null` removes
 * the cap.
 */
export type WorkspacePoolSettings = ApiResponse<'pool', 'settings'>;

export function getPoolStats(options?: RequestOptions): Promise<PoolStats> {
  return api(options).pool.stats({ signal: options?.signal });
}

/** The latest `limit` decisions (1–200), newest first, and the effective limits now. */
export function getScalingDecisions(limit: number, options?: RequestOptions): Promise<ScalingDecisions> {
  return api(options).pool.decisions({ query: { limit }, signal: options?.signal });
}

export function getWorkspaceSettings(workspace: string, options?: RequestOptions): Promise<WorkspacePoolSettings> {
  return api(options).pool.settings({ params: { workspace }, signal: options?.signal });
}

/**
 * Changes the settings the body names and answers with all of them. The body is what the operator
 * typed: the route's own schema checks it first, so a bad field is refused with the server's
 * `invalid-input` problem (naming each field) without a round trip; an unknown workspace is a 404.
 */
export async function putWorkspaceSettings(
  workspace: string,
  settings: Record<string, unknown>,
  options?: RequestOptions,
): Promise<WorkspacePoolSettings> {
  const update = api(options).pool.updateSettings;
  const body = update.contract.body.safeParse(settings);
  if (!body.success) throw invalidInput(body.error, 'body');
  return update({ params: { workspace }, body: body.data, signal: options?.signal });
}

/**
 * Mission Control's way to the Seraphim HTTP API: the typed client shared with the CLI (`#api`,
 * built from the routes' contracts in `functions/src`), on the page's own origin. Every answer is
 * parsed with its route's response schema, so the types here are the server's, inferred, never
 * re-declared; failures arrive as `ApiError`.
 */
import {
  type ApiClient,
  ApiError,
  type ApiProblemField,
  type ApiResponse,
  createApiClient,
  invalidInput,
  isAbortError,
} from '#api';

export { ApiError, invalidInput, isAbortError };
export type { ApiClient, ApiResponse };

/** One offending field of an invalid request, e.g. `{ path: 'body.input', message: '…' }`. */
export type ProblemField = ApiProblemField;

export type SystemHealth = ApiResponse<'system', 'health'>;
export type HealthStatus = SystemHealth['status'];
export type QueueList = ApiResponse<'system', 'queues'>;
export type QueueStats = QueueList['queues'][number];

/** Anything a call rejected with, as an `ApiError` (an unexpected throw becomes `unexpected-response`). */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return new ApiError('unexpected-response', 0, error instanceof Error ? error.message : String(error), {
    cause: error,
  });
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** Injected in tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

/**
 * How every call proves who is calling, set once by the session: the runtime's cookie needs
 * nothing, Firebase needs a fresh ID token on each call. `onUnauthorized` hears every 401, so a
 * session that ended anywhere sends the visitor to sign in.
 */
export interface ApiAuth {
  /** The `Authorization: Bearer` credential, or null to send none. */
  bearerToken?: () => Promise<string | null>;
  onUnauthorized?: (error: ApiError) => void;
}

let apiAuth: ApiAuth = {};

export function configureApiAuth(auth: ApiAuth): void {
  apiAuth = auth;
}

async function authHeaders(): Promise<Record<string, string>> {
  const token = await apiAuth.bearerToken?.();
  return token ? { authorization: `Bearer ${token}` } : {};
}

function client(fetchImpl?: typeof fetch): ApiClient {
  return createApiClient({
    baseUrl: '',
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
    headers: authHeaders,
    onUnauthenticated: (error) => apiAuth.onUnauthorized?.(error),
  });
}

let shared: ApiClient | undefined;

/** The client for one call: the page's shared one, or one over the `fetch` a test injects. */
export function api(options: RequestOptions = {}): ApiClient {
  if (options.fetch) return client(options.fetch);
  shared ??= client();
  return shared;
}

export function getSystemHealth(options: RequestOptions = {}): Promise<SystemHealth> {
  return api(options).system.health({ signal: options.signal });
}

export function getQueueStats(options: RequestOptions = {}): Promise<QueueList> {
  return api(options).system.queues({ signal: options.signal });
}

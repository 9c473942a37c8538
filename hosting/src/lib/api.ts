/**
 * The typed client for the Seraphim HTTP API. Same origin, relative URLs: the embedded runtime
 * and Firebase Hosting both serve Mission Control at `/` and the API at `/api/**`.
 */

export type HealthStatus = 'ok' | 'degraded';
export type RuntimeName = 'embedded' | 'firebase';

export interface HealthCheck {
  status: 'ok' | 'failing';
  detail?: string;
  latencyMs?: number;
}

export interface SystemHealth {
  status: HealthStatus;
  runtime: RuntimeName;
  version: string;
  /** The Node.js version of the serving process, when the runtime reports it. */
  node?: string;
  /** Epoch milliseconds. */
  startedAt: number;
  uptimeMs: number;
  checks: Record<string, HealthCheck>;
}

export interface QueueStats {
  queue: string;
  depth: number;
  inFlight: number;
  oldestAgeMs: number;
  deadLettered: number;
}

export interface QueueList {
  queues: QueueStats[];
}

/** One offending field of an invalid request, e.g. `{ path: 'body.input', message: '…' }`. */
export interface ProblemField {
  path: string;
  message: string;
}

/** RFC 9457 problem details, as every API route reports an error. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  /** For `invalid-input`: each offending field. */
  errors?: ProblemField[];
}

/**
 * Any failed API call. `code` is the server's problem code, or one of the client-side codes:
 * `unreachable` (no HTTP response at all), `unexpected-response` (a response that is not the
 * JSON it should be).
 */
export class ApiError extends Error {
  readonly code: string;
  /** The HTTP status; 0 when the server could not be reached. */
  readonly status: number;
  readonly detail: string | undefined;
  /** The offending fields of an `invalid-input` problem; empty otherwise. */
  readonly errors: readonly ProblemField[];
  /** Seconds to wait before trying again, from a `Retry-After` header (429, 503). */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: string,
    status: number,
    message: string,
    opts: { detail?: string; errors?: readonly ProblemField[]; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
    this.detail = opts.detail;
    this.errors = opts.errors ?? [];
    this.retryAfterSeconds = opts.retryAfterSeconds;
  }
}

/** Anything a call rejected with, as an `ApiError` (an unexpected throw becomes `unexpected-response`). */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return new ApiError('unexpected-response', 0, error instanceof Error ? error.message : String(error), {
    cause: error,
  });
}

export function isAbortError(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}

function isProblem(body: unknown): body is Problem {
  if (typeof body !== 'object' || body === null) return false;
  const candidate = body as Record<string, unknown>;
  return (
    typeof candidate.code === 'string' &&
    typeof candidate.title === 'string' &&
    typeof candidate.status === 'number'
  );
}

async function readJson(response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch (cause) {
    throw new ApiError('unexpected-response', response.status, 'The API answered with malformed JSON', {
      cause,
    });
  }
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

/**
 * Sends one request and resolves with the parsed JSON body on 2xx; rejects with an `ApiError`
 * otherwise (an `AbortError` from the signal passes through untouched, so callers can tell it
 * apart). A `body` is sent as JSON.
 */
export async function requestJson<T>(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  options: RequestOptions & { body?: unknown } = {},
): Promise<T> {
  try {
    return (await sendJson(method, path, options)) as T;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) apiAuth.onUnauthorized?.(error);
    throw error;
  }
}

async function sendJson(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  options: RequestOptions & { body?: unknown },
): Promise<unknown> {
  const doFetch = options.fetch ?? fetch;
  const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const token = await apiAuth.bearerToken?.();
  if (token) headers.authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await doFetch(path, {
      method,
      headers,
      body: options.body === undefined ? null : JSON.stringify(options.body),
      signal: options.signal ?? null,
    });
  } catch (cause) {
    if (isAbortError(cause)) throw cause;
    throw new ApiError('unreachable', 0, 'The Seraphim API cannot be reached', { cause });
  }

  const contentType = response.headers.get('content-type') ?? '';
  if (!response.ok) {
    if (contentType.includes('json')) {
      const body = await readJson(response).catch(() => undefined);
      if (isProblem(body)) {
        const retryAfter = Number.parseInt(response.headers.get('retry-after') ?? '', 10);
        throw new ApiError(body.code, body.status, body.title, {
          ...(body.detail === undefined ? {} : { detail: body.detail }),
          ...(Array.isArray(body.errors) ? { errors: body.errors } : {}),
          ...(Number.isFinite(retryAfter) ? { retryAfterSeconds: retryAfter } : {}),
        });
      }
    }
    throw new ApiError(
      'unexpected-response',
      response.status,
      `The API answered ${response.status} ${response.statusText}`.trim(),
    );
  }
  if (!contentType.includes('json')) {
    throw new ApiError('unexpected-response', response.status, 'The API answered with something other than JSON');
  }
  return readJson(response);
}

/**
 * Sends one request and checks the answer's shape with `parse` (which throws on a mismatch):
 * for the calls whose types live next to a parser, so nothing unchecked is cast.
 */
export async function requestParsed<T>(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  parse: (body: unknown) => T,
  options: RequestOptions & { body?: unknown } = {},
): Promise<T> {
  const body = await requestJson<unknown>(method, path, options);
  try {
    return parse(body);
  } catch (cause) {
    throw new ApiError('unexpected-response', 200, 'The API answered with an unexpected shape', {
      detail: cause instanceof Error ? cause.message : String(cause),
      cause,
    });
  }
}

/** GET a JSON resource; see `requestJson`. */
export function getJson<T>(path: string, options: RequestOptions = {}): Promise<T> {
  return requestJson<T>('GET', path, options);
}

/** POST a JSON body and read the JSON answer; see `requestJson`. */
export function postJson<T>(path: string, body: unknown, options: RequestOptions = {}): Promise<T> {
  return requestJson<T>('POST', path, { ...options, body });
}

/** PUT a JSON body (a whole resource) and read the JSON answer; see `requestJson`. */
export function putJson<T>(path: string, body: unknown, options: RequestOptions = {}): Promise<T> {
  return requestJson<T>('PUT', path, { ...options, body });
}

export function getSystemHealth(options?: RequestOptions): Promise<SystemHealth> {
  return getJson<SystemHealth>('/api/system/health', options);
}

export function getQueueStats(options?: RequestOptions): Promise<QueueList> {
  return getJson<QueueList>('/api/system/queues', options);
}

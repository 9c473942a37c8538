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

  constructor(
    code: string,
    status: number,
    message: string,
    opts: { detail?: string; errors?: readonly ProblemField[]; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
    this.detail = opts.detail;
    this.errors = opts.errors ?? [];
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
 * Sends one request and resolves with the parsed JSON body on 2xx; rejects with an `ApiError`
 * otherwise (an `AbortError` from the signal passes through untouched, so callers can tell it
 * apart). A `body` is sent as JSON.
 */
export async function requestJson<T>(
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  options: RequestOptions & { body?: unknown } = {},
): Promise<T> {
  const doFetch = options.fetch ?? fetch;
  const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
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
        throw new ApiError(body.code, body.status, body.title, {
          ...(body.detail === undefined ? {} : { detail: body.detail }),
          ...(Array.isArray(body.errors) ? { errors: body.errors } : {}),
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
  return (await readJson(response)) as T;
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

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

/** RFC 9457 problem details, as every API route reports an error. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
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

  constructor(code: string, status: number, message: string, opts: { detail?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
    this.detail = opts.detail;
  }
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
 * GET a JSON resource. Resolves with the parsed body on 2xx; rejects with an `ApiError` otherwise
 * (an `AbortError` from the signal passes through untouched, so callers can tell it apart).
 */
export async function getJson<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const doFetch = options.fetch ?? fetch;
  let response: Response;
  try {
    response = await doFetch(path, {
      headers: { accept: 'application/json, application/problem+json' },
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
        const opts = body.detail === undefined ? {} : { detail: body.detail };
        throw new ApiError(body.code, body.status, body.title, opts);
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

export function getSystemHealth(options?: RequestOptions): Promise<SystemHealth> {
  return getJson<SystemHealth>('/api/system/health', options);
}

export function getQueueStats(options?: RequestOptions): Promise<QueueList> {
  return getJson<QueueList>('/api/system/queues', options);
}

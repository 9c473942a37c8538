/**
 * The one typed client of the Seraphim HTTP API, for Mission Control and the
 * CLI alike. Built from the routes' contracts (`orchestrators/api.ts`): a call
 * per route, its arguments and answer typed from the route's schemas, and every
 * answer parsed with the route's response schema, so a server and a client
 * that disagree fail loudly (`unexpected-response`) instead of casting.
 *
 * Pure: zod and `fetch` only, so it runs in Node and in the browser.
 *
 * @example
 * const api = createApiClient({ baseUrl: 'http://127.0.0.1:4400' });
 * const { executions } = await api.executions.list({ params: { workspace: 'demo' }, query: { limit: 20 } });
 */
import type { z } from 'zod';
import { type ApiContract, apiContract } from '../orchestrators/api.js';
import type { ContractGroup, RouteContract } from '../platform/contract.js';
import { ProblemSchema } from '../platform/problem.js';

/** One offending field of an invalid request, e.g. `{ path: 'body.input', message: '…' }`. */
export interface ApiProblemField {
  path: string;
  message: string;
}

/**
 * Any failed call. `code` is the server's problem code, or one of the client's own:
 * `unreachable` (no HTTP answer at all, status 0) and `unexpected-response` (an answer
 * that is not the JSON its route's contract describes).
 */
export class ApiError extends Error {
  readonly code: string;
  /** The HTTP status; 0 when the server could not be reached. */
  readonly status: number;
  readonly detail: string | undefined;
  /** The offending fields of an `invalid-input` problem; empty otherwise. */
  readonly errors: readonly ApiProblemField[];
  /** The trace of the failed request, when the server reported it: quote it to find its spans and logs. */
  readonly traceId: string | undefined;
  /** Seconds to wait before trying again (429, 503), from the problem or its `Retry-After` header. */
  readonly retryAfterSeconds: number | undefined;
  /** The API path of the failed call, e.g. `/api/system/health`; empty when there was none. */
  readonly path: string;

  constructor(
    code: string,
    status: number,
    message: string,
    opts: {
      detail?: string;
      errors?: readonly ApiProblemField[];
      traceId?: string;
      retryAfterSeconds?: number;
      path?: string;
      cause?: unknown;
    } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
    this.detail = opts.detail;
    this.errors = opts.errors ?? [];
    this.traceId = opts.traceId;
    this.retryAfterSeconds = opts.retryAfterSeconds;
    this.path = opts.path ?? '';
  }
}

/**
 * A request refused before it is sent, as the server would refuse it: `invalid-input` with each
 * offending field, its path prefixed by where the value goes (`body.weight`).
 */
export function invalidInput(error: z.ZodError, where: 'params' | 'query' | 'body'): ApiError {
  const errors = error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  return new ApiError('invalid-input', 400, 'Invalid input', {
    detail: `Invalid ${where}: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`,
    errors,
  });
}

/** True for the rejection of a call its caller aborted (it is not an `ApiError`, so callers can ignore it). */
export function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

export interface ApiClientOptions {
  /** Where the API is, without `/api`: `''` for the page's own origin, or e.g. `http://127.0.0.1:4400`. */
  baseUrl: string;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Extra headers for every call, asked for each time (a fresh bearer token, say). */
  headers?(): Record<string, string> | Promise<Record<string, string>>;
  /** Hears every 401, so a session that ended anywhere can send its user to sign in. */
  onUnauthenticated?(error: ApiError): void;
}

type Field<C, K extends string> = C extends { readonly [k in K]: infer S } ? S : undefined;
type Input<S> = S extends z.ZodType ? z.input<S> : never;

/** What a call takes: the route's path parameters, query and body (typed by its schemas), and a signal. */
export type CallOptions<C extends RouteContract> = (Field<C, 'params'> extends z.ZodType
  ? { params: Input<Field<C, 'params'>> }
  : { params?: undefined }) &
  (Field<C, 'query'> extends z.ZodType ? { query?: Input<Field<C, 'query'>> } : { query?: undefined }) &
  (Field<C, 'body'> extends z.ZodType
    ? undefined extends Input<Field<C, 'body'>>
      ? { body?: Input<Field<C, 'body'>> }
      : { body: Input<Field<C, 'body'>> }
    : { body?: undefined }) & { signal?: AbortSignal };

/** The answer of a route, as its response schema parses it. */
export type ResponseOf<C extends RouteContract> = z.output<C['response']>;

/** The answer type of one route by name, e.g. `ApiResponse<'executions', 'get'>`. */
export type ApiResponse<
  O extends keyof ApiContract,
  R extends keyof ApiContract[O],
> = ApiContract[O][R] extends infer C extends RouteContract ? ResponseOf<C> : never;

/** A conditional GET's outcome: unchanged since `etag`, or the new answer with its ETag. */
export type Conditional<R> = { modified: false } | { modified: true; data: R; etag: string | null };

/** Optional arguments may be left out: a route with nothing required is called as `api.system.health()`. */
type Args<C extends RouteContract> =
  Record<never, never> extends CallOptions<C> ? [options?: CallOptions<C>] : [options: CallOptions<C>];

export interface RouteCall<C extends RouteContract> {
  (...args: Args<C>): Promise<ResponseOf<C>>;
  /** The call with `If-None-Match: etag`: a 304 answers `{ modified: false }` without a body to parse. */
  ifChanged(etag: string | null, ...args: Args<C>): Promise<Conditional<ResponseOf<C>>>;
  readonly contract: C;
}

export type ApiClient = {
  readonly [O in keyof ApiContract]: {
    readonly [R in keyof ApiContract[O]]: ApiContract[O][R] extends infer C extends RouteContract
      ? RouteCall<C>
      : never;
  };
};

/** The path of one call: `:name` segments replaced by their parameter, URI-encoded. */
export function routeUrl(
  orchestrator: string,
  contract: RouteContract,
  params: Record<string, unknown> | undefined,
  query: Record<string, unknown> | undefined,
): string {
  const path = contract.path.replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => {
    const value = params?.[name];
    if (value === undefined || value === null || value === '')
      throw new ApiError('invalid-input', 0, `Path parameter "${name}" is missing`);
    return encodeURIComponent(String(value));
  });
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null) continue;
    search.set(key, String(value));
  }
  const tail = search.size > 0 ? `?${search}` : '';
  return `/api/${orchestrator}${path === '/' ? '' : path}${tail}`;
}

interface CallRecord {
  params?: unknown;
  query?: unknown;
  body?: unknown;
  signal?: AbortSignal;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? Object.fromEntries(Object.entries(value)) : undefined;
}

function retryAfter(problem: number | undefined, header: string | null): number | undefined {
  if (problem !== undefined) return problem;
  const seconds = Number.parseInt(header ?? '', 10);
  return Number.isFinite(seconds) ? seconds : undefined;
}

async function problemError(response: Response, path: string): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const problem = ProblemSchema.safeParse(body);
  if (!problem.success) {
    return new ApiError(
      'unexpected-response',
      response.status,
      `The API answered ${response.status} ${response.statusText}`.trim(),
      { detail: text.slice(0, 200), path },
    );
  }
  const p = problem.data;
  const seconds = retryAfter(p.retryAfterSeconds, response.headers.get('retry-after'));
  return new ApiError(p.code, p.status, p.title, {
    ...(p.detail === undefined ? {} : { detail: p.detail }),
    ...(p.errors === undefined ? {} : { errors: p.errors }),
    ...(p.traceId === undefined ? {} : { traceId: p.traceId }),
    ...(seconds === undefined ? {} : { retryAfterSeconds: seconds }),
    path,
  });
}

/** Builds the client: `api.<orchestrator>.<route>(…)` for every route in the contract. */
export function createApiClient(options: ApiClientOptions): ApiClient {
  const base = options.baseUrl.replace(/\/$/, '');

  async function send(
    orchestrator: string,
    contract: RouteContract,
    call: CallRecord,
    etag: string | null,
  ): Promise<{ response: Response; url: string }> {
    const url = routeUrl(orchestrator, contract, record(call.params), record(call.query));
    const headers: Record<string, string> = {
      accept: 'application/json, application/problem+json',
      ...(await options.headers?.()),
    };
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    if (etag !== null) headers['if-none-match'] = etag;
    const doFetch = options.fetch ?? globalThis.fetch;
    try {
      const response = await doFetch(`${base}${url}`, {
        method: contract.method,
        headers,
        body: call.body === undefined ? null : JSON.stringify(call.body),
        signal: call.signal ?? null,
      });
      return { response, url };
    } catch (cause) {
      if (isAbortError(cause)) throw cause;
      throw new ApiError('unreachable', 0, `The Seraphim API at ${base || 'this origin'} cannot be reached`, {
        detail: cause instanceof Error ? cause.message : String(cause),
        path: url,
        cause,
      });
    }
  }

  async function answer(contract: RouteContract, response: Response, url: string): Promise<unknown> {
    if (!response.ok) {
      const error = await problemError(response, url);
      if (error.status === 401) options.onUnauthenticated?.(error);
      throw error;
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch (cause) {
      throw new ApiError(
        'unexpected-response',
        response.status,
        `${url} answered with a body that is not JSON`,
        {
          cause,
        },
      );
    }
    const parsed = contract.response.safeParse(body);
    if (!parsed.success) {
      throw new ApiError('unexpected-response', response.status, `${url} answered in an unexpected shape`, {
        detail: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
        path: url,
        cause: parsed.error,
      });
    }
    return parsed.data;
  }

  function routeCall(orchestrator: string, contract: RouteContract) {
    const call = async (options: CallRecord = {}) => {
      const { response, url } = await send(orchestrator, contract, options, null);
      return answer(contract, response, url);
    };
    const ifChanged = async (etag: string | null, options: CallRecord = {}) => {
      const { response, url } = await send(orchestrator, contract, options, etag);
      if (response.status === 304) return { modified: false };
      const data = await answer(contract, response, url);
      return { modified: true, data, etag: response.headers.get('etag') };
    };
    return Object.assign(call, { ifChanged, contract });
  }

  const groups: Record<string, ContractGroup> = apiContract;
  const client = Object.fromEntries(
    Object.entries(groups).map(([orchestrator, routes]) => [
      orchestrator,
      Object.fromEntries(Object.entries(routes).map(([name, c]) => [name, routeCall(orchestrator, c)])),
    ]),
  );
  // The calls above are built from the same contract the type is: each one parses its answer with its route's schema.
  return client as ApiClient;
}

export { type ApiContract, apiContract };

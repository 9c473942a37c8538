/**
 * The runtime-independent HTTP front door. Both runtimes hand it a plain
 * request and send back the plain response it returns: the embedded Node
 * server, and the firebase runtime's `onRequest` function per orchestrator.
 * Validation, authentication, workspace access, error mapping and the 413/404
 * answers therefore behave the same everywhere.
 *
 * One chain per request: identity (resolvers, first match wins) → access (the
 * route's declared access against the caller's membership role) → hooks →
 * parse params, query and body → handler → response checked against its schema.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { apiDocsResponse } from './api-docs.js';
import { cookieHeader } from './cookies.js';
import {
  errorMessage,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
  PayloadTooLargeError,
  SeraphimError,
  UnauthenticatedError,
} from './errors.js';
import { type Identity, roleAtLeast, type WorkspaceAccess, workspaceRole } from './identity.js';
import { readJsonBody } from './json-body.js';
import type { Context, HttpMethod, Orchestrator, Reply, RouteDefinition } from './orchestrator.js';
import type { Ports } from './ports.js';
import { type Problem, problem, zodFields } from './problem.js';
import { activeTraceIds, type Span, SpanKind, SpanStatusCode, type Tracer } from './tracing.js';

export interface ApiRequest {
  method: string;
  /** The URL path, e.g. `/api/system/health`. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | undefined>;
  /** The raw body; runtimes must refuse bodies over the limit before buffering them whole. */
  body: Uint8Array | undefined;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface ApiOptions {
  ports: Ports;
  /**
   * Who calls, tried in order: the first resolver that recognises a credential
   * wins. A resolver answers null for a request without its kind of credential,
   * and throws UnauthenticatedError for a credential of its kind that is bad.
   */
  resolvers: readonly IdentityResolver[];
  /** Run in order after access is granted and before the request is parsed (quotas, tracing). */
  hooks?: readonly RequestHook[];
  /**
   * Builds `/api/openapi.json`; lazy, so a function serving one orchestrator need not load the others.
   * Where it is given, the reference docs at `/api/docs` are served too.
   */
  openApi?: () => Promise<unknown>;
  /** @default 1 MiB */
  maxBodyBytes?: number;
}

export type IdentityResolver = (request: ApiRequest) => Promise<Identity | null>;
export type RequestHook = (
  request: ApiRequest,
  identity: Identity | null,
  route: RouteDefinition,
) => Promise<void>;

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

interface CompiledRoute {
  orchestrator: string;
  method: HttpMethod;
  segments: string[];
  route: RouteDefinition;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** Titles a person reads; `code` stays the stable key programs use. */
const PROBLEM_TITLES: Record<string, string> = {
  retryable: 'Temporarily unavailable',
  'retry-after': 'Too many requests',
  permanent: 'Cannot be done',
  'invalid-input': 'Invalid input',
  'not-found': 'Not found',
  conflict: 'Not possible in the current state',
  unauthenticated: 'Sign-in required',
  forbidden: 'Not allowed',
  'payload-too-large': 'Too large',
  'rate-limited': 'Too many requests',
  'storage-full': 'Storage full',
  internal: 'Internal error',
};
const PROBLEM_TYPE = 'application/problem+json; charset=utf-8';

export function apiPath(orchestrator: string, routePath: string): string {
  return `/api/${orchestrator}${routePath === '/' ? '' : routePath}`;
}

function compile(orchestrators: readonly Orchestrator[]): CompiledRoute[] {
  return orchestrators.flatMap((o) =>
    o.routes.map((route) => ({
      orchestrator: o.name,
      method: route.method,
      segments: apiPath(o.name, route.path).split('/').filter(Boolean),
      route,
    })),
  );
}

function matchSegments(pattern: string[], actual: string[]): Record<string, string> | null {
  if (pattern.length !== actual.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const want = pattern[i] as string;
    const got = actual[i] as string;
    if (want.startsWith(':')) {
      try {
        params[want.slice(1)] = decodeURIComponent(got);
      } catch {
        return null;
      }
    } else if (want !== got) return null;
  }
  return params;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return { status, headers: { 'content-type': JSON_TYPE, ...headers }, body: JSON.stringify(body) };
}

/** Every problem quotes the trace of the request it answers, so a caller can hand it to support. */
export function problemResponse(p: Problem, headers: Record<string, string> = {}): ApiResponse {
  const traceId = activeTraceIds()?.traceId;
  const body = traceId === undefined ? p : { ...p, traceId };
  return {
    status: p.status,
    headers: { 'content-type': PROBLEM_TYPE, ...headers },
    body: JSON.stringify(body),
  };
}

/**
 * The server span of one API request, continuing the caller's W3C
 * `traceparent`. It is named by the method alone until `fn` names the
 * matched route (`GET /api/executions/workspaces/:workspace/executions`):
 * a span name must not carry ids, or every request would be its own name.
 */
export function traceRequest(
  tracer: Tracer,
  request: Pick<ApiRequest, 'method' | 'path' | 'headers'>,
  fn: (span: Span) => Promise<ApiResponse>,
): Promise<ApiResponse> {
  const method = request.method.toUpperCase();
  return tracer.span(
    method,
    {
      kind: SpanKind.SERVER,
      carried: { traceparent: request.headers.traceparent },
      attributes: { 'http.request.method': method, 'url.path': request.path },
    },
    async (span) => {
      const response = await fn(span);
      span.setAttribute('http.response.status_code', response.status);
      // A 4xx is the caller's doing, not a failure of the server (OTel's HTTP conventions).
      if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      return response;
    },
  );
}

function queryObject(query: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(query.keys())) {
    const all = query.getAll(key);
    out[key] = all.length === 1 ? (all[0] as string) : all;
  }
  return out;
}

function parse<T>(schema: z.ZodType<T> | undefined, value: unknown, where: string): T {
  if (!schema) return undefined as T;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const fields = zodFields(result.error, where);
  throw new InvalidInputError(
    `Invalid ${where}: ${fields.map((f) => `${f.path}: ${f.message}`).join('; ')}`,
    fields,
  );
}

function parseBody(request: ApiRequest, route: RouteDefinition): unknown {
  if (!route.body) return undefined;
  return parse(route.body, readJsonBody(request.body, request.headers['content-type']), 'body');
}

/**
 * An empty query value (`?updatedAfter=`) is refused rather than read: zod's
 * number coercion turns `''` into 0, and a filter silently read as 0 (or as
 * absent) answers a different question from the one asked.
 */
function parseQuery<T>(schema: z.ZodType<T> | undefined, query: URLSearchParams): T {
  if (!schema) return undefined as T;
  const empty = [...new Set(query.keys())].filter((key) => query.getAll(key).some((v) => v === ''));
  if (empty.length > 0) {
    throw new InvalidInputError(
      `Empty query parameter: ${empty.join(', ')}; give a value or leave it out`,
      empty.map((key) => ({ path: `query.${key}`, message: 'empty; give a value or leave it out' })),
    );
  }
  return parse(schema, queryObject(query), 'query');
}

/** Maps anything a handler threw to a problem response; unknown errors become a 500 with a logged error id. */
export function errorResponse(
  error: unknown,
  ports: Pick<Ports, 'ids' | 'logger'>,
  where: string,
): ApiResponse {
  if (error instanceof SeraphimError) {
    const fields = error instanceof InvalidInputError ? error.fields : undefined;
    const retryAfter = 'retryAfterMs' in error ? Math.ceil(Number(error.retryAfterMs) / 1000) : undefined;
    return problemResponse(
      problem(error.status, error.code, PROBLEM_TITLES[error.code] ?? 'Error', {
        detail: error.message,
        ...(fields && fields.length > 0 ? { errors: fields } : {}),
        ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }),
      }),
      retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) },
    );
  }
  const errorId = ports.ids.next();
  ports.logger.error('Unhandled error in request handler', {
    errorId,
    where,
    error: errorMessage(error),
    stack: error instanceof Error ? error.stack : undefined,
  });
  return problemResponse(
    problem(500, 'internal', 'Internal error', {
      detail: `Something went wrong. Error id: ${errorId}`,
      errorId,
    }),
  );
}

/**
 * One address per resource: a trailing slash or an empty segment is 404 on
 * every route, not a redirect. Programs call the API, and a redirect would
 * hide a wrong URL in a client (and cost a round trip on every call), while
 * the answer below names the address meant.
 */
function noEmptySegment(method: string, path: string): string {
  const canonical = `/${path.split('/').filter(Boolean).join('/')}`;
  return `No route ${method} ${path}: paths have no trailing slash or empty segment (did you mean ${canonical}?)`;
}

export type ApiHandler = (request: ApiRequest) => Promise<ApiResponse>;

export function createApiHandler(orchestrators: readonly Orchestrator[], opts: ApiOptions): ApiHandler {
  const routes = compile(orchestrators);
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const { ports } = opts;
  const hooks = opts.hooks ?? [];

  /** The caller, resolved once. A public route is served even when the credential sent is bad. */
  async function identify(request: ApiRequest, route: RouteDefinition): Promise<Identity | null> {
    try {
      for (const resolve of opts.resolvers) {
        const identity = await resolve(request);
        if (identity) return identity;
      }
      return null;
    } catch (error) {
      if (route.access === 'public' && error instanceof UnauthenticatedError) return null;
      throw error;
    }
  }

  /** 401 without a caller, 404 outside your workspaces (as for a missing one), 403 below the route's role. */
  async function checkAccess(
    route: RouteDefinition,
    identity: Identity | null,
    workspace: string | undefined,
  ): Promise<WorkspaceAccess | null> {
    if (route.access === 'public') return null;
    if (!identity) throw new UnauthenticatedError('Sign in first');
    if (route.access === 'signed-in') return null;
    if (route.access === 'platform-admin') {
      if (!identity.platformAdmin) throw new ForbiddenError('Only a platform admin may do this');
      return null;
    }
    const role = workspace === undefined ? null : await workspaceRole(identity, workspace, ports.documents);
    if (workspace === undefined || role === null)
      throw new NotFoundError(`Workspace "${workspace}" not found`);
    if (!roleAtLeast(role, route.access))
      throw new ForbiddenError(`This needs the ${route.access} role in "${workspace}"; yours is ${role}`);
    return { workspace, role };
  }

  return (request) => traceRequest(ports.tracer, request, (span) => answer(request, span));

  async function answer(request: ApiRequest, span: Span): Promise<ApiResponse> {
    const method = request.method.toUpperCase();
    const segments = request.path.split('/').slice(1);
    try {
      if (segments.includes('')) throw new NotFoundError(noEmptySegment(method, request.path));
      if (request.body && request.body.byteLength > maxBody) {
        throw new PayloadTooLargeError(`Body is ${request.body.byteLength} bytes; the limit is ${maxBody}`);
      }
      if (opts.openApi && method === 'GET' && request.path === '/api/openapi.json') {
        return json(200, await opts.openApi());
      }
      const docs = opts.openApi && method === 'GET' ? await apiDocsResponse(request.path) : undefined;
      if (docs) return docs;
      let allowed: string[] = [];
      for (const candidate of routes) {
        const params = matchSegments(candidate.segments, segments);
        if (!params) continue;
        if (candidate.method !== method) {
          allowed = [...allowed, candidate.method];
          continue;
        }
        const route = apiPath(candidate.orchestrator, candidate.route.path);
        span.updateName(`${method} ${route}`);
        span.setAttribute('http.route', route);
        return await invoke(candidate, params, request);
      }
      if (allowed.length > 0) {
        return problemResponse(
          problem(405, 'method-not-allowed', 'Method not allowed', {
            detail: `${method} is not allowed on ${request.path}; use ${allowed.join(', ')}`,
          }),
          { allow: allowed.join(', ') },
        );
      }
      throw new NotFoundError(`No route ${method} ${request.path}`);
    } catch (error) {
      return errorResponse(error, ports, `${method} ${request.path}`);
    }
  }

  async function invoke(
    compiled: CompiledRoute,
    rawParams: Record<string, string>,
    request: ApiRequest,
  ): Promise<ApiResponse> {
    const { route } = compiled;
    const identity = await identify(request, route);
    const access = await checkAccess(route, identity, rawParams.workspace);
    for (const hook of hooks) await hook(request, identity, route);
    const params = route.params ? parse(route.params, rawParams, 'params') : rawParams;
    const query = parseQuery(route.query, request.query);
    const body = parseBody(request, route);
    const requestId = request.headers['x-request-id']?.slice(0, 64) || ports.ids.next();
    const ctx: Context = {
      ...ports,
      correlationId: requestId,
      logger: ports.logger.child({
        requestId,
        route: `${route.method} ${apiPath(compiled.orchestrator, route.path)}`,
      }),
    };
    const cookies: string[] = [];
    const secure = request.headers['x-forwarded-proto']?.split(',')[0]?.trim() === 'https';
    const reply: Reply = {
      setCookie: (name, value, o) => cookies.push(cookieHeader(name, value, { ...o, secure })),
      clearCookie: (name) => cookies.push(cookieHeader(name, '', { maxAgeSeconds: 0, secure })),
    };
    const result = await route.handler({ params, query, body, identity, access, reply, requestId }, ctx);
    const checked = route.response.safeParse(result);
    if (!checked.success) {
      // The handler broke its own published contract: a bug, not the caller's fault.
      throw new Error(`Response does not match its schema: ${z.prettifyError(checked.error)}`);
    }
    const response = json(route.status ?? 200, checked.data, {
      'x-request-id': requestId,
      ...(cookies.length > 0 ? { 'set-cookie': cookies.join(', ') } : {}),
    });
    return route.method === 'GET' ? conditional(request, response) : response;
  }
}

/**
 * Conditional GET: every GET answer carries a weak ETag of its body, and a
 * request whose If-None-Match names it gets 304 with no body. Pollers (and
 * the browser's own cache, as `no-cache` tells it to revalidate) then pay for
 * a body only when something changed.
 */
function conditional(request: ApiRequest, response: ApiResponse): ApiResponse {
  const etag = `W/"${createHash('sha256').update(response.body).digest('base64url').slice(0, 27)}"`;
  const headers: Record<string, string> = { ...response.headers, etag, 'cache-control': 'no-cache' };
  const matches = request.headers['if-none-match']?.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === etag.slice(2);
  });
  if (!matches) return { ...response, headers };
  const { 'content-type': _, ...rest } = headers;
  return { status: 304, headers: rest, body: '' };
}

/**
 * OpenAPI 3.1 from the route declarations themselves, so the published API
 * documentation cannot drift from the code that serves it. Mission Control
 * and the CLI build their client on it, so it must stay valid: `npm test`
 * lints it with Redocly (openapi.lint.test.ts).
 */
import type { z } from 'zod';
import { type ClientProblemStatus, ERROR_STATUS } from './errors.js';
import { apiPath } from './http.js';
import {
  catalogSchemas,
  type JsonSchema,
  reachableComponents,
  type SchemaCatalog,
} from './openapi-schemas.js';
import type { Orchestrator, RouteDefinition } from './orchestrator.js';
import { ProblemSchema } from './problem.js';

const PROBLEM_JSON = 'application/problem+json';
const RESPONSE_REF = '#/components/responses/';

/** One reusable response per status a route can declare, each with the `Problem` body. */
const PROBLEM_RESPONSES: Record<ClientProblemStatus, { name: string; description: string }> = {
  400: { name: 'InvalidInput', description: 'Invalid input: `errors` names each offending field' },
  401: { name: 'Unauthenticated', description: 'No credential, or one that was rejected' },
  403: { name: 'Forbidden', description: "The caller's role does not allow this" },
  404: { name: 'NotFound', description: 'No such resource, or in a workspace the caller cannot see' },
  409: {
    name: 'Conflict',
    description: 'Not possible in the current state, or a concurrent change won: read again, then retry',
  },
  413: { name: 'PayloadTooLarge', description: 'The body, or a value made from it, is over its size limit' },
  422: { name: 'CannotBeDone', description: 'Cannot be done: retrying will not help' },
  429: {
    name: 'TooManyRequests',
    description: 'Over a budget or a rate limit: retry after `Retry-After` seconds',
  },
};
const SERVER_ERROR = {
  name: 'ServerError',
  description: '500 `internal` (its `errorId` is logged), or 503 `retryable`: retry with backoff',
};

/**
 * What a route's declared access lets the front door refuse: the one place
 * that reads `access`. Every route but a public one needs a caller (401);
 * one limited beyond what every caller or member has (above viewer, or
 * platform-admin) can also refuse a caller's role (403). A workspace the
 * caller is not a member of answers 404, which its path parameter declares.
 */
export function accessProblems(access: RouteDefinition['access']): ClientProblemStatus[] {
  switch (access) {
    case 'public':
      return [];
    case 'signed-in':
    case 'viewer':
      return [ERROR_STATUS.unauthenticated];
    default:
      return [ERROR_STATUS.unauthenticated, ERROR_STATUS.forbidden];
  }
}

/**
 * The 4xx statuses a route can answer with: those its declaration implies,
 * plus those it declares (`problems`) for what its handler throws.
 */
export function routeProblems(route: RouteDefinition): ClientProblemStatus[] {
  const statuses = new Set<ClientProblemStatus>(route.problems ?? []);
  if (route.params || route.query || route.body) statuses.add(ERROR_STATUS['invalid-input']);
  for (const status of accessProblems(route.access)) statuses.add(status);
  // An id in the path can name nothing, and a `:workspace` one the caller cannot see.
  if (pathParameters(route.path).length > 0) statuses.add(ERROR_STATUS['not-found']);
  if (route.body) statuses.add(ERROR_STATUS['payload-too-large']);
  return [...statuses].sort((a, b) => a - b);
}

function pathParameters(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1] as string);
}

/** `executions.getApiExecutionsWorkspacesWorkspaceExecutionsId`: unique, as method and path are. */
export function operationId(orchestrator: string, route: RouteDefinition): string {
  const path = apiPath(orchestrator, route.path);
  const words = path.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ''));
  return `${orchestrator}.${route.method.toLowerCase()}${words}`;
}

function parameters(route: RouteDefinition, catalog: SchemaCatalog): unknown[] {
  const out: unknown[] = [];
  const describe = (schema: z.ZodType | undefined, where: 'path' | 'query', names: string[]) => {
    const json = schema ? catalog.shape(schema, 'input') : undefined;
    const props = (json?.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((json?.required as string[] | undefined) ?? []);
    for (const name of new Set([...names, ...Object.keys(props)])) {
      const { description, ...propSchema } = props[name] ?? { type: 'string' };
      out.push({
        name,
        in: where,
        required: where === 'path' || required.has(name),
        ...(typeof description === 'string' ? { description } : {}),
        schema: propSchema,
      });
    }
  };
  describe(route.params, 'path', pathParameters(route.path));
  describe(route.query, 'query', []);
  return out;
}

function operation(orchestrator: string, route: RouteDefinition, catalog: SchemaCatalog) {
  const status = route.status ?? 200;
  const problems = Object.fromEntries(
    routeProblems(route).map((s) => [String(s), { $ref: RESPONSE_REF + PROBLEM_RESPONSES[s].name }]),
  );
  return {
    operationId: operationId(orchestrator, route),
    tags: [orchestrator],
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    ...(route.access === 'public' ? { security: [] } : {}),
    parameters: parameters(route, catalog),
    ...(route.body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: catalog.use(route.body, 'input') } },
          },
        }
      : {}),
    responses: {
      [String(status)]: {
        description: status === 201 ? 'Created' : status === 202 ? 'Accepted' : 'OK',
        content: { 'application/json': { schema: catalog.use(route.response, 'output') } },
      },
      ...problems,
      default: { $ref: RESPONSE_REF + SERVER_ERROR.name },
    },
  };
}

function problemResponse(problem: JsonSchema, description: string, status?: ClientProblemStatus) {
  return {
    description,
    ...(status === ERROR_STATUS['retry-after']
      ? {
          headers: {
            'Retry-After': {
              description: 'Seconds to wait before trying again',
              schema: { type: 'integer', minimum: 0 },
            },
          },
        }
      : {}),
    content: { [PROBLEM_JSON]: { schema: problem } },
  };
}

export function buildOpenApi(orchestrators: readonly Orchestrator[], info: { version: string }): JsonSchema {
  const routes = orchestrators.flatMap((o) => o.routes.map((route) => ({ orchestrator: o.name, route })));
  const catalog = catalogSchemas([
    ProblemSchema,
    ...routes.flatMap(({ route }) =>
      [route.params, route.query, route.body, route.response].filter((s) => s !== undefined),
    ),
    // Kept only where something refers to them, as every component is (reachableComponents).
    ...orchestrators.flatMap((o) => o.apiSchemas),
  ]);
  const paths: Record<string, Record<string, unknown>> = {};
  const used = new Set<ClientProblemStatus>();
  for (const { orchestrator, route } of routes) {
    const key = apiPath(orchestrator, route.path).replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    paths[key] ??= {};
    (paths[key] as Record<string, unknown>)[route.method.toLowerCase()] = operation(
      orchestrator,
      route,
      catalog,
    );
    for (const status of routeProblems(route)) used.add(status);
  }
  const problem = catalog.use(ProblemSchema, 'output');
  const responses = {
    ...Object.fromEntries(
      [...used]
        .sort((a, b) => a - b)
        .map((s) => [
          PROBLEM_RESPONSES[s].name,
          problemResponse(problem, PROBLEM_RESPONSES[s].description, s),
        ]),
    ),
    [SERVER_ERROR.name]: problemResponse(problem, SERVER_ERROR.description),
  };
  return {
    openapi: '3.1.0',
    info: { title: 'Seraphim API', version: info.version },
    servers: [{ url: '/' }],
    tags: orchestrators.map((o) => ({ name: o.name, description: o.description })),
    paths,
    components: {
      schemas: reachableComponents(catalog.components, [paths, responses]),
      responses,
      securitySchemes: {
        firebaseIdToken: { type: 'http', scheme: 'bearer', bearerFormat: 'Firebase ID token' },
      },
    },
    security: [{ firebaseIdToken: [] }],
  };
}

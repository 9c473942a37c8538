/**
 * OpenAPI 3.1 from the route declarations themselves, so the published API
 * documentation cannot drift from the code that serves it.
 */
import { z } from 'zod';
import { apiPath } from './http.js';
import type { Orchestrator, RouteDefinition } from './orchestrator.js';
import { ProblemSchema } from './problem.js';

type JsonSchema = Record<string, unknown>;

function schemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const out = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonSchema;
  delete out.$schema;
  return out;
}

function parameters(route: RouteDefinition, pathParams: string[]): unknown[] {
  const out: unknown[] = [];
  const describe = (schema: z.ZodType | undefined, where: 'path' | 'query', names: string[]) => {
    const json = schema ? schemaOf(schema, 'input') : undefined;
    const props = (json?.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((json?.required as string[] | undefined) ?? []);
    const all = new Set([...names, ...Object.keys(props)]);
    for (const name of all) {
      out.push({
        name,
        in: where,
        required: where === 'path' || required.has(name),
        schema: props[name] ?? { type: 'string' },
      });
    }
  };
  describe(route.params, 'path', pathParams);
  describe(route.query, 'query', []);
  return out;
}

export function buildOpenApi(orchestrators: readonly Orchestrator[], info: { version: string }): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const o of orchestrators) {
    for (const route of o.routes) {
      const full = apiPath(o.name, route.path);
      const pathParams = [...full.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1] as string);
      const key = full.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      const status = String(route.status ?? 200);
      paths[key] ??= {};
      (paths[key] as Record<string, unknown>)[route.method.toLowerCase()] = {
        operationId: `${o.name}.${route.method.toLowerCase()}${full.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
        tags: [o.name],
        summary: route.summary,
        ...(route.description ? { description: route.description } : {}),
        ...(route.access === 'public' ? { security: [] } : {}),
        parameters: parameters(route, pathParams),
        ...(route.body
          ? {
              requestBody: {
                required: true,
                content: { 'application/json': { schema: schemaOf(route.body, 'input') } },
              },
            }
          : {}),
        responses: {
          [status]: {
            description: 'Success',
            content: { 'application/json': { schema: schemaOf(route.response, 'output') } },
          },
          default: {
            description: 'Problem',
            content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
          },
        },
      };
    }
  }
  const problemSchema = schemaOf(ProblemSchema, 'output');
  delete problemSchema.id;
  return {
    openapi: '3.1.0',
    info: { title: 'Seraphim API', version: info.version },
    servers: [{ url: '/' }],
    tags: orchestrators.map((o) => ({ name: o.name, description: o.description })),
    paths,
    components: {
      schemas: { Problem: problemSchema },
      securitySchemes: {
        firebaseIdToken: { type: 'http', scheme: 'bearer', bearerFormat: 'Firebase ID token' },
      },
    },
    security: [{ firebaseIdToken: [] }],
  };
}

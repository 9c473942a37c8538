/** The OpenAPI document: valid references, components named once, and the 4xx of every route. */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { orchestrators } from '../orchestrators/registry.js';
import { ERROR_STATUS } from './errors.js';
import { accessProblems, buildOpenApi, operationId, routeProblems } from './openapi.js';
import { defineOrchestrator, defineRoute, type RouteDefinition } from './orchestrator.js';

type Json = Record<string, unknown>;

const doc = buildOpenApi(orchestrators, { version: 'test' });

function collectRefs(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) collectRefs(item, out);
  else if (typeof node === 'object' && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') out.push(value);
      else collectRefs(value, out);
    }
  }
  return out;
}

/** Follows a local JSON pointer (`#/a/b~1c`); undefined where it leads nowhere. */
function resolvePointer(root: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let node = root;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) return undefined;
    node = (node as Json)[key];
  }
  return node;
}

function keysAnywhere(node: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const item of node) keysAnywhere(item, out);
  else if (typeof node === 'object' && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      out.add(key);
      keysAnywhere(value, out);
    }
  }
  return out;
}

interface Operation {
  operationId: string;
  tags: string[];
  summary: string;
  responses: Record<string, Json>;
  requestBody?: { content: Record<string, { schema: Json }> };
}

function operations(document: Json): Array<{ path: string; method: string; op: Operation }> {
  return Object.entries(document.paths as Record<string, Record<string, Operation>>).flatMap(
    ([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })),
  );
}

const allRoutes = orchestrators.flatMap((o) => o.routes.map((route) => ({ orchestrator: o.name, route })));

function operationOf(orchestrator: string, route: RouteDefinition): Operation {
  const found = operations(doc).find(({ op }) => op.operationId === operationId(orchestrator, route));
  if (!found) throw new Error(`no operation for ${route.method} ${route.path}`);
  return found.op;
}

describe('the OpenAPI document of every orchestrator', () => {
  it('resolves every $ref inside the document', () => {
    const refs = collectRefs(doc);
    expect(refs.length).toBeGreaterThan(20);
    expect(refs.filter((ref) => resolvePointer(doc, ref) === undefined)).toEqual([]);
  });

  it('keeps no $defs, $id or $schema: what is shared is a component', () => {
    const keys = keysAnywhere(doc.paths);
    for (const key of ['$defs', '$id', '$schema']) expect(keys.has(key), key).toBe(false);
    expect(keysAnywhere((doc.components as Json).schemas).has('$defs')).toBe(false);
  });

  it('lists every schema with a .meta id that a route uses, each once, and only those', () => {
    const schemas = Object.keys((doc.components as { schemas: Json }).schemas);
    expect(schemas).toEqual(
      expect.arrayContaining(['Problem', 'Execution', 'UseCase', 'Checkpoint', 'PoolStats', 'Health']),
    );
    // The use case body is only ever sent: its input shape (defaults optional) is all there is.
    expect(schemas).toContain('UseCaseBodyInput');
    expect(schemas).not.toContain('UseCaseBody');
    const referenced = new Set(collectRefs(doc).map((ref) => ref.split('/').pop()));
    expect(schemas.filter((name) => !referenced.has(name))).toEqual([]);
  });

  it('gives every operation a unique id, its orchestrator’s tag and a summary', () => {
    const ops = operations(doc);
    expect(ops).toHaveLength(allRoutes.length);
    expect(new Set(ops.map(({ op }) => op.operationId)).size).toBe(ops.length);
    const tags = new Set((doc.tags as Array<{ name: string }>).map((t) => t.name));
    for (const { op } of ops) {
      expect(op.tags.every((tag) => tags.has(tag))).toBe(true);
      expect(op.summary.length).toBeGreaterThan(0);
    }
  });

  it('declares each 4xx a route can return with the Problem body, and 5xx as the default', () => {
    for (const { orchestrator, route } of allRoutes) {
      const op = operationOf(orchestrator, route);
      const statuses = Object.keys(op.responses).filter((s) => s.startsWith('4'));
      expect(statuses, `${route.method} ${route.path}`).toEqual(routeProblems(route).map(String));
      for (const status of [...statuses, 'default']) {
        const response = resolvePointer(doc, String(op.responses[status]?.$ref)) as {
          description: string;
          content: Record<string, { schema: Json }>;
        };
        expect(response.description.length).toBeGreaterThan(0);
        expect(response.content['application/problem+json']?.schema).toEqual({
          $ref: '#/components/schemas/Problem',
        });
      }
    }
  });

  it('tells a client of a 429 when to come back', () => {
    const responses = (doc.components as { responses: Record<string, Json> }).responses;
    expect(responses.TooManyRequests?.headers).toMatchObject({
      'Retry-After': { schema: { type: 'integer', minimum: 0 } },
    });
  });
});

describe('routeProblems: what a declaration implies', () => {
  const route = (extra: Partial<RouteDefinition>): RouteDefinition => ({
    method: 'GET',
    path: '/things',
    access: 'signed-in',
    summary: 'things',
    response: z.object({}),
    handler: async () => ({}),
    ...extra,
  });
  const body = z.object({ name: z.string() });

  it('400 for a route with params, query or body schemas, and not for one without', () => {
    expect(routeProblems(route({ access: 'public' }))).toEqual([]);
    expect(routeProblems(route({ access: 'public', query: z.object({ q: z.string() }) }))).toContain(400);
    expect(routeProblems(route({ access: 'public', method: 'POST', body }))).toContain(400);
    expect(
      routeProblems(route({ access: 'public', path: '/things/:id', params: z.object({ id: z.string() }) })),
    ).toContain(400);
  });

  it('401 unless the route is public', () => {
    expect(accessProblems('public')).toEqual([]);
    expect(accessProblems('signed-in')).toEqual([401]);
    expect(routeProblems(route({}))).toEqual([401]);
    expect(routeProblems(route({ access: 'public' }))).not.toContain(401);
  });

  it('403 where the route needs more than every caller or member has', () => {
    expect(accessProblems('viewer')).toEqual([401]);
    for (const access of ['operator', 'admin', 'owner', 'platform-admin'] as const) {
      expect(accessProblems(access)).toEqual([401, 403]);
    }
    expect(routeProblems(route({ path: '/w/:workspace', access: 'operator' }))).toEqual([401, 403, 404]);
  });

  it('404 when the path has a parameter (a :workspace among them)', () => {
    expect(routeProblems(route({ access: 'public', path: '/things/:id' }))).toEqual([404]);
    expect(routeProblems(route({ access: 'public', path: '/workspaces/:workspace/stats' }))).toEqual([404]);
    expect(routeProblems(route({ access: 'public', path: '/things' }))).not.toContain(404);
  });

  it('413 when it takes a body', () => {
    expect(routeProblems(route({ access: 'public', method: 'POST', body }))).toEqual([400, 413]);
    expect(routeProblems(route({ access: 'public', method: 'POST' }))).not.toContain(413);
  });

  it('adds what the route declares, once each, in order', () => {
    expect(routeProblems(route({ path: '/things/:id', problems: [429, 409, 404] }))).toEqual([
      401, 404, 409, 429,
    ]);
  });
});

describe('declared problems', () => {
  const clientStatuses = new Set<number>(Object.values(ERROR_STATUS).filter((s) => s >= 400 && s < 500));

  it('name only 4xx statuses that an error class answers with', () => {
    const declared = allRoutes.flatMap(({ route }) => route.problems ?? []);
    expect(declared.length).toBeGreaterThan(0);
    expect(declared.filter((status) => !clientStatuses.has(status))).toEqual([]);
    // And the type allows nothing else: `npm test`'s typecheck fails if this line stops being an error.
    defineRoute({
      method: 'GET',
      path: '/teapot',
      access: 'public',
      summary: 'not a status any error has',
      response: z.object({}),
      // @ts-expect-error 418 is no error class's status
      problems: [418],
      handler: async () => ({}),
    });
  });
});

describe('components from zod schemas', () => {
  const handler = async () => ({ name: 'x', size: 1 });

  it('names the output shape X and the input shape XInput when they differ, once when they do not', () => {
    const Thing = z.object({ name: z.string(), size: z.number().default(1) }).meta({ id: 'TestThing' });
    const Colour = z.enum(['red', 'blue']).meta({ id: 'TestColour' });
    const things = defineOrchestrator({
      name: 'things',
      routes: [
        defineRoute({
          method: 'POST',
          path: '/things',
          access: 'public',
          summary: 'make a thing',
          body: z.object({ thing: Thing, colour: Colour }),
          response: Thing,
          handler,
        }),
        defineRoute({
          method: 'GET',
          path: '/colours/:colour',
          access: 'public',
          summary: 'a colour',
          params: z.object({ colour: Colour }),
          response: z.object({ colour: Colour }),
          handler: async () => ({ colour: 'red' as const }),
        }),
      ],
    });
    const d = buildOpenApi([things], { version: 'test' });
    const schemas = (d.components as { schemas: Record<string, Json> }).schemas;
    expect(Object.keys(schemas).sort()).toEqual(['Problem', 'TestColour', 'TestThing', 'TestThingInput']);
    expect(schemas.TestThing?.required).toEqual(['name', 'size']);
    expect(schemas.TestThingInput?.required).toEqual(['name']);
    const post = (d.paths as Record<string, Record<string, Operation>>)['/api/things/things']?.post;
    expect(post?.requestBody?.content['application/json']?.schema.properties).toEqual({
      thing: { $ref: '#/components/schemas/TestThingInput' },
      colour: { $ref: '#/components/schemas/TestColour' },
    });
    expect(post?.responses['200']).toMatchObject({
      content: { 'application/json': { schema: { $ref: '#/components/schemas/TestThing' } } },
    });
  });

  it('inlines a schema without an id wherever it is used, even inside another route’s schema', () => {
    const Filter = z.object({ prefix: z.string() });
    const o = defineOrchestrator({
      name: 'filters',
      routes: [
        defineRoute({
          method: 'GET',
          path: '/a',
          access: 'public',
          summary: 'a',
          query: Filter,
          response: z.object({}),
          handler: async () => ({}),
        }),
        defineRoute({
          method: 'POST',
          path: '/b',
          access: 'public',
          summary: 'b',
          body: z.object({ filter: Filter }),
          response: z.object({ filter: Filter }),
          handler: async () => ({ filter: { prefix: '' } }),
        }),
      ],
    });
    const d = buildOpenApi([o], { version: 'test' });
    expect(Object.keys((d.components as { schemas: Json }).schemas)).toEqual(['Problem']);
    const post = (d.paths as Record<string, Record<string, Operation>>)['/api/filters/b']?.post;
    expect(post?.requestBody?.content['application/json']?.schema.properties).toEqual({
      filter: { type: 'object', properties: { prefix: { type: 'string' } }, required: ['prefix'] },
    });
  });

  it('makes a recursive schema a component that references itself', () => {
    interface Tree {
      label: string;
      children: Tree[];
    }
    const TreeSchema: z.ZodType<Tree> = z.lazy(() =>
      z.object({ label: z.string(), children: z.array(TreeSchema) }),
    );
    const o = defineOrchestrator({
      name: 'trees',
      routes: [
        defineRoute({
          method: 'GET',
          path: '/tree',
          access: 'public',
          summary: 'a tree',
          response: z.object({ root: TreeSchema }),
          handler: async () => ({ root: { label: 'x', children: [] } }),
        }),
      ],
    });
    const d = buildOpenApi([o], { version: 'test' });
    const refs = collectRefs(d);
    expect(refs.filter((ref) => resolvePointer(d, ref) === undefined)).toEqual([]);
    expect(Object.keys((d.components as { schemas: Json }).schemas).length).toBeGreaterThan(1);
  });

  it('refuses two different schemas under one id', () => {
    const a = z.object({ a: z.string() }).meta({ id: 'TestTwice' });
    const b = z.object({ b: z.string() }).meta({ id: 'TestTwice' });
    const o = defineOrchestrator({
      name: 'twice',
      routes: [
        defineRoute({
          method: 'GET',
          path: '/a',
          access: 'public',
          summary: 'a',
          response: a,
          handler: async () => ({ a: '' }),
        }),
        defineRoute({
          method: 'GET',
          path: '/b',
          access: 'public',
          summary: 'b',
          response: b,
          handler: async () => ({ b: '' }),
        }),
      ],
    });
    expect(() => buildOpenApi([o], { version: 'test' })).toThrow(/TestTwice/);
  });
});

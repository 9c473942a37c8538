/**
 * The OpenAPI document tells the truth about errors: every problem a route
 * really answers with, provoked over HTTP on the embedded runtime (and through
 * the front door with a caller it refuses), is one the document declares for
 * that route.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHandler } from '../platform/http.js';
import { buildOpenApi, operationId } from '../platform/openapi.js';
import type { RouteDefinition } from '../platform/orchestrator.js';
import { startTestRuntime, type TestRuntime } from '../test-support/embedded.js';
import { orchestrators } from './registry.js';

const doc = buildOpenApi(orchestrators, { version: 'test' }) as {
  paths: Record<string, Record<string, { operationId: string; responses: Record<string, unknown> }>>;
};

/** The statuses the document declares for `METHOD /api/...{param}`. */
function declared(method: string, path: string): string[] {
  const op = doc.paths[path]?.[method.toLowerCase()];
  if (!op) throw new Error(`the document has no ${method} ${path}`);
  return Object.keys(op.responses);
}

const UNKNOWN_ULID = '01JAAAAAAAAAAAAAAAAAAAAAAA';

describe('problems the API answers with are in its OpenAPI document', () => {
  let t: TestRuntime;
  let running: string;
  const ws = '/api/executions/workspaces/ws';
  const uc = '/api/useCases/workspaces/ws';

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${t.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
  };

  beforeAll(async () => {
    t = await startTestRuntime(orchestrators);
    await t.runtime.ports.documents.create('workspaces/ws', {});
    // A budget of one execution, taken by one that waits for a person: the next start is refused.
    expect((await call('PUT', '/api/pool/workspaces/ws/settings', { queueBudget: 1 })).status).toBe(200);
    const saved = await call('POST', `${uc}/use-cases`, {
      id: 'ask',
      name: 'Ask',
      vertical: 'test',
      workflow: { steps: [{ id: 'ask', agent: 'human', output: 'answer', config: { prompt: 'Fine?' } }] },
    });
    expect(saved.status, saved.body).toBe(201);
    const started = await call('POST', `${ws}/executions`, { useCaseId: 'ask', input: {} });
    expect(started.status, started.body).toBe(202);
    running = (JSON.parse(started.body) as { id: string }).id;
  });
  afterAll(() => t.dispose());

  const cases: Array<{
    name: string;
    operation: [method: string, path: string];
    request: () => [method: string, path: string, body?: unknown];
    status: number;
  }> = [
    {
      name: 'a ping body with an unknown field',
      operation: ['POST', '/api/system/pings'],
      request: () => ['POST', '/api/system/pings', { unexpected: 1 }],
      status: 400,
    },
    {
      name: 'a ping that was never sent',
      operation: ['GET', '/api/system/pings/{id}'],
      request: () => ['GET', `/api/system/pings/${UNKNOWN_ULID}`],
      status: 404,
    },
    {
      name: 'a ping id that is not one',
      operation: ['GET', '/api/system/pings/{id}'],
      request: () => ['GET', '/api/system/pings/nope'],
      status: 400,
    },
    {
      name: 'a use case without a workflow',
      operation: ['POST', '/api/useCases/workspaces/{workspace}/use-cases'],
      request: () => ['POST', `${uc}/use-cases`, { id: 'x' }],
      status: 400,
    },
    {
      name: 'a use case body over the size limit',
      operation: ['POST', '/api/useCases/workspaces/{workspace}/use-cases'],
      request: () => ['POST', `${uc}/use-cases`, JSON.stringify({ pad: 'x'.repeat(1024 * 1024) })],
      status: 413,
    },
    {
      name: 'a use case that does not exist',
      operation: ['GET', '/api/useCases/workspaces/{workspace}/use-cases/{useCase}'],
      request: () => ['GET', `${uc}/use-cases/missing`],
      status: 404,
    },
    {
      name: 'a page size of zero',
      operation: ['GET', '/api/executions/workspaces/{workspace}/executions'],
      request: () => ['GET', `${ws}/executions?limit=0`],
      status: 400,
    },
    {
      name: 'a run of a use case that does not exist',
      operation: ['POST', '/api/executions/workspaces/{workspace}/executions'],
      request: () => ['POST', `${ws}/executions`, { useCaseId: 'missing' }],
      status: 404,
    },
    {
      name: 'a run past the workspace’s admission budget',
      operation: ['POST', '/api/executions/workspaces/{workspace}/executions'],
      request: () => ['POST', `${ws}/executions`, { useCaseId: 'ask' }],
      status: 429,
    },
    {
      name: 'a fork past the workspace’s admission budget',
      operation: ['POST', '/api/executions/workspaces/{workspace}/executions/{id}/fork'],
      request: () => ['POST', `${ws}/executions/${running}/fork`, { checkpoint: 0 }],
      status: 429,
    },
    {
      name: 'an execution id that is not one',
      operation: ['GET', '/api/executions/workspaces/{workspace}/executions/{id}'],
      request: () => ['GET', `${ws}/executions/not-an-id`],
      status: 400,
    },
    {
      name: 'an execution that does not exist',
      operation: ['GET', '/api/executions/workspaces/{workspace}/executions/{id}'],
      request: () => ['GET', `${ws}/executions/${UNKNOWN_ULID}`],
      status: 404,
    },
    {
      name: 'a checkpoint not written yet',
      operation: ['GET', '/api/executions/workspaces/{workspace}/executions/{id}/checkpoints/{n}'],
      request: () => ['GET', `${ws}/executions/${running}/checkpoints/99`],
      status: 404,
    },
    {
      name: 'a re-run of a step that has not run',
      operation: ['POST', '/api/executions/workspaces/{workspace}/executions/{id}/steps/{stepId}/rerun'],
      request: () => ['POST', `${ws}/executions/${running}/steps/ask/rerun`],
      status: 409,
    },
    {
      name: 'a retry of a step that has not failed',
      operation: ['POST', '/api/executions/workspaces/{workspace}/executions/{id}/steps/{stepId}/retry'],
      request: () => ['POST', `${ws}/executions/${running}/steps/ask/retry`],
      status: 409,
    },
    {
      name: 'resuming an execution that is not paused',
      operation: ['POST', '/api/executions/workspaces/{workspace}/executions/{id}/control'],
      request: () => ['POST', `${ws}/executions/${running}/control`, { action: 'resume' }],
      status: 409,
    },
    {
      name: 'a decision with an unknown value',
      operation: ['POST', '/api/executions/workspaces/{workspace}/executions/{id}/steps/{stepId}/decision'],
      request: () => ['POST', `${ws}/executions/${running}/steps/ask/decision`, { decision: 'maybe' }],
      status: 400,
    },
    {
      name: 'a page size the decisions list does not allow',
      operation: ['GET', '/api/pool/decisions'],
      request: () => ['GET', '/api/pool/decisions?limit=0'],
      status: 400,
    },
    {
      name: 'settings of a workspace that does not exist',
      operation: ['PUT', '/api/pool/workspaces/{workspace}/settings'],
      request: () => ['PUT', '/api/pool/workspaces/ghost/settings', { weight: 2 }],
      status: 404,
    },
  ];

  for (const c of cases) {
    it(`${c.status} for ${c.name}, declared by ${c.operation.join(' ')}`, async () => {
      const res = await call(...c.request());
      expect(res.status, res.body).toBe(c.status);
      expect(res.type).toContain('application/problem+json');
      expect(declared(...c.operation)).toContain(String(c.status));
    });
  }

  it('401 from every route but the public ones, as each declares', async () => {
    const api = createApiHandler(orchestrators, {
      ports: t.runtime.ports,
      // No resolver recognises anyone: every caller is anonymous.
      resolvers: [],
    });
    const routes = orchestrators.flatMap((o) => o.routes.map((route) => ({ o: o.name, route })));
    const seen = await Promise.all(
      routes.map(async ({ o, route }: { o: string; route: RouteDefinition }) => {
        const path = `/api/${o}${route.path === '/' ? '' : route.path}`.replace(/:workspace/g, 'ws');
        const res = await api({
          method: route.method,
          path: path.replace(/:[A-Za-z]+/g, UNKNOWN_ULID),
          query: new URLSearchParams(),
          headers: {},
          body: undefined,
        });
        const op = Object.values(doc.paths)
          .flatMap((methods) => Object.values(methods))
          .find((candidate) => candidate.operationId === operationId(o, route));
        return {
          route: `${route.method} ${route.path}`,
          refused: res.status === 401,
          declared: op?.responses['401'] !== undefined,
        };
      }),
    );
    expect(seen.filter((s) => s.refused).length).toBeGreaterThan(10);
    expect(seen.filter((s) => s.refused !== s.declared)).toEqual([]);
  });
});

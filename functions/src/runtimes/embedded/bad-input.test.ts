/**
 * Hostile and careless requests over real HTTP (issue 9, item 13): each is a
 * 400 or 404 problem, never a 500, never stored, and a client that hangs up
 * is not the server's failure.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { builtinAgents, createAgentRegistry } from '../../orchestrators/executions/agents/registry.js';
import { ExecutionEngine } from '../../orchestrators/executions/engine.js';
import { createExecutionsOrchestrator } from '../../orchestrators/executions/index.js';
import system from '../../orchestrators/system/index.js';
import useCases from '../../orchestrators/use-cases/index.js';
import { startTestRuntime, type TestRuntime } from '../../test-support/embedded.js';

const USE_CASE = {
  id: 'echo',
  name: 'Echo',
  vertical: 'test',
  workflow: {
    steps: [
      { id: 's', agent: 'transform', inputs: { a: 'input.a' }, output: 'o', config: { expression: 'a' } },
    ],
  },
};
const base = '/api/executions/workspaces/demo';
const useCaseBase = '/api/useCases/workspaces/demo';

describe('bad input over HTTP', () => {
  let t: TestRuntime;
  beforeAll(async () => {
    t = await startTestRuntime([
      system,
      useCases,
      createExecutionsOrchestrator(new ExecutionEngine(createAgentRegistry(builtinAgents))),
    ]);
    const saved = await post(`${useCaseBase}/use-cases`, JSON.stringify(USE_CASE));
    expect(saved.status).toBe(201);
  });
  afterAll(async () => {
    await t.dispose();
  });

  const post = (path: string, body: string | Uint8Array | null, type: string | null = 'application/json') =>
    fetch(`${t.url}${path}`, {
      method: 'POST',
      headers: type === null ? {} : { 'content-type': type },
      body,
    });
  const problemOf = async (res: Response) => {
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    return (await res.json()) as { code: string; detail: string; errors?: Array<{ path: string }> };
  };
  const errorsLogged = () => t.logs.entries.filter((e) => e.severity === 'ERROR');

  it('defect (issue 9, item 13): JSON nested 10,000 deep gave 500 from a stack overflow; it is 400, refused before the work', async () => {
    for (const depth of [10_000, 100_000]) {
      const deep = `${'['.repeat(depth)}${']'.repeat(depth)}`;
      for (const [path, body] of [
        [`${base}/executions`, `{"useCaseId":"echo","input":{"a":${deep}}}`],
        [
          `${useCaseBase}/use-cases`,
          JSON.stringify(USE_CASE).replace('"steps"', `"vars":{"x":${deep}},"steps"`),
        ],
      ] as const) {
        const res = await post(path, body);
        expect(res.status, `${path} at ${depth}`).toBe(400);
        expect(await problemOf(res)).toMatchObject({
          code: 'invalid-input',
          detail: 'Body is nested deeper than 64 levels',
          errors: [{ path: 'body' }],
        });
      }
    }
    // Brackets inside strings are text, not nesting.
    const text = await post(
      `${base}/executions`,
      JSON.stringify({ useCaseId: 'echo', input: { a: '['.repeat(500) } }),
    );
    expect(text.status).toBe(202);
    expect(errorsLogged()).toEqual([]);
  });

  it('defect (issue 9, item 13): invalid UTF-8 in a body was stored as replacement characters; it is 400', async () => {
    const bytes = Buffer.concat([
      Buffer.from('{"useCaseId":"echo","input":{"a":"'),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from('"}}'),
    ]);
    const res = await post(`${base}/executions`, bytes);
    expect(res.status).toBe(400);
    expect(await problemOf(res)).toMatchObject({ code: 'invalid-input', detail: 'Body is not valid UTF-8' });
    const list = (await (await fetch(`${t.url}${base}/executions`)).json()) as { executions: unknown[] };
    expect(list.executions.filter((e) => JSON.stringify(e).includes('\ufffd'))).toEqual([]);
    // Real multi-byte text still passes.
    const ok = await post(
      `${base}/executions`,
      JSON.stringify({ useCaseId: 'echo', input: { a: 'Zürich 東京 🚑' } }),
    );
    expect(ok.status).toBe(202);
    expect(((await ok.json()) as { input: unknown }).input).toEqual({ a: 'Zürich 東京 🚑' });
  });

  it('defect (issue 9, item 13): …/use-cases/ with a trailing slash was served by the list route; every route answers 404 to it', async () => {
    for (const path of [
      `${useCaseBase}/use-cases/`,
      `${useCaseBase}//use-cases`,
      '/api/system/health/',
      '/api/openapi.json/',
      '/api/docs/',
    ]) {
      const res = await fetch(`${t.url}${path}`);
      expect(res.status, path).toBe(404);
      expect((await problemOf(res)).detail, path).toContain(
        `did you mean ${path.replace(/\/+/g, '/').replace(/\/$/, '')}?`,
      );
    }
    const posted = await post(`${useCaseBase}/use-cases/`, JSON.stringify(USE_CASE));
    expect(posted.status).toBe(404);
    expect((await fetch(`${t.url}${useCaseBase}/use-cases`)).status).toBe(200);
  });

  it('defect (issue 9, item 13): updatedAfter= (empty) was read as 0; an empty query value is 400 naming it', async () => {
    const res = await fetch(`${t.url}${base}/executions?updatedAfter=`);
    expect(res.status).toBe(400);
    expect(await problemOf(res)).toMatchObject({
      code: 'invalid-input',
      errors: [{ path: 'query.updatedAfter' }],
    });
    const limit = await fetch(`${t.url}${base}/executions?limit=5&cursor=`);
    expect(limit.status).toBe(400);
    expect((await problemOf(limit)).errors).toEqual([expect.objectContaining({ path: 'query.cursor' })]);
    expect((await fetch(`${t.url}${base}/executions?updatedAfter=0`)).status).toBe(200);
  });

  it('defect (issue 9, item 13): POST /api/system/pings with a null body got 202; null, or an empty body sent as JSON, is 400', async () => {
    const literal = await post('/api/system/pings', 'null');
    expect(literal.status).toBe(400);
    // fetch's `body: null` with a JSON content-type sends nothing: that is not JSON either.
    const empty = await post('/api/system/pings', null);
    expect(empty.status).toBe(400);
    expect(await problemOf(empty)).toMatchObject({ code: 'invalid-input', errors: [{ path: 'body' }] });
    // A ping with no body at all (and no content-type) is still the ping.
    expect((await post('/api/system/pings', null, null)).status).toBe(202);
  });

  it('defect (issue 9, item 13): a client that aborted its request was logged as an unhandled 500; it is a client abort at info', async () => {
    const { host, port } = new URL(t.url);
    const received = new Promise((resolve) => t.http.server.once('request', resolve));
    const socket = connect(Number(port), '127.0.0.1');
    socket.write(
      `POST ${base}/executions HTTP/1.1\r\nHost: ${host}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"useCa`,
    );
    await received; // the server is reading the body when the client hangs up
    socket.destroy();
    const aborted = await vi.waitFor(() => {
      const entry = t.logs.entries.find(
        (e) => e.message === 'Client aborted its request' || e.severity === 'ERROR',
      );
      if (!entry) throw new Error('nothing logged yet');
      return entry;
    });
    expect(aborted).toMatchObject({ severity: 'INFO', method: 'POST', path: `${base}/executions` });
    expect(errorsLogged()).toEqual([]);
  });
});

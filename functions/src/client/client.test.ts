/**
 * The typed client against a real embedded runtime over real HTTP, and against a
 * small real server that answers what a broken or unusual server would.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import type { Execution } from '../orchestrators/executions/model.js';
import system from '../orchestrators/system/index.js';
import workspaces from '../orchestrators/workspaces/index.js';
import { startTestRuntime, type TestRuntime } from '../test-support/embedded.js';
import { ApiError, type ApiResponse, createApiClient } from './index.js';

let t: TestRuntime;

/** A server that records each request and answers with whatever the test set. */
let fake: Server;
let fakeUrl: string;
const seen: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] = [];
let reply: { status: number; headers?: Record<string, string>; body: string } = { status: 200, body: '{}' };

beforeAll(async () => {
  t = await startTestRuntime([system, workspaces]);
  fake = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(reply.body);
    });
  });
  await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
  fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await t.dispose();
  await new Promise<void>((resolve) => fake.close(() => resolve()));
});

async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => new Error('the call succeeded'),
    (e: unknown) => e,
  );
  if (!(error instanceof ApiError)) throw error;
  return error;
}

describe('the typed API client', () => {
  it('calls routes by name with typed params and bodies, and answers with the parsed response', async () => {
    const api = createApiClient({ baseUrl: t.url });
    const health = await api.system.health();
    expect(health.runtime).toBe('embedded');
    expect(health.checks.documents?.status).toBe('ok');

    const created = await api.workspaces.create({ body: { id: 'acme', name: 'Acme' } });
    expect(created).toEqual({ id: 'acme', name: 'Acme', role: 'owner' });
    const read = await api.workspaces.get({ params: { workspace: 'acme' } });
    expect(read).toMatchObject({ id: 'acme', name: 'Acme', role: 'owner' });
    expect((await api.workspaces.list()).workspaces.map((w) => w.id)).toContain('acme');
  });

  it('turns a problem into an ApiError with its status, code, detail and fields', async () => {
    const api = createApiClient({ baseUrl: t.url });
    const invalid = await rejection(api.workspaces.create({ body: { id: 'Not An Id!', name: '' } }));
    expect(invalid).toMatchObject({ status: 400, code: 'invalid-input' });
    expect(invalid.errors.map((e) => e.path)).toContain('body.id');

    const missing = await rejection(api.system.getPing({ params: { id: '01J0000000000000000000000Z' } }));
    expect(missing).toMatchObject({ status: 404, code: 'not-found' });
    expect(missing.detail ?? missing.message).toContain('01J0000000000000000000000Z');
  });

  it('reads retryAfterSeconds and traceId of a problem, and tells the 401 listener', async () => {
    const heard: ApiError[] = [];
    const api = createApiClient({ baseUrl: fakeUrl, onUnauthenticated: (e) => heard.push(e) });
    reply = {
      status: 429,
      headers: { 'content-type': 'application/problem+json', 'retry-after': '7' },
      body: JSON.stringify({
        type: 'https://seraphim.dev/problems/rate-limited',
        title: 'Too many requests',
        status: 429,
        code: 'rate-limited',
        detail: 'the queue budget is spent',
        traceId: '0af7651916cd43dd8448eb211c80319c',
      }),
    };
    const limited = await rejection(api.system.health());
    expect(limited).toMatchObject({
      status: 429,
      code: 'rate-limited',
      detail: 'the queue budget is spent',
      traceId: '0af7651916cd43dd8448eb211c80319c',
      retryAfterSeconds: 7,
    });
    expect(heard).toEqual([]);

    reply = {
      status: 401,
      headers: { 'content-type': 'application/problem+json' },
      body: JSON.stringify({ type: 'x', title: 'Sign in', status: 401, code: 'unauthenticated' }),
    };
    const unauthenticated = await rejection(api.system.info());
    expect(unauthenticated.code).toBe('unauthenticated');
    expect(heard).toEqual([unauthenticated]);
  });

  it('types each call from its route’s schemas (checked by tsc: a wrong call does not compile)', () => {
    const api = createApiClient({ baseUrl: fakeUrl });
    expectTypeOf<ApiResponse<'executions', 'get'>>().toEqualTypeOf<Execution>();
    expectTypeOf(api.executions.control).returns.resolves.toEqualTypeOf<Execution>();
    const wrongCalls = () => [
      // @ts-expect-error a route with path parameters needs them
      api.workspaces.get(),
      // @ts-expect-error the body is the route's body schema
      api.workspaces.create({ body: { id: 1, name: 'x' } }),
      // @ts-expect-error only the actions the schema lists
      api.executions.control({ params: { workspace: 'w', id: 'i' }, body: { action: 'explode' } }),
    ];
    void wrongCalls; // never called: tsc checks each line above is refused
  });

  it('encodes path parameters and query values, and sends the extra headers', async () => {
    const api = createApiClient({ baseUrl: `${fakeUrl}/`, headers: () => ({ authorization: 'Bearer t0k' }) });
    reply = { status: 200, body: JSON.stringify({ checkpoints: [] }) };
    seen.length = 0;
    await api.executions.checkpoints({
      params: { workspace: 'a b/c', id: '01J0000000000000000000000?' },
      query: { limit: 5, cursor: 'x&y=z' },
    });
    expect(seen[0]).toMatchObject({
      method: 'GET',
      url: '/api/executions/workspaces/a%20b%2Fc/executions/01J0000000000000000000000%3F/checkpoints?limit=5&cursor=x%26y%3Dz',
    });
    expect(seen[0]?.headers.authorization).toBe('Bearer t0k');

    reply = { status: 200, body: JSON.stringify({ executions: [] }) };
    await api.executions.list({ params: { workspace: 'demo' }, query: { status: undefined, limit: 3 } });
    expect(seen[1]?.url).toBe('/api/executions/workspaces/demo/executions?limit=3');
  });

  it('sends a JSON body with its content type', async () => {
    const api = createApiClient({ baseUrl: fakeUrl });
    reply = { status: 200, body: JSON.stringify({ weight: 2, queueBudget: 10 }) };
    seen.length = 0;
    await api.pool.updateSettings({ params: { workspace: 'demo' }, body: { weight: 2 } });
    expect(seen[0]).toMatchObject({ method: 'PUT', body: '{"weight":2}' });
    expect(seen[0]?.headers['content-type']).toBe('application/json');
  });

  it('refuses an answer that breaks its route’s response schema: unexpected-response', async () => {
    const api = createApiClient({ baseUrl: fakeUrl });
    reply = { status: 200, body: JSON.stringify({ status: 'fine', runtime: 'mainframe' }) };
    const broken = await rejection(api.system.health());
    expect(broken).toMatchObject({ code: 'unexpected-response', status: 200 });
    expect(broken.detail).toContain('runtime');

    reply = { status: 200, body: 'not json' };
    expect(await rejection(api.system.health())).toMatchObject({ code: 'unexpected-response' });

    reply = { status: 502, headers: { 'content-type': 'text/html' }, body: '<h1>Bad gateway</h1>' };
    expect(await rejection(api.system.health())).toMatchObject({ code: 'unexpected-response', status: 502 });
  });

  it('answers a conditional GET with modified: false on 304, and the data and ETag otherwise', async () => {
    const api = createApiClient({ baseUrl: t.url });
    const first = await api.workspaces.get.ifChanged(null, { params: { workspace: 'acme' } });
    if (!first.modified) throw new Error('the first read cannot be unchanged');
    expect(first.data.id).toBe('acme');
    expect(first.etag).toMatch(/^W\//);
    expect(await api.workspaces.get.ifChanged(first.etag, { params: { workspace: 'acme' } })).toEqual({
      modified: false,
    });
  });

  it('says unreachable (status 0) when nothing answers', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const api = createApiClient({ baseUrl: `http://127.0.0.1:${port}` });
    expect(await rejection(api.system.health())).toMatchObject({ code: 'unreachable', status: 0 });
  });
});

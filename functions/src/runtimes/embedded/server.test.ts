/** The embedded runtime over real HTTP: the front door's promises, end to end. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import system from '../../orchestrators/system/index.js';
import { createLogger, MemorySink } from '../../platform/logger.js';
import { defineOrchestrator, defineRoute } from '../../platform/orchestrator.js';
import { startTestRuntime, type TestRuntime } from '../../test-support/embedded.js';
import { EmbeddedRuntime } from './runtime.js';
import { listenHttp } from './server.js';

let counted = 0;

const crashing = defineOrchestrator({
  name: 'crashy',
  routes: [
    defineRoute({
      method: 'GET',
      path: '/counter',
      access: 'public',
      summary: 'a different answer on every call',
      response: z.object({ n: z.number() }),
      handler: async () => ({ n: ++counted }),
    }),
    defineRoute({
      method: 'GET',
      path: '/boom',
      access: 'public',
      summary: 'always crashes',
      response: z.object({}),
      handler: async () => {
        throw new Error('secret internals at /srv/app.ts:42');
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/workspaces/:workspace/things',
      access: 'operator',
      summary: 'validates a body',
      params: z.object({ workspace: z.string() }),
      body: z.object({ name: z.string().min(1), count: z.number().int().positive() }),
      response: z.object({ workspace: z.string(), name: z.string() }),
      status: 201,
      handler: async (req) => ({ workspace: req.params.workspace, name: req.body.name }),
    }),
  ],
});

describe('embedded runtime over HTTP', () => {
  let dir: string;
  let t: TestRuntime;
  const sink = new MemorySink();
  const boot = async () => {
    t = await startTestRuntime([system, crashing], { dataDir: dir, logs: sink });
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'seraphim-http-'));
    await boot();
  });
  afterAll(async () => {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (path: string) => fetch(`${t.url}${path}`);

  it('answers health with every check ok', async () => {
    const res = await get('/api/system/health');
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      status: string;
      runtime: string;
      checks: Record<string, { status: string }>;
    };
    expect(body.status).toBe('ok');
    expect(body.runtime).toBe('embedded');
    expect(Object.values(body.checks).map((c) => c.status)).toEqual(['ok', 'ok', 'ok']);
  });

  it('serves an OpenAPI 3.1 document generated from the route declarations', async () => {
    const doc = (await (await get('/api/openapi.json')).json()) as {
      openapi: string;
      paths: Record<
        string,
        Record<string, { parameters: Array<{ name: string; in: string }>; requestBody?: unknown }>
      >;
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/system/health',
        '/api/system/pings/{id}',
        '/api/crashy/workspaces/{workspace}/things',
      ]),
    );
    expect(doc.paths['/api/system/pings/{id}']?.get?.parameters).toEqual([
      expect.objectContaining({ name: 'id', in: 'path' }),
    ]);
    expect(doc.paths['/api/crashy/workspaces/{workspace}/things']?.post?.requestBody).toBeDefined();
  });

  it('answers an unknown route with 404 JSON and a wrong method with 405', async () => {
    const missing = await get('/api/nope/here');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
    expect(await missing.json()).toMatchObject({ status: 404, code: 'not-found' });
    const wrong = await fetch(`${t.url}/api/system/health`, { method: 'DELETE' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET');
  });

  it('rejects bad input with 400 problem+json naming the field', async () => {
    const res = await fetch(`${t.url}/api/crashy/workspaces/demo/things`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: '', count: 'many' }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await res.json()) as { code: string; errors: Array<{ path: string }> };
    expect(problem.code).toBe('invalid-input');
    expect(problem.errors.map((e) => e.path).sort()).toEqual(['body.count', 'body.name']);

    const badJson = await fetch(`${t.url}/api/crashy/workspaces/demo/things`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"name":',
    });
    expect(badJson.status).toBe(400);
    const badParam = await get('/api/system/pings/not-a-ulid');
    expect(badParam.status).toBe(400);
    expect(((await badParam.json()) as { errors: Array<{ path: string }> }).errors[0]?.path).toBe(
      'params.id',
    );
  });

  it('answers a GET whose If-None-Match names its ETag with 304 and no body, and a changed answer with 200', async () => {
    const first = await get('/api/system/info');
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^W\/"[A-Za-z0-9_-]{27}"$/);
    expect(first.headers.get('cache-control')).toBe('no-cache');
    const again = await fetch(`${t.url}/api/system/info`, { headers: { 'if-none-match': `"x", ${etag}` } });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
    expect(await again.text()).toBe('');
    // An answer that changed no longer matches the old tag, so the body comes.
    const before = await get('/api/crashy/counter');
    const later = await fetch(`${t.url}/api/crashy/counter`, {
      headers: { 'if-none-match': before.headers.get('etag') ?? '' },
    });
    expect(later.status).toBe(200);
    expect(await later.json()).toEqual({ n: ((await before.json()) as { n: number }).n + 1 });
    expect(later.headers.get('etag')).not.toBe(before.headers.get('etag'));
  });

  it('accepts a valid body', async () => {
    const res = await fetch(`${t.url}/api/crashy/workspaces/demo/things`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'a', count: 2 }),
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ workspace: 'demo', name: 'a' });
  });

  it('refuses an oversized body with 413 before parsing it', async () => {
    const res = await fetch(`${t.url}/api/crashy/workspaces/demo/things`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"name":"${'x'.repeat(2 * 1024 * 1024)}"}`,
    });
    expect(res.status).toBe(413);
    // Refused before the front door, yet still one traced request that the problem names.
    expect(await res.json()).toMatchObject({
      code: 'payload-too-large',
      traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
  });

  it('turns a crash into 500 with an error id that is also in the log, and no stack trace', async () => {
    const res = await get('/api/crashy/boom');
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain('secret internals');
    expect(text).not.toContain('app.ts');
    const { errorId, traceId } = JSON.parse(text) as { errorId: string; traceId: string };
    expect(errorId).toMatch(/^[0-9A-Z]{26}$/);
    const logged = sink.entries.find((e) => e.errorId === errorId);
    expect(logged?.error).toContain('secret internals');
    // The problem and the logged failure name the same trace.
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(logged?.traceId).toBe(traceId);
  });

  it('returns 404 for a workspace the caller cannot see, without revealing it', async () => {
    const res = await fetch(`${t.url}/api/crashy/workspaces/Not_Valid/things`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'a', count: 1 }),
    });
    expect(res.status).toBe(404);
  });

  it('completes a ping round trip through the event bus and the task queue', async () => {
    const sent = await fetch(`${t.url}/api/system/pings`, { method: 'POST' });
    expect(sent.status).toBe(202);
    const { id } = (await sent.json()) as { id: string };
    await t.runtime.whenIdle();
    const ping = (await (await get(`/api/system/pings/${id}`)).json()) as {
      eventReceivedAt: number | null;
      taskReceivedAt: number | null;
      eventDeliveries: number;
    };
    expect(ping.eventReceivedAt).not.toBeNull();
    expect(ping.taskReceivedAt).not.toBeNull();
    expect(ping.eventDeliveries).toBe(1);
    const queues = (await (await get('/api/system/queues')).json()) as { queues: Array<{ queue: string }> };
    expect(queues.queues.map((q) => q.queue)).toEqual(['system-ping', 'system-pingReceived']);
  });

  it('keeps its data across a restart', async () => {
    const sent = await fetch(`${t.url}/api/system/pings`, { method: 'POST' });
    const { id } = (await sent.json()) as { id: string };
    await t.runtime.whenIdle();
    await t.stop();
    await boot();
    const res = await get(`/api/system/pings/${id}`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { id: string }).id).toBe(id);
  });
});

describe('a server bound before its runtime is up', () => {
  it('answers 503 with Retry-After until the runtime is handed over, then serves the API', async () => {
    const http = await listenHttp({ staticDir: undefined, host: '127.0.0.1', port: 0 });
    const runtime = new EmbeddedRuntime({
      orchestrators: [system],
      dataDir: ':memory:',
      version: 'test',
      logger: createLogger({ sink: new MemorySink() }),
    });
    try {
      const early = await fetch(`${http.url}/api/system/health`);
      expect(early.status).toBe(503);
      expect(early.headers.get('retry-after')).toBe('1');
      expect(await early.json()).toMatchObject({ status: 503, code: 'retryable' });
      http.serve(runtime);
      expect((await fetch(`${http.url}/api/system/health`)).status).toBe(200);
    } finally {
      await http.close();
      await runtime.stop();
    }
  });
});

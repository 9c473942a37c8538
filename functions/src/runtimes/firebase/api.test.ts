/**
 * The `api` function of a group, invoked as Cloud Functions invokes it (an
 * Express-like request and response) without any emulator: the shared front
 * door's answers, the 413 before parsing, and Firebase Auth ID tokens.
 */

import type { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import system from '../../orchestrators/system/index.js';
import { LOCAL_OWNER } from '../../platform/identity.js';
import type { Ports } from '../../platform/ports.js';
import { testPorts } from '../../test-support/ports.js';
import { openDatabase } from '../embedded/sqlite.js';
import { firebaseIdTokenResolver, type HttpRequestLike, toApiRequest } from './api.js';
import { type CloudFunctionGroup, toCloudFunctions } from './functions.js';

let db: DatabaseSync;
let ports: Ports;
beforeEach(() => {
  db = openDatabase({ file: ':memory:' });
  ports = testPorts(db);
});
afterEach(() => db.close());

function group(extra: Parameters<typeof toCloudFunctions>[1] = {}): CloudFunctionGroup {
  return toCloudFunctions(system, { ports: () => ports, resolvers: [async () => LOCAL_OWNER], ...extra });
}

interface Sent {
  status: number;
  headers: Record<string, string>;
  body: string;
}

async function call(g: CloudFunctionGroup, req: Partial<HttpRequestLike> & { url: string }): Promise<Sent> {
  const sent: Sent = { status: 0, headers: {}, body: '' };
  const headers = req.headers ?? {};
  const request = {
    method: 'GET',
    rawBody: Buffer.alloc(0),
    ...req,
    headers,
    header: (name: string) => headers[name.toLowerCase()],
    get: (name: string) => headers[name.toLowerCase()],
  };
  await new Promise<void>((resolve, reject) => {
    const res = {
      statusCode: 200,
      status(code: number) {
        sent.status = code;
        return res;
      },
      setHeader(name: string, value: string) {
        sent.headers[name.toLowerCase()] = value;
        return res;
      },
      send(body: string) {
        sent.body = body;
        resolve();
        return res;
      },
      on: () => res,
    };
    Promise.resolve((g.api as unknown as (q: unknown, s: unknown) => unknown)(request, res)).catch(reject);
  });
  return sent;
}

describe('the api function', () => {
  it('answers health with the runtime the ports report', async () => {
    const res = await call(group(), { url: '/api/system/health' });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ runtime: 'firebase' });
  });

  it('answers an unknown route with a 404 problem', async () => {
    const res = await call(group(), { url: '/api/system/nope?x=1' });
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(res.body)).toMatchObject({ status: 404, code: 'not-found' });
  });

  it('answers any API path Hosting sends it with no route (the /api/** fallback) with a 404 problem', async () => {
    for (const url of ['/api/nope', '/api', '/api/executionsx/1']) {
      const res = await call(group(), { url });
      expect(res.status, url).toBe(404);
      expect(res.headers['content-type'], url).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(res.body), url).toMatchObject({ status: 404, code: 'not-found' });
    }
  });

  it('answers a malformed body with a 400 problem naming the field', async () => {
    const res = await call(group(), {
      method: 'POST',
      url: '/api/system/pings',
      headers: { 'content-type': 'application/json' },
      rawBody: Buffer.from('{"unexpected":true}'),
    });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'invalid-input', errors: [{ path: 'body' }] });
  });

  it('defect (issue 9, item 13): refuses what the embedded server refuses, through the same front door: deep JSON, invalid UTF-8, null and a trailing slash', async () => {
    const g = group();
    const post = (rawBody: Buffer, url = '/api/system/pings') =>
      call(g, { method: 'POST', url, headers: { 'content-type': 'application/json' }, rawBody });
    const deep = await post(Buffer.from(`${'['.repeat(20_000)}${']'.repeat(20_000)}`));
    expect(deep.status).toBe(400);
    expect(JSON.parse(deep.body)).toMatchObject({ detail: 'Body is nested deeper than 64 levels' });
    const utf8 = await post(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]));
    expect(JSON.parse(utf8.body)).toMatchObject({ status: 400, detail: 'Body is not valid UTF-8' });
    expect((await post(Buffer.from('null'))).status).toBe(400);
    expect((await call(g, { url: '/api/system/health/' })).status).toBe(404);
  });

  it('refuses a body over the limit with 413 before parsing it', async () => {
    const g = group({ maxBodyBytes: 1024 });
    const big = await call(g, {
      method: 'POST',
      url: '/api/system/pings',
      headers: { 'content-type': 'application/json' },
      rawBody: Buffer.from(`{"pad":"${'x'.repeat(2048)}"}`),
    });
    expect(big.status).toBe(413);
    expect(JSON.parse(big.body)).toMatchObject({ status: 413, code: 'payload-too-large' });
    const declared = await call(g, {
      method: 'POST',
      url: '/api/system/pings',
      headers: { 'content-length': '5000000', 'content-type': 'application/json' },
    });
    expect(declared.status).toBe(413);
  });

  it('asks for a Firebase ID token on authenticated routes', async () => {
    const g = toCloudFunctions(system, { ports: () => ports });
    const res = await call(g, { url: '/api/system/info' });
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'unauthenticated' });
  });

  it('serves the OpenAPI document of every orchestrator and the reference docs, as Hosting sends them here', async () => {
    const g = group();
    const doc = await call(g, { url: '/api/openapi.json' });
    expect(doc.status).toBe(200);
    expect(Object.keys(JSON.parse(doc.body).paths)).toContain('/api/pool/stats');
    const page = await call(g, { url: '/api/docs' });
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    const bundle = /<script src="([^"]+swagger-ui-bundle\.js)"/.exec(page.body)?.[1];
    const js = await call(g, { url: String(bundle) });
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.body.length).toBeGreaterThan(500_000);
  });

  it('maps the request: path, query, lower-case headers, the raw body', () => {
    const req = toApiRequest({
      method: 'POST',
      url: '/api/system/pings?a=1&a=2',
      headers: { 'X-Request-Id': 'r1', accept: ['a', 'b'] },
      rawBody: Buffer.from('{}'),
    });
    expect(req.path).toBe('/api/system/pings');
    expect(req.query.getAll('a')).toEqual(['1', '2']);
    expect(req.headers).toEqual({ 'x-request-id': 'r1', accept: 'a, b' });
    expect(Buffer.from(req.body ?? []).toString()).toBe('{}');
    expect(toApiRequest({ method: 'GET', url: '//api/system/health', headers: {} }).path).toBe(
      '//api/system/health',
    );
  });
});

describe('firebaseIdTokenResolver', () => {
  const request = (authorization?: string) => ({
    ...toApiRequest({ method: 'GET', url: '/api/x', headers: {} }),
    headers: { authorization },
  });

  it('makes a user from the token, platform admin only with the seraphimAdmin claim, and ignores a `workspaces` claim', async () => {
    const resolve = firebaseIdTokenResolver(async (token) => ({
      uid: `u-${token}`,
      email: 'a@example.com',
      name: 'Ada',
      workspaces: ['acme'],
      seraphimAdmin: token === 'admin',
    }));
    expect(await resolve(request('Bearer tok'))).toEqual({
      uid: 'u-tok',
      kind: 'user',
      email: 'a@example.com',
      displayName: 'Ada',
      platformAdmin: false,
    });
    expect(await resolve(request('Bearer admin'))).toMatchObject({ uid: 'u-admin', platformAdmin: true });
  });

  it('passes on a request without a bearer token, answers 401 for a rejected one, and lets other failures through', async () => {
    const rejecting = firebaseIdTokenResolver(async () => {
      throw Object.assign(new Error('revoked'), { code: 'auth/id-token-revoked' });
    });
    expect(await rejecting(request())).toBeNull();
    expect(await rejecting(request('Basic abc'))).toBeNull();
    await expect(rejecting(request('Bearer tok'))).rejects.toMatchObject({
      status: 401,
      message: /id-token-revoked/,
    });
    const offline = firebaseIdTokenResolver(async () => {
      throw Object.assign(new Error('no keys'), { code: 'app/network-error' });
    });
    await expect(offline(request('Bearer tok'))).rejects.toThrow('no keys');
  });
});

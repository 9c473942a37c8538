/// <reference types="node" />
/** The pure rules and the API client behind sign-in, workspaces and members: no browser. */
import { afterEach, describe, expect, test } from 'vitest';
import { ApiError, configureApiAuth, getSystemHealth } from '../src/lib/api.ts';
import {
  getSession,
  getWorkspace,
  inviteMember,
  listWorkspaces,
  roleAtLeast,
} from '../src/lib/identity/api.ts';
import { linkTokenFrom, passwordProblem, safeNext } from '../src/lib/identity/signin.ts';
import { chooseWorkspace, withWorkspace, workspaceIdFrom } from '../src/lib/workspace.ts';

describe('withWorkspace', () => {
  test.each([
    ['/', 'demo', '/?ws=demo'],
    ['/executions', 'acme', '/executions?ws=acme'],
    ['/executions?status=failed', 'acme', '/executions?status=failed&ws=acme'],
    ['/executions?ws=demo&status=failed', 'acme', '/executions?ws=acme&status=failed'],
    ['/executions/01ABC#steps', 'a b', '/executions/01ABC?ws=a+b#steps'],
  ])('%s in %s is %s', (href, workspace, expected) => {
    expect(withWorkspace(href, workspace)).toBe(expected);
  });
});

describe('chooseWorkspace', () => {
  const mine = [{ id: 'demo' }, { id: 'acme' }];
  test.each([
    [mine, 'acme', 'acme'],
    // Remembered, but no longer a member: the first one instead.
    [mine, 'gone', 'demo'],
    [mine, null, 'demo'],
    [[], 'acme', undefined],
  ])('%j remembering %s opens %s', (available, remembered, expected) => {
    expect(chooseWorkspace(available, remembered)).toBe(expected);
  });
});

test.each([
  ['Acme Claims (EU)', 'acme-claims-eu'],
  ['  Fraud --- screening ', 'fraud-screening'],
  ['Équipe été', 'equipe-ete'],
  ['***', ''],
])('workspaceIdFrom(%j) is %j', (name, id) => {
  expect(workspaceIdFrom(name)).toBe(id);
});

describe('sign-in rules', () => {
  test.each([
    ['/executions?ws=acme', '/executions?ws=acme'],
    [null, '/'],
    ['https://evil.example/', '/'],
    ['//evil.example/', '/'],
    ['/\\evil.example', '/'],
    ['executions', '/'],
  ])('next %j goes to %j', (next, expected) => {
    expect(safeNext(next)).toBe(expected);
  });

  test('a link carries an owner or an invitation token in its hash', () => {
    expect(linkTokenFrom('#owner=abc123')).toEqual({ kind: 'owner', token: 'abc123' });
    expect(linkTokenFrom('#invite=x-y_z')).toEqual({ kind: 'invite', token: 'x-y_z' });
    expect(linkTokenFrom('')).toBeUndefined();
    expect(linkTokenFrom('#steps')).toBeUndefined();
    expect(linkTokenFrom('#owner=')).toBeUndefined();
  });

  test.each([
    ['short', 'short', 'Use at least 12 characters.'],
    ['twelve chars', 'twelve charz', 'The two passwords differ.'],
    ['twelve chars', 'twelve chars', undefined],
  ])('password %j confirmed as %j: %s', (password, confirmation, problem) => {
    expect(passwordProblem(password, confirmation)).toBe(problem);
  });

  test('roles are ordered owner > admin > operator > viewer', () => {
    expect(roleAtLeast('owner', 'admin')).toBe(true);
    expect(roleAtLeast('admin', 'admin')).toBe(true);
    expect(roleAtLeast('operator', 'admin')).toBe(false);
    expect(roleAtLeast('viewer', 'operator')).toBe(false);
  });
});

describe('the API client', () => {
  const calls: { url: string; init: RequestInit | undefined }[] = [];
  const answer =
    (status: number, body: unknown, headers: Record<string, string> = {}): typeof fetch =>
    async (url, init) => {
      calls.push({ url: String(url), init });
      const type = status >= 400 ? 'application/problem+json' : 'application/json';
      return new Response(JSON.stringify(body), { status, headers: { 'content-type': type, ...headers } });
    };
  const problem = (status: number, code: string) => ({ type: 'about:blank', title: code, status, code });

  afterEach(() => {
    calls.length = 0;
    configureApiAuth({});
  });

  test('an answer of the expected shape is returned parsed', async () => {
    const workspaces = await listWorkspaces({
      fetch: answer(200, { workspaces: [{ id: 'demo', name: 'Demo', role: 'owner', extra: true }] }),
    });
    expect(workspaces).toEqual([{ id: 'demo', name: 'Demo', role: 'owner' }]);
    expect(calls[0]?.url).toBe('/api/workspaces');
  });

  test('an answer of another shape is an unexpected-response naming the field', async () => {
    const error = await listWorkspaces({ fetch: answer(200, { workspaces: [{ id: 'demo' }] }) }).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: 'unexpected-response', status: 200 });
    expect(error.detail).toContain('workspaces.0.name');
  });

  test('the body is sent as JSON and the invitation read', async () => {
    const result = await inviteMember('acme', 'v@example.com', 'viewer', {
      fetch: answer(201, {
        member: { uid: 'u2', email: 'v@example.com', role: 'viewer', addedAt: 10 },
        invitation: { url: 'http://h/signin#invite=t', expiresAt: 20 },
      }),
    });
    expect(result.invitation).toEqual({ url: 'http://h/signin#invite=t', expiresAt: 20 });
    expect(calls[0]).toMatchObject({ url: '/api/workspaces/acme/members', init: { method: 'POST' } });
    expect(JSON.parse(String(calls[0]?.init?.body))).toEqual({ email: 'v@example.com', role: 'viewer' });
  });

  const health = {
    status: 'ok',
    runtime: 'embedded',
    version: '0.1.0',
    node: 'v22.0.0',
    startedAt: 1,
    uptimeMs: 2,
    checks: { documents: { status: 'ok' } },
  };

  test('every call carries the bearer token the session provides', async () => {
    configureApiAuth({ bearerToken: async () => 'id-token-1' });
    await getSystemHealth({ fetch: answer(200, health) });
    expect(new Headers(calls[0]?.init?.headers).get('authorization')).toBe('Bearer id-token-1');

    configureApiAuth({ bearerToken: async () => null });
    await getSystemHealth({ fetch: answer(200, health) });
    expect(new Headers(calls[1]?.init?.headers).has('authorization')).toBe(false);
  });

  test('a 401 is reported to the session; other problems are not', async () => {
    const heard: string[] = [];
    configureApiAuth({ onUnauthorized: (error) => heard.push(error.code) });
    await expect(listWorkspaces({ fetch: answer(401, problem(401, 'unauthenticated')) })).rejects.toThrow(
      ApiError,
    );
    await expect(getWorkspace('x', { fetch: answer(404, problem(404, 'not-found')) })).rejects.toThrow(
      ApiError,
    );
    expect(heard).toEqual(['unauthenticated']);
  });

  test('a 429 says how long to wait', async () => {
    const error = await getSession({
      fetch: answer(429, problem(429, 'rate-limited'), { 'retry-after': '42' }),
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'rate-limited', status: 429, retryAfterSeconds: 42 });
  });
});

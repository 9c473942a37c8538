/**
 * The access matrix: every route of every orchestrator in the registry ×
 * {anonymous, viewer, operator, admin, another workspace's owner, the
 * machine's owner}, through the real front door of the embedded runtime in
 * session mode. Generated from the route table, so a new route is covered
 * the day it is added; the expected outcome comes from its declared access.
 *
 * Each handler is replaced by one that throws a marked ConflictError, so
 * "allowed" means the request reached the handler (or failed validation,
 * which comes after access) and "denied" means 401, 403 or 404.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orchestrators } from '../orchestrators/registry.js';
import { startTestRuntime, type TestRuntime } from '../test-support/embedded.js';
import { addPerson, grant, sessionCookie } from '../test-support/people.js';
import { ConflictError } from './errors.js';
import { apiPath } from './http.js';
import { isRole, type Role, roleAtLeast } from './identity.js';
import { defineOrchestrator, type RouteDefinition } from './orchestrator.js';

const REACHED = 'access-matrix: the handler was reached';
const WORKSPACE = 'acme';

const wrapped = orchestrators.map((o) =>
  defineOrchestrator({
    name: o.name,
    routes: o.routes.map(
      (r): RouteDefinition => ({
        ...r,
        handler: async () => {
          throw new ConflictError(REACHED);
        },
      }),
    ),
  }),
);

const SAMPLE_PARAMS: Record<string, string> = {
  workspace: WORKSPACE,
  id: '01ARZ3NDEKTSV4RRFFQ69G5FAV',
  stepId: 's1',
  n: '1',
  useCase: 'uc',
  uid: 'someone',
};

type Caller = 'anonymous' | 'viewer' | 'operator' | 'admin' | 'other-owner' | 'machine-owner';
const CALLERS: Caller[] = ['anonymous', 'viewer', 'operator', 'admin', 'other-owner', 'machine-owner'];

type Outcome = 'allowed' | 401 | 403 | 404;

function expected(access: RouteDefinition['access'], caller: Caller): Outcome {
  if (access === 'public') return 'allowed';
  if (caller === 'anonymous') return 401;
  if (caller === 'machine-owner' || access === 'signed-in') return 'allowed';
  if (access === 'platform-admin') return 403;
  if (!isRole(access)) throw new Error(`unknown access ${String(access)}`);
  if (caller === 'other-owner') return 404;
  return roleAtLeast(caller as Role, access) ? 'allowed' : 403;
}

const cases = wrapped.flatMap((o) =>
  o.routes.flatMap((route) =>
    CALLERS.map((caller) => ({
      name: `${route.method} ${apiPath(o.name, route.path)} as ${caller} (${route.access})`,
      method: route.method,
      path: apiPath(o.name, route.path).replace(/:(\w+)/g, (_, p: string) => SAMPLE_PARAMS[p] ?? p),
      caller,
      want: expected(route.access, caller),
    })),
  ),
);

describe('access matrix', () => {
  let t: TestRuntime;
  const headers: Record<Caller, Record<string, string>> = {
    anonymous: {},
    viewer: {},
    operator: {},
    admin: {},
    'other-owner': {},
    'machine-owner': {},
  };

  beforeAll(async () => {
    t = await startTestRuntime(wrapped, { auth: 'session' });
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      const person = await addPerson(t.runtime, `${role}@example.com`);
      await grant(t.runtime, WORKSPACE, person.uid, role);
      headers[role] = { cookie: await sessionCookie(t.runtime, `${role}@example.com`) };
    }
    const other = await addPerson(t.runtime, 'other@example.com');
    await grant(t.runtime, 'other', other.uid, 'owner');
    headers['other-owner'] = { cookie: await sessionCookie(t.runtime, 'other@example.com') };
    headers['machine-owner'] = { authorization: `Bearer ${t.runtime.cliToken}` };
  });
  afterAll(async () => {
    await t.dispose();
  });

  it('covers every route of every orchestrator', () => {
    const routes = orchestrators.reduce((n, o) => n + o.routes.length, 0);
    expect(routes).toBeGreaterThan(30);
    expect(cases).toHaveLength(routes * CALLERS.length);
  });

  it.each(cases)('$name', async ({ method, path, caller, want }) => {
    const withBody = method !== 'GET' && method !== 'DELETE';
    const res = await fetch(`${t.url}${path}`, {
      method,
      headers: { ...headers[caller], ...(withBody ? { 'content-type': 'application/json' } : {}) },
      ...(withBody ? { body: '{}' } : {}),
    });
    const body = (await res.json()) as { code?: string; detail?: string };
    if (want === 'allowed') {
      const reached = res.status === 409 && body.detail === REACHED;
      const validated = res.status === 400 && body.code === 'invalid-input';
      expect({ status: res.status, body, allowed: reached || validated }).toMatchObject({ allowed: true });
    } else {
      const code = { 401: 'unauthenticated', 403: 'forbidden', 404: 'not-found' }[want];
      expect({ status: res.status, code: body.code }).toEqual({ status: want, code });
    }
  });
});

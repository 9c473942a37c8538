/** The front door's chain, on its own: identity resolvers in order, access, hooks, then parsing and the handler. */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openDatabase } from '../runtimes/embedded/sqlite.js';
import { testPorts } from '../test-support/ports.js';
import { UnauthenticatedError } from './errors.js';
import { type ApiRequest, createApiHandler, type IdentityResolver } from './http.js';
import { type Identity, writeMembership } from './identity.js';
import { defineOrchestrator, defineRoute } from './orchestrator.js';

const person = (uid: string): Identity => ({
  uid,
  kind: 'user',
  email: `${uid}@example.com`,
  displayName: null,
  platformAdmin: false,
});

const seen: string[] = [];
const things = defineOrchestrator({
  name: 'things',
  routes: [
    defineRoute({
      method: 'POST',
      path: '/workspaces/:workspace/things',
      access: 'operator',
      summary: 'who am I, where',
      params: z.object({ workspace: z.string() }),
      body: z.object({ n: z.number() }),
      response: z.object({ uid: z.string(), role: z.string() }),
      handler: async (req) => {
        seen.push('handler');
        return { uid: req.identity?.uid ?? '', role: req.access?.role ?? '' };
      },
    }),
  ],
});

function setup() {
  const ports = testPorts(openDatabase({ file: ':memory:' }));
  seen.length = 0;
  const byHeader =
    (header: string): IdentityResolver =>
    async (r) => {
      seen.push(`resolve:${header}`);
      const value = r.headers[header];
      if (value === undefined) return null;
      if (value === 'bad') throw new UnauthenticatedError('bad credential');
      return person(value);
    };
  const api = createApiHandler([things], {
    ports,
    resolvers: [byHeader('x-key'), byHeader('x-user')],
    hooks: [
      async (_r, identity, route) => void seen.push(`hook1:${identity?.uid}:${route.access}`),
      async () => void seen.push('hook2'),
    ],
  });
  const call = (headers: Record<string, string>, body: unknown = { n: 1 }) => {
    const request: ApiRequest = {
      method: 'POST',
      path: '/api/things/workspaces/acme/things',
      query: new URLSearchParams(),
      headers: { 'content-type': 'application/json', ...headers },
      body: Buffer.from(JSON.stringify(body)),
    };
    return api(request);
  };
  return { ports, call };
}

describe('the front door', () => {
  it('resolves the caller with the first resolver that knows the credential, then access, hooks in order, handler', async () => {
    const { ports, call } = setup();
    await ports.documents.transaction(async (tx) =>
      writeMembership(
        tx,
        'acme',
        { uid: 'ann', email: null, role: 'operator', addedAt: 0, addedBy: 't' },
        'Acme',
      ),
    );
    const res = await call({ 'x-user': 'ann' });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ uid: 'ann', role: 'operator' });
    expect(seen).toEqual(['resolve:x-key', 'resolve:x-user', 'hook1:ann:operator', 'hook2', 'handler']);
  });

  it('stops at the first resolver that recognises a credential, even a bad one: 401', async () => {
    const { call } = setup();
    const res = await call({ 'x-key': 'bad', 'x-user': 'ann' });
    expect(res.status).toBe(401);
    expect(seen).toEqual(['resolve:x-key']);
  });

  it('runs no hook and no parsing when access is refused: 404 for a non-member, 403 forbidden below the role', async () => {
    const { ports, call } = setup();
    expect((await call({ 'x-user': 'zed' }, 'not even an object')).status).toBe(404);
    await ports.documents.transaction(async (tx) =>
      writeMembership(
        tx,
        'acme',
        { uid: 'val', email: null, role: 'viewer', addedAt: 0, addedBy: 't' },
        'Acme',
      ),
    );
    const below = await call({ 'x-user': 'val' }, 'not even an object');
    expect(below.status).toBe(403);
    expect(JSON.parse(below.body)).toMatchObject({ code: 'forbidden', title: 'Not allowed' });
    expect(seen.filter((s) => !s.startsWith('resolve:'))).toEqual([]);
  });
});

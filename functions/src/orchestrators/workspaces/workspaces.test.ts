/** The workspaces API on the embedded runtime in session mode: real SQLite, real HTTP, real sessions. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, type TestRuntime } from '../../test-support/embedded.js';
import { addPerson, grant, signIn } from '../../test-support/people.js';
import pool from '../pool/index.js';
import system from '../system/index.js';
import workspaces from './index.js';

let t: TestRuntime;
const cookies: Record<string, string> = {};

async function call(who: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${t.url}/api${path}`, {
    method,
    headers: {
      ...(cookies[who] ? { cookie: cookies[who] } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  t = await startTestRuntime([system, workspaces, pool], { auth: 'session' });
  for (const name of ['olga', 'adam', 'vera', 'nina']) {
    await addPerson(t.runtime, `${name}@example.com`);
    cookies[name] = await signIn(t.url, `${name}@example.com`);
  }
});
afterAll(async () => {
  await t.dispose();
});

describe('workspaces', () => {
  it('creates a workspace whose creator is its owner, and lists it among theirs only', async () => {
    expect(await call('olga', 'POST', '/workspaces', { id: 'acme', name: 'Acme' })).toEqual({
      status: 201,
      body: { id: 'acme', name: 'Acme', role: 'owner' },
    });
    expect((await call('olga', 'GET', '/workspaces')).body).toEqual({
      workspaces: [{ id: 'acme', name: 'Acme', role: 'owner' }],
    });
    expect((await call('nina', 'GET', '/workspaces')).body).toEqual({ workspaces: [] });
    expect(await call('olga', 'GET', '/workspaces/acme')).toMatchObject({
      status: 200,
      body: { id: 'acme', name: 'Acme', role: 'owner', createdAt: expect.any(Number) },
    });
  });

  it('answers 409 for an existing id and 400 naming the field for a bad one', async () => {
    expect(await call('nina', 'POST', '/workspaces', { id: 'acme', name: 'Mine' })).toMatchObject({
      status: 409,
      body: { code: 'conflict' },
    });
    const bad = await call('nina', 'POST', '/workspaces', { id: 'Not OK', name: 'x' });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ path: 'body.id' })]);
  });

  it('hides a workspace from a non-member exactly like a missing one', async () => {
    const hidden = await call('nina', 'GET', '/workspaces/acme');
    const missing = await call('nina', 'GET', '/workspaces/no-such');
    expect(hidden.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(hidden.body.code).toBe(missing.body.code);
  });

  it('adds members by email with an invitation for someone who never signed in, and none for someone who has', async () => {
    const added = await call('olga', 'POST', '/workspaces/acme/members', {
      email: 'Adam@Example.com',
      role: 'admin',
    });
    expect(added).toMatchObject({
      status: 201,
      body: { member: { email: 'adam@example.com', role: 'admin' }, invitation: null },
    });
    const invited = await call('olga', 'POST', '/workspaces/acme/members', {
      email: 'new@example.com',
      role: 'viewer',
    });
    expect(invited.status).toBe(201);
    const invitation = invited.body.invitation as { url: string; expiresAt: number };
    expect(invitation.url).toMatch(new RegExp(`^${t.url}/signin#invite=[\\w-]{43}$`));
    expect(invitation.expiresAt - Date.now()).toBeGreaterThan(6.9 * 24 * 3600_000);
    expect(
      await call('olga', 'POST', '/workspaces/acme/members', { email: 'new@example.com', role: 'viewer' }),
    ).toMatchObject({
      status: 409,
    });

    // The invitation signs the new person in once they choose a password, and only once.
    const token = invitation.url.split('#invite=')[1];
    const noPassword = await call('anyone', 'POST', '/system/session/link', { token });
    expect(noPassword).toMatchObject({ status: 400, body: { errors: [{ path: 'body.password' }] } });
    const redeemed = await fetch(`${t.url}/api/system/session/link`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, password: 'twelve chars ok' }),
    });
    expect(redeemed.status).toBe(200);
    expect(await redeemed.json()).toMatchObject({ signedIn: true, user: { email: 'new@example.com' } });
    cookies.newcomer = redeemed.headers.get('set-cookie')?.split(';')[0] ?? '';
    expect((await call('newcomer', 'GET', '/workspaces')).body).toEqual({
      workspaces: [{ id: 'acme', name: 'Acme', role: 'viewer' }],
    });
    expect(
      await call('anyone', 'POST', '/system/session/link', { token, password: 'twelve chars ok' }),
    ).toMatchObject({ status: 401 });
  });

  it('keeps the role rules: only an owner grants owner, an admin cannot change their own role, the last owner stays', async () => {
    const members = (await call('adam', 'GET', '/workspaces/acme/members')).body.members as Array<{
      uid: string;
      email: string;
    }>;
    const uid = (email: string) => members.find((m) => m.email === email)?.uid ?? 'missing';
    const olga = uid('olga@example.com');
    const adam = uid('adam@example.com');
    const newcomer = uid('new@example.com');

    expect(
      await call('adam', 'PUT', `/workspaces/acme/members/${newcomer}`, { role: 'owner' }),
    ).toMatchObject({
      status: 403,
      body: { code: 'forbidden' },
    });
    expect(await call('adam', 'PUT', `/workspaces/acme/members/${adam}`, { role: 'viewer' })).toMatchObject({
      status: 403,
    });
    expect(await call('adam', 'DELETE', `/workspaces/acme/members/${olga}`)).toMatchObject({ status: 403 });
    expect(
      await call('adam', 'PUT', `/workspaces/acme/members/${newcomer}`, { role: 'operator' }),
    ).toMatchObject({
      status: 200,
      body: { uid: newcomer, role: 'operator' },
    });
    // The mirror follows the membership in the same transaction.
    expect((await call('newcomer', 'GET', '/workspaces')).body).toEqual({
      workspaces: [{ id: 'acme', name: 'Acme', role: 'operator' }],
    });

    expect(await call('olga', 'PUT', `/workspaces/acme/members/${olga}`, { role: 'admin' })).toMatchObject({
      status: 409,
      body: { code: 'conflict' },
    });
    expect(await call('olga', 'DELETE', `/workspaces/acme/members/${olga}`)).toMatchObject({ status: 409 });
    expect(await call('olga', 'PUT', `/workspaces/acme/members/${adam}`, { role: 'owner' })).toMatchObject({
      status: 200,
    });
    expect(await call('olga', 'PUT', `/workspaces/acme/members/${olga}`, { role: 'admin' })).toMatchObject({
      status: 200,
      body: { role: 'admin' },
    });

    expect(await call('adam', 'DELETE', `/workspaces/acme/members/${newcomer}`)).toEqual({
      status: 200,
      body: { removed: true },
    });
    expect(await call('newcomer', 'GET', '/workspaces/acme')).toMatchObject({ status: 404 });
    expect((await call('newcomer', 'GET', '/workspaces')).body).toEqual({ workspaces: [] });
  });

  it('lists in pool stats only the workspaces the caller is a member of', async () => {
    await grant(
      t.runtime,
      'globex',
      (await t.runtime.people.findOrCreateByEmail('vera@example.com')).uid,
      'viewer',
    );
    const listed = async (who: string) =>
      ((await call(who, 'GET', '/pool/stats')).body.workspaces as Array<{ workspace: string }>).map(
        (w) => w.workspace,
      );
    expect(await listed('vera')).toEqual(['globex']);
    expect(await listed('nina')).toEqual([]);
    expect((await listed('adam')).sort()).toEqual(['acme']);
  });
});

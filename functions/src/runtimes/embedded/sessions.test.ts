/** Signing in on the embedded runtime: over real HTTP in session mode, and with a hand-moved clock for expiry. */

import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import system from '../../orchestrators/system/index.js';
import workspaces from '../../orchestrators/workspaces/index.js';
import { ManualClock } from '../../platform/clock.js';
import { envConfig } from '../../platform/config.js';
import { type ApiRequest, createApiHandler } from '../../platform/http.js';
import { LOCAL_OWNER } from '../../platform/identity.js';
import { createLogger, MemorySink } from '../../platform/logger.js';
import { startTestRuntime, type TestRuntime } from '../../test-support/embedded.js';
import { addPerson, TEST_PASSWORD } from '../../test-support/people.js';
import { testPorts } from '../../test-support/ports.js';
import { EmbeddedRuntime } from './runtime.js';
import { hashPassword, SESSION_TTL_MS, verifyPassword } from './sessions.js';
import { CLI_TOKEN_FILE } from './settings.js';
import { openDatabase } from './sqlite.js';

const post = (url: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}/api${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

describe('passwords', () => {
  it('hashes with a per-user salt and verifies only the right password', async () => {
    const a = await hashPassword('the same password');
    const b = await hashPassword('the same password');
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('the same password', a)).toBe(true);
    expect(await verifyPassword('the same passworD', a)).toBe(false);
    expect(await verifyPassword('anything', 'not-a-hash')).toBe(false);
  });
});

describe('sign-in over HTTP (session mode)', () => {
  let t: TestRuntime;
  beforeAll(async () => {
    t = await startTestRuntime([system, workspaces], { auth: 'session' });
    await addPerson(t.runtime, 'ann@example.com');
    await addPerson(t.runtime, 'limited@example.com');
  });
  afterAll(async () => {
    await t.dispose();
  });

  it('sets an HttpOnly, SameSite=Strict session cookie, Secure behind https, stored only as its hash', async () => {
    const res = await post(t.url, '/system/session', { email: 'ann@example.com', password: TEST_PASSWORD });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      mode: 'session',
      signedIn: true,
      user: { email: 'ann@example.com' },
    });
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(
      /^seraphim_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=1209600$/,
    );
    const token = cookie.split(';')[0]?.split('=')[1] ?? '';
    const hashed = createHash('sha256').update(token).digest('hex');
    expect(await t.runtime.documents.get(`sessions/${token}`)).toBeNull();
    expect(await t.runtime.documents.get(`sessions/${hashed}`)).toMatchObject({
      data: { uid: expect.any(String) },
    });

    const proxied = await post(
      t.url,
      '/system/session',
      { email: 'ann@example.com', password: TEST_PASSWORD },
      { 'x-forwarded-proto': 'https' },
    );
    expect(proxied.headers.get('set-cookie')).toMatch(/; Secure$/);
  });

  it('answers an unknown email exactly like a wrong password', async () => {
    const unknown = await post(t.url, '/system/session', {
      email: 'nobody@example.com',
      password: TEST_PASSWORD,
    });
    const wrong = await post(t.url, '/system/session', {
      email: 'ann@example.com',
      password: 'not the password',
    });
    expect(unknown.status).toBe(401);
    // Each problem quotes its own request's trace; everything else is the same.
    const { traceId: a, ...unknownBody } = (await unknown.json()) as Record<string, unknown>;
    const { traceId: b, ...wrongBody } = (await wrong.json()) as Record<string, unknown>;
    expect(a).not.toEqual(b);
    expect(unknownBody).toEqual(wrongBody);
  });

  it('limits failed attempts per email: 429 with Retry-After, even for the right password', async () => {
    for (let i = 0; i < 10; i++) {
      expect(
        (await post(t.url, '/system/session', { email: 'limited@example.com', password: 'wrong' })).status,
      ).toBe(401);
    }
    const limited = await post(t.url, '/system/session', {
      email: 'limited@example.com',
      password: TEST_PASSWORD,
    });
    expect(limited.status).toBe(429);
    expect(await limited.json()).toMatchObject({ code: 'rate-limited' });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(800);
    // Another email is not affected.
    expect(
      (await post(t.url, '/system/session', { email: 'ann@example.com', password: TEST_PASSWORD })).status,
    ).toBe(200);
  });

  it('signs out: the session ends and the cookie is cleared', async () => {
    const res = await post(t.url, '/system/session', { email: 'ann@example.com', password: TEST_PASSWORD });
    const cookie = res.headers.get('set-cookie')?.split(';')[0] ?? '';
    expect((await fetch(`${t.url}/api/workspaces`, { headers: { cookie } })).status).toBe(200);
    const out = await fetch(`${t.url}/api/system/session`, { method: 'DELETE', headers: { cookie } });
    expect(await out.json()).toEqual({ signedIn: false });
    expect(out.headers.get('set-cookie')).toMatch(
      /^seraphim_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0/,
    );
    expect((await fetch(`${t.url}/api/workspaces`, { headers: { cookie } })).status).toBe(401);
    // A public route still answers a stale cookie, as signed out.
    const session = await fetch(`${t.url}/api/system/session`, { headers: { cookie } });
    expect(await session.json()).toMatchObject({ signedIn: false, user: null });
  });

  it('takes the CLI token from the data folder (0600) as the machine owner; a wrong bearer token is a 401', async () => {
    const file = join(t.dataDir, CLI_TOKEN_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const mine = await fetch(`${t.url}/api/system/users`, {
      headers: { authorization: `Bearer ${t.runtime.cliToken}` },
    });
    expect(mine.status).toBe(200);
    const wrong = await fetch(`${t.url}/api/system/users`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
  });

  it('prints a new owner link each start until the owner link is redeemed, then none', async () => {
    const first = await t.runtime.sessions.ownerLink();
    const second = await t.runtime.sessions.ownerLink();
    expect(first).toMatch(new RegExp(`^${t.url}/signin#owner=[\\w-]{43}$`));
    expect(second).not.toBe(first);
    const token = first?.split('#owner=')[1];
    const short = await post(t.url, '/system/session/link', { token, password: 'too short' });
    expect(short.status).toBe(400);
    const owner = await post(t.url, '/system/session/link', { token, password: 'a good long password' });
    expect(await owner.json()).toMatchObject({
      signedIn: true,
      user: { email: 'owner@localhost', platformAdmin: true },
    });
    // The other link was from before an owner existed: it cannot make a second one.
    const again = await post(t.url, '/system/session/link', {
      token: second?.split('#owner=')[1],
      password: 'a good long password',
    });
    expect(again.status).toBe(409);
    expect(await t.runtime.sessions.ownerLink()).toBeNull();
  });
});

describe('expiry (hand-moved clock)', () => {
  let runtime: EmbeddedRuntime;
  const clock = new ManualClock();
  beforeAll(() => {
    runtime = new EmbeddedRuntime({
      orchestrators: [system],
      dataDir: ':memory:',
      version: 'test',
      clock,
      auth: 'session',
      logger: createLogger({ sink: new MemorySink() }),
    });
  });
  afterAll(async () => {
    await runtime.stop();
  });
  const request = (cookie: string): ApiRequest => ({
    method: 'GET',
    path: '/api/system/info',
    query: new URLSearchParams(),
    headers: { cookie },
    body: undefined,
  });

  it('slides a session at most once an hour and ends it 14 days after its last use', async () => {
    await addPerson(runtime, 'sam@example.com');
    const grant = await runtime.sessions.signIn('sam@example.com', TEST_PASSWORD);
    const cookie = `seraphim_session=${grant.token}`;
    const id = createHash('sha256').update(grant.token).digest('hex');
    const versionAt = async () => (await runtime.documents.get(`sessions/${id}`))?.version;
    const start = await versionAt();
    clock.advance(30 * 60_000);
    expect((await runtime.api(request(cookie))).status).toBe(200);
    expect(await versionAt()).toBe(start); // within the hour: read, not written
    clock.advance(31 * 60_000);
    expect((await runtime.api(request(cookie))).status).toBe(200);
    expect(await versionAt()).toBe((start ?? 0) + 1);
    clock.advance(SESSION_TTL_MS - 1000);
    expect((await runtime.api(request(cookie))).status).toBe(200);
    clock.advance(SESSION_TTL_MS + 1);
    expect((await runtime.api(request(cookie))).status).toBe(401);
  });

  it('lets an invitation expire after 7 days', async () => {
    const person = await runtime.people.findOrCreateByEmail('late@example.com');
    const invitation = await runtime.people.invitation(person.uid);
    clock.advance(7 * 24 * 3600_000 + 1);
    await expect(
      runtime.sessions.redeemLink(invitation?.url.split('#invite=')[1] ?? '', 'a good long password'),
    ).rejects.toMatchObject({ status: 401 });
  });
});

describe('on the firebase runtime', () => {
  const db = openDatabase({ file: ':memory:' });
  const ports = testPorts(db);
  const api = createApiHandler([system], {
    ports: {
      ...ports,
      config: envConfig({
        SERAPHIM_FIREBASE_API_KEY: 'key-1',
        GCLOUD_PROJECT: 'demo-p',
        FIREBASE_AUTH_EMULATOR_HOST: '127.0.0.1:9099',
      }),
      people: { ...ports.people, mode: 'firebase', sessions: null },
    },
    resolvers: [async (r) => (r.headers.authorization ? LOCAL_OWNER : null)],
  });
  const call = (method: string, path: string, body?: unknown) =>
    api({
      method,
      path,
      query: new URLSearchParams(),
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : Buffer.from(JSON.stringify(body)),
    });

  it('describes Firebase Auth for the web SDK, and refuses password sign-in with 409', async () => {
    const session = await call('GET', '/api/system/session');
    expect(JSON.parse(session.body)).toEqual({
      mode: 'firebase',
      signedIn: false,
      user: null,
      firebase: {
        apiKey: 'key-1',
        authDomain: null,
        projectId: 'demo-p',
        authEmulatorUrl: 'http://127.0.0.1:9099',
      },
    });
    const signIn = await call('POST', '/api/system/session', { email: 'a@example.com', password: 'x' });
    expect(signIn.status).toBe(409);
    expect(JSON.parse(signIn.body)).toMatchObject({ code: 'conflict', detail: /Firebase Auth/ });
    expect((await call('POST', '/api/system/session/link', { token: 't' })).status).toBe(409);
  });
});

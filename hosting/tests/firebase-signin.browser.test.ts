import type { Page, Route } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { type AuthEmulator, startAuthEmulator } from './auth-emulator.ts';
import { browserSuite } from './browser-suite.ts';

/**
 * Firebase sign-in against the real Auth emulator. The Firebase runtime's API needs Firestore,
 * which cannot run here, so the routes that answer who is calling (`/api/system/session`, the
 * workspaces) are played by the test: they believe a Bearer token only when the emulator does.
 * The rest of the API is the real embedded runtime's.
 */
const { origin, openPage } = browserSuite();

const EMAIL = 'ada@example.com';
const PASSWORD = 'analytical engine';

let emulator: AuthEmulator | undefined;
let setupError: unknown;

beforeAll(async () => {
  try {
    emulator = await startAuthEmulator();
    await emulator.createUser(EMAIL, PASSWORD);
  } catch (error) {
    setupError = error;
  }
}, 90_000);
// An emulator that could not start fails every test with the reason (never a skip, never a timeout).
beforeEach(() => void auth());
afterAll(async () => {
  await emulator?.stop();
});

function auth(): AuthEmulator {
  if (setupError) throw setupError;
  if (!emulator) throw new Error('the Auth emulator did not start');
  return emulator;
}

/** Plays a Firebase runtime's identity routes; records whose ID token each call carried. */
async function playFirebaseRuntime(page: Page): Promise<{ readonly callers: (string | null)[] }> {
  const callers: (string | null)[] = [];
  const caller = async (route: Route): Promise<string | null> => {
    const token = /^Bearer (\S+)$/.exec(route.request().headers().authorization ?? '')?.[1];
    const email = token ? await auth().emailOf(token) : null;
    callers.push(email);
    return email;
  };
  const json = (route: Route, body: unknown, status = 200) =>
    route.fulfill({
      status,
      contentType: status >= 400 ? 'application/problem+json' : 'application/json',
      body: JSON.stringify(body),
    });
  const unauthenticated = {
    type: 'about:blank',
    title: 'Sign-in required',
    status: 401,
    code: 'unauthenticated',
  };

  await page.route('**/api/system/session', async (route) => {
    const email = await caller(route);
    await json(route, {
      mode: 'firebase',
      signedIn: email !== null,
      user: email === null ? null : { uid: 'ada', email, displayName: null, platformAdmin: false },
      firebase: { apiKey: null, authDomain: null, projectId: 'demo-seraphim', authEmulatorUrl: auth().url },
    });
  });
  await page.route(/\/api\/workspaces(\/demo)?$/, async (route) => {
    if ((await caller(route)) === null) return json(route, unauthenticated, 401);
    const demo = { id: 'demo', name: 'Demo workspace', role: 'viewer' };
    return json(
      route,
      route.request().url().endsWith('/demo') ? { ...demo, createdAt: 0 } : { workspaces: [demo] },
    );
  });
  return { callers };
}

describe('Signing in with Firebase (Auth emulator)', () => {
  test('email and password through the SDK; every call then carries the ID token; sign-out ends it', async () => {
    const page = await openPage();
    const { callers } = await playFirebaseRuntime(page);

    await page.goto(origin());
    await page.waitForURL(`${origin()}/signin?next=%2F`);
    await page.getByTestId('sign-in').waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('sign-in-google').isVisible()).toBe(true);

    await page.getByTestId('email').fill(EMAIL);
    await page.getByTestId('password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    const problem = page.getByTestId('sign-in-error');
    await problem.waitFor({ timeout: 15_000 });
    expect(await problem.textContent()).toContain('Wrong email or password');

    await page.getByTestId('password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${origin()}/?ws=demo`);
    await page.getByTestId('health-status').waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('signed-in-as').textContent()).toBe(EMAIL);
    // Since signing in, every identity call carried a token the emulator vouches for.
    const signedInAt = callers.indexOf(EMAIL);
    expect(signedInAt).toBeGreaterThanOrEqual(0);
    expect(callers.slice(signedInAt)).toEqual(callers.slice(signedInAt).map(() => EMAIL));

    // Firebase keeps the sign-in across a reload.
    await page.reload();
    await page.getByTestId('signed-in-as').waitFor({ timeout: 15_000 });
    expect(page.url()).toBe(`${origin()}/?ws=demo`);

    await page.getByTestId('sign-out').click();
    await page.waitForURL((url) => url.pathname === '/signin');
    await page.getByTestId('sign-in').waitFor({ timeout: 15_000 });
    expect(callers.at(-1)).toBeNull();
  });
});

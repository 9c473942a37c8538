import type { Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { browserSuite } from './browser-suite.ts';

/**
 * Session mode (what `--host 0.0.0.0` gets; forced on loopback here): everyone signs in. The
 * tests run in order on one runtime: the owner signs in with the printed link, invites a viewer,
 * and the viewer signs in with theirs.
 */
const { origin, output, openPage } = browserSuite({ env: { SERAPHIM_AUTH: 'session' } });

const SIGN_IN_SCREENSHOT = '/tmp/sign-in.png';
const OWNER_EMAIL = 'owner@localhost';
const OWNER_PASSWORD = 'correct horse battery';
const VIEWER_EMAIL = 'viewer@example.com';
const VIEWER_PASSWORD = 'viewer password 123';

/** The invitation link the owner was shown, for the viewer's test. */
let invitationUrl: string | undefined;

function heading(page: Page): Promise<string | null> {
  return page
    .getByRole('heading', { level: 1 })
    .first()
    .textContent({ timeout: 1_000 })
    .catch(() => null);
}

/** The one-time owner link the runtime printed at start, Jupyter-style. */
async function ownerLink(): Promise<string> {
  await expect.poll(() => /\/signin#owner=\S+/.test(output()), { timeout: 10_000 }).toBe(true);
  const path = /(\/signin#owner=\S+)/.exec(output())?.[1] ?? '';
  return `${origin()}${path}`;
}

async function choosePassword(page: Page, password: string): Promise<void> {
  const form = page.getByTestId('choose-password');
  await form.waitFor({ timeout: 15_000 });
  await page.getByTestId('new-password').fill(password);
  await page.getByTestId('confirm-password').fill(password);
  await form.getByRole('button').click();
}

describe('Signing in (session mode)', () => {
  test('a visitor is sent to sign in, and a wrong password is refused inline', async () => {
    const page = await openPage();
    await page.goto(`${origin()}/executions`);
    await page.waitForURL(`${origin()}/signin?next=%2Fexecutions`);
    await page.getByTestId('sign-in').waitFor({ timeout: 15_000 });
    expect(await page.locator('.sidebar').count()).toBe(0);

    await page.getByTestId('email').fill(OWNER_EMAIL);
    await page.getByTestId('password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    const problem = page.getByTestId('sign-in-error');
    await problem.waitFor();
    expect(await problem.textContent()).toContain('Wrong email or password');
    expect(await problem.textContent()).toContain('HTTP 401');
    expect(page.url()).toBe(`${origin()}/signin?next=%2Fexecutions`);

    // Past ten failures for one email, the runtime makes them wait, and the page says how long.
    const limited = 'limited@example.com';
    for (let i = 0; i < 10; i += 1) {
      const response = await fetch(`${origin()}/api/system/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: limited, password: `wrong password ${i}` }),
      });
      expect(response.status).toBe(401);
    }
    await page.getByTestId('email').fill(limited);
    await page.getByTestId('password').fill('wrong password 10');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect.poll(() => problem.getAttribute('data-code')).toBe('rate-limited');
    expect(await problem.textContent()).toContain('HTTP 429');
    expect(await page.getByTestId('retry-after').textContent()).toMatch(/^Try again in (\d+m )?\d+s\.$/);
    await page.screenshot({ path: SIGN_IN_SCREENSHOT });
  });

  test('the owner link sets a password and signs in; the owner invites a viewer', async () => {
    const page = await openPage();
    await page.goto(await ownerLink());
    await page.getByTestId('choose-password').waitFor({ timeout: 15_000 });
    // The token is a credential: it leaves the address bar once read.
    await expect.poll(() => page.url()).toBe(`${origin()}/signin`);

    await page.getByTestId('new-password').fill('too short');
    await page.getByTestId('confirm-password').fill('too short');
    await page.getByTestId('choose-password').getByRole('button').click();
    expect(await page.getByTestId('password-problem').textContent()).toContain('at least 12 characters');

    await choosePassword(page, OWNER_PASSWORD);
    await page.waitForURL(`${origin()}/?ws=demo`);
    await expect.poll(() => heading(page), { timeout: 15_000 }).toBe('Home');
    expect(await page.getByTestId('signed-in-as').textContent()).toBe(OWNER_EMAIL);

    await page.goto(`${origin()}/settings/members?ws=demo`);
    await page.getByTestId('invite-form').waitFor({ timeout: 15_000 });
    await page.getByTestId('invite-email').fill(VIEWER_EMAIL);
    await page.getByTestId('invite-role').selectOption('viewer');
    await page.getByRole('button', { name: 'Invite' }).click();

    const invitation = page.getByTestId('invitation');
    await invitation.waitFor();
    expect(await invitation.textContent()).toContain('shown once');
    invitationUrl = await page.getByTestId('invitation-url').inputValue();
    expect(invitationUrl).toMatch(/\/signin#invite=\S+$/);
    expect((await page.getByTestId('invitation-expiry').textContent())?.trim()).not.toBe('');
    await expect
      .poll(() =>
        page.locator(`[data-testid="member-row"][data-email="${VIEWER_EMAIL}"]`).getAttribute('data-role'),
      )
      .toBe('viewer');

    // The seeded local owner is demo's only owner: demoting them is the API's conflict, shown on the row.
    const lastOwner = page.locator('[data-testid="member-row"][data-uid="local-owner"]');
    await lastOwner.getByTestId('member-role').selectOption('admin');
    const refusal = lastOwner.getByTestId('member-error');
    await refusal.waitFor();
    expect(await refusal.getAttribute('data-code')).toBe('conflict');
    expect(await refusal.textContent()).toContain('HTTP 409');
    expect(await lastOwner.getByTestId('member-role').inputValue()).toBe('owner');

    // A session that ends behind the page's back (here: its cookie gone): the next 401 sends the
    // owner to sign in, to come back where they were.
    await page.context().clearCookies();
    await page
      .getByRole('navigation', { name: 'Sections' })
      .getByRole('link', { name: 'Executions' })
      .click();
    await page.waitForURL(`${origin()}/signin?next=${encodeURIComponent('/executions?ws=demo')}`);
    await page.getByTestId('sign-in').waitFor({ timeout: 15_000 });
  });

  test('the viewer sets a password with their link, sees the workspace read-only, and signs out', async () => {
    if (!invitationUrl) throw new Error('the previous test did not get an invitation link');
    const page = await openPage();
    await page.goto(`${origin()}${new URL(invitationUrl).pathname}${new URL(invitationUrl).hash}`);
    await choosePassword(page, VIEWER_PASSWORD);
    await page.waitForURL(`${origin()}/?ws=demo`);
    await expect.poll(() => heading(page), { timeout: 15_000 }).toBe('Home');
    expect(await page.getByTestId('signed-in-as').textContent()).toBe(VIEWER_EMAIL);

    // Members: the list, and nothing a viewer would be refused.
    await page.locator('.sidebar').getByRole('link', { name: 'Members' }).click();
    await page.waitForURL(`${origin()}/settings/members?ws=demo`);
    await page.getByTestId('read-only-note').waitFor({ timeout: 15_000 });
    await expect.poll(() => page.getByTestId('member-row').count()).toBeGreaterThanOrEqual(2);
    expect(await page.getByTestId('invite-form').count()).toBe(0);
    expect(await page.getByTestId('member-role').count()).toBe(0);
    expect(await page.getByTestId('remove-member').count()).toBe(0);

    // An execution waiting for a person: no operator controls, no decision form.
    await page
      .getByRole('navigation', { name: 'Sections' })
      .getByRole('link', { name: 'Executions' })
      .click();
    await page.waitForURL(`${origin()}/executions?ws=demo`);
    const waiting = page.locator('[data-testid="execution-row"][data-status="waiting"]').first();
    await waiting.waitFor({ timeout: 15_000 });
    await waiting.getByRole('link').first().click();
    await page.getByTestId('read-only').waitFor({ timeout: 15_000 });
    await page.getByTestId('timeline-step').first().waitFor();
    expect(await page.getByTestId('control-pause').count()).toBe(0);
    expect(await page.locator('[data-testid^="approve-"]').count()).toBe(0);
    expect(await page.locator('[data-testid^="fork-open-"]').count()).toBe(0);

    await page.getByTestId('sign-out').click();
    await page.waitForURL((url) => url.pathname === '/signin');
    await page.getByTestId('sign-in').waitFor({ timeout: 15_000 });

    // The chosen password signs in again, back where the viewer signed out.
    await page.getByTestId('email').fill(VIEWER_EMAIL);
    await page.getByTestId('password').fill(VIEWER_PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(
      (url) => url.pathname.startsWith('/executions/') && url.searchParams.get('ws') === 'demo',
    );
    await page.getByTestId('read-only').waitFor({ timeout: 15_000 });
  });
});

import type { Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { browserSuite } from './browser-suite.ts';

/** Local mode: on 127.0.0.1 nobody signs in, and the caller is the local owner of every workspace. */
const { origin, openPage } = browserSuite();

/** The rows the demo workspace's executions list shows first: its runs, at most a page of 25. */
async function demoRows(): Promise<number> {
  const res = await fetch(`${origin()}/api/executions/workspaces/demo/executions?limit=200`);
  return Math.min(25, ((await res.json()) as { executions: unknown[] }).executions.length);
}

interface WorkspaceSummary {
  id: string;
  name: string;
}

async function myWorkspaces(): Promise<WorkspaceSummary[]> {
  const response = await fetch(`${origin()}/api/workspaces`);
  if (!response.ok) throw new Error(`GET /api/workspaces: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { workspaces: WorkspaceSummary[] }).workspaces;
}

function heading(page: Page): Promise<string | null> {
  return page
    .getByRole('heading', { level: 1 })
    .first()
    .textContent({ timeout: 1_000 })
    .catch(() => null);
}

function switcherOptions(page: Page): Promise<string[]> {
  return page
    .locator('.sidebar')
    .getByTestId('workspace-switcher')
    .locator('option')
    .evaluateAll((options) => options.map((option) => (option as HTMLOptionElement).value));
}

function executionsTable(page: Page): Promise<string | null> {
  return page
    .getByTestId('execution-table')
    .textContent({ timeout: 1_000 })
    .catch(() => null);
}

describe('Workspaces (local mode)', () => {
  test('a fresh runtime opens onto demo, says so in the URL, and the switcher lists the workspaces', async () => {
    const page = await openPage();
    await page.goto(origin());
    await page.waitForURL(`${origin()}/?ws=demo`);
    await expect.poll(() => heading(page), { timeout: 15_000 }).toBe('Home');

    const listed = await myWorkspaces();
    expect(listed.map((workspace) => workspace.id)).toContain('demo');
    await expect.poll(() => switcherOptions(page)).toEqual(listed.map((workspace) => workspace.id));
    expect(await page.locator('.sidebar').getByTestId('workspace-switcher').inputValue()).toBe('demo');

    // Nobody signs in on loopback: the nav says who Mission Control acts as, with no sign-out.
    expect(await page.getByTestId('signed-in-as').textContent()).toContain('Local owner');
    expect(await page.getByTestId('sign-out').count()).toBe(0);
  });

  test('a new workspace opens empty, switching keeps the page, and a reload keeps the choice', async () => {
    const page = await openPage();
    await page.goto(`${origin()}/executions`);
    await page.waitForURL(`${origin()}/executions?ws=demo`);
    await expect
      .poll(() => page.getByTestId('execution-row').count(), { timeout: 15_000 })
      .toBe(await demoRows());

    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Settings' }).click();
    await page.waitForURL(`${origin()}/settings?ws=demo`);
    await page.getByTestId('new-workspace-name').fill('Acme Claims');
    expect(await page.getByTestId('new-workspace-id').inputValue()).toBe('acme-claims');
    await page.getByRole('button', { name: 'Create workspace' }).click();
    await page.waitForURL(`${origin()}/settings?ws=acme-claims`);
    await expect.poll(() => switcherOptions(page)).toContain('acme-claims');
    expect((await myWorkspaces()).map((workspace) => workspace.id)).toContain('acme-claims');

    // The same id again: the API's conflict, inline.
    await page.getByTestId('new-workspace-name').fill('Acme Claims');
    await page.getByRole('button', { name: 'Create workspace' }).click();
    const conflict = page.getByTestId('new-workspace-error');
    await conflict.waitFor();
    expect(await conflict.getAttribute('data-code')).toBe('conflict');

    await page.locator('.sidebar').getByTestId('workspace-switcher').selectOption('demo');
    await page.waitForURL(`${origin()}/settings?ws=demo`);
    await page
      .getByRole('navigation', { name: 'Sections' })
      .getByRole('link', { name: 'Executions' })
      .click();
    await page.waitForURL(`${origin()}/executions?ws=demo`);
    await expect
      .poll(() => page.getByTestId('execution-row').count(), { timeout: 15_000 })
      .toBe(await demoRows());

    await page.locator('.sidebar').getByTestId('workspace-switcher').selectOption('acme-claims');
    await page.waitForURL(`${origin()}/executions?ws=acme-claims`);
    await expect.poll(() => executionsTable(page)).toContain('No executions yet in workspace acme-claims.');
    expect(await page.getByTestId('execution-row').count()).toBe(0);

    await page.reload();
    await expect
      .poll(() => executionsTable(page), { timeout: 15_000 })
      .toContain('No executions yet in workspace acme-claims.');
    expect(page.url()).toBe(`${origin()}/executions?ws=acme-claims`);

    // An address without `ws` opens the workspace chosen last.
    await page.goto(`${origin()}/pool`);
    await page.waitForURL(`${origin()}/pool?ws=acme-claims`);
  });

  test('the members page lists the local owner, who invites, changes a role and removes someone', async () => {
    const page = await openPage();
    await page.goto(`${origin()}/settings?ws=demo`);
    await page.getByTestId('members-link').click();
    await page.waitForURL(`${origin()}/settings/members?ws=demo`);
    await expect.poll(() => heading(page), { timeout: 15_000 }).toBe('Members');

    const rows = page.getByTestId('member-row');
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBeGreaterThanOrEqual(1);
    expect(await rows.evaluateAll((all) => all.map((row) => (row as HTMLElement).dataset.role))).toContain(
      'owner',
    );
    expect(await page.getByTestId('invite-form').isVisible()).toBe(true);
    expect(await page.getByTestId('read-only-note').count()).toBe(0);

    await page.getByTestId('invite-email').fill('op@example.com');
    await page.getByTestId('invite-role').selectOption('operator');
    await page.getByRole('button', { name: 'Invite' }).click();
    const row = page.locator('[data-testid="member-row"][data-email="op@example.com"]');
    await expect.poll(() => row.getAttribute('data-role')).toBe('operator');
    // Never signed in: a one-time link to pass on.
    expect(await page.getByTestId('invitation-url').inputValue()).toMatch(/\/signin#invite=\S+$/);

    await row.getByTestId('member-role').selectOption('admin');
    await expect.poll(() => row.getAttribute('data-role')).toBe('admin');
    const listed = async () => {
      const response = await fetch(`${origin()}/api/workspaces/demo/members`);
      return ((await response.json()) as { members: { email: string | null; role: string }[] }).members;
    };
    expect(await listed()).toContainEqual(
      expect.objectContaining({ email: 'op@example.com', role: 'admin' }),
    );

    await row.getByTestId('remove-member').click();
    await row.getByTestId('remove-yes').click();
    await row.waitFor({ state: 'detached' });
    expect((await listed()).map((member) => member.email)).not.toContain('op@example.com');
  });

  test('a workspace the caller cannot see says so, with the switcher to leave', async () => {
    const page = await openPage();
    await page.goto(`${origin()}/executions?ws=no-such-workspace`);
    const notice = page.getByTestId('workspace-not-found');
    await notice.waitFor({ timeout: 15_000 });
    expect(await notice.textContent()).toContain('no-such-workspace');
    expect(await page.getByTestId('execution-table').count()).toBe(0);

    await notice.getByTestId('workspace-switcher').selectOption('demo');
    await page.waitForURL(`${origin()}/executions?ws=demo`);
    await expect
      .poll(() => page.getByTestId('execution-row').count(), { timeout: 15_000 })
      .toBe(await demoRows());
  });
});

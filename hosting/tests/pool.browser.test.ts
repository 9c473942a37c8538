import type { Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { browserSuite, requestBarrier, setVisibility, unavailableProblem } from './browser-suite.ts';

const SCREENSHOT = '/tmp/pool.png';
const PHONE_SCREENSHOT = '/tmp/pool-390.png';
const POLL_MS = 2_000;
const CHARTS = [
  'chart-utilisation',
  'chart-throttling',
  'chart-queue-depth',
  'chart-queue-in-flight',
] as const;

interface Stats {
  limits: { perAgentKind: Record<string, number> };
  utilisation: { running: number; limit: number };
  queues: Array<{ queue: string }>;
}

const { origin, openPage } = browserSuite();

async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const response = await fetch(`${origin()}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: init.body === undefined ? {} : { 'content-type': 'application/json' },
    body: init.body === undefined ? null : JSON.stringify(init.body),
  });
  if (!response.ok)
    throw new Error(`${init.method ?? 'GET'} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

function text(page: Page, testid: string): Promise<string | null> {
  return page
    .getByTestId(testid)
    .first()
    .textContent({ timeout: 1_000 })
    .then((value) => value?.trim() ?? null)
    .catch(() => null);
}

function demoRow(page: Page) {
  return page.locator('[data-testid="workspace-row"][data-workspace="demo"]');
}

function demoWeight(page: Page): Promise<string | null> {
  return demoRow(page)
    .getByTestId('workspace-weight')
    .textContent({ timeout: 1_000 })
    .then((value) => value?.trim() ?? null)
    .catch(() => null);
}

/** The fewest readings any line of a chart draws, by its `data-points` and by the commands in its path. */
function fewestPoints(page: Page, chart: string): Promise<number> {
  return page
    .getByTestId(`${chart}-line`)
    .evaluateAll((lines) => {
      if (lines.length === 0) return 0;
      return Math.min(
        ...lines.map((line) => {
          const declared = Number(line.getAttribute('data-points'));
          const drawn = (line.getAttribute('d') ?? '').match(/[ML]/g)?.length ?? 0;
          return Math.min(declared, drawn);
        }),
      );
    })
    .catch(() => 0);
}

async function openEditor(page: Page) {
  await demoRow(page).getByTestId('edit-settings').click();
  const form = page.locator('[data-testid="settings-form"][data-workspace="demo"]');
  await form.waitFor({ state: 'visible' });
  // Saving waits for the current settings: it sends every field the form shows.
  await expect.poll(() => form.getByTestId('settings-save').isEnabled()).toBe(true);
  return form;
}

describe('Pool dashboard', () => {
  test('shows utilisation, one row per pool queue, the demo workspace and the agent kinds', async () => {
    const stats = await api<Stats>('/api/pool/stats');
    expect(stats.queues.length).toBeGreaterThan(0);
    const page = await openPage();
    await page.goto(`${origin()}/pool`);

    await expect
      .poll(() => text(page, 'utilisation-limit'), { timeout: 15_000 })
      .toBe(String(stats.utilisation.limit));
    expect(await text(page, 'utilisation-percent')).toMatch(/^\d+%$/);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Pool');

    const queues = page.getByTestId('queue-table').getByTestId('queue-row');
    await expect
      .poll(() => queues.evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset.queue)))
      .toEqual(stats.queues.map((q) => q.queue));
    expect(await queues.first().locator('td').count()).toBe(5);

    expect(await demoWeight(page)).toBe('1');
    expect(await demoRow(page).getByTestId('workspace-budget').textContent()).toContain('1,000');
    expect(await demoRow(page).getByTestId('workspace-cap').textContent()).toContain('none');
    // The caps in force and the running throttle totals, from the stats.
    expect(await text(page, 'limits-in-force')).toMatch(
      new RegExp(`^Global cap ${stats.utilisation.limit} · per use case \\d+$`),
    );
    expect(await text(page, 'throttled-totals')).toMatch(/^[\d,]+ in all/);
    const kinds = await page
      .getByTestId('agent-kind-row')
      .evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset.kind));
    expect(kinds).toEqual(Object.keys(stats.limits.perAgentKind));
    // The demo's steps wait in the normal queue: its wait bars are drawn once they have run (the first
    // of them also starts an expression worker).
    await expect
      .poll(() => page.locator('[data-testid="chart-waits-bar"][data-group="normal"]').count(), {
        timeout: 10_000,
      })
      .toBe(2);
    expect(await page.getByTestId('api-error').count()).toBe(0);
  });

  test('after new claims-triage runs, every chart has drawn at least two samples', async () => {
    const page = await openPage();
    await page.goto(`${origin()}/pool`);
    await expect.poll(() => text(page, 'utilisation-limit'), { timeout: 15_000 }).not.toBeNull();

    const started = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        api<{ id: string }>('/api/executions/workspaces/demo/executions', {
          body: { useCaseId: 'claims-triage', input: { claimId: `P-${i}`, amount: 100 } },
        }),
      ),
    );
    expect(started).toHaveLength(8);

    for (const chart of CHARTS) {
      await expect.poll(() => fewestPoints(page, chart), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    }
    // One line per queue in the queue charts, each named for a screen reader and in the legend.
    const queues = (await api<Stats>('/api/pool/stats')).queues.map((q) => q.queue);
    expect(
      await page
        .getByTestId('chart-queue-depth-line')
        .evaluateAll((lines) => lines.map((line) => line.getAttribute('data-series'))),
    ).toEqual(queues);
    expect(await page.getByTestId('chart-queue-depth').locator('svg > title').textContent()).toContain(
      'Tasks waiting in each queue',
    );
    expect(await page.getByTestId('chart-queue-depth-legend').locator('li').count()).toBe(queues.length);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  test('editing the demo workspace weight to 2 persists across a reload', async () => {
    const page = await openPage();
    await page.goto(`${origin()}/pool`);
    await expect.poll(() => demoWeight(page), { timeout: 15_000 }).toBe('1');

    const form = await openEditor(page);
    expect(await form.getByTestId('settings-weight').inputValue()).toBe('1');
    expect(await form.getByTestId('settings-budget').inputValue()).toBe('1000');
    expect(await form.getByTestId('settings-cap').inputValue()).toBe('');
    await form.getByTestId('settings-weight').fill('2');
    await form.getByTestId('settings-save').click();

    await form.waitFor({ state: 'detached' });
    await expect.poll(() => demoWeight(page)).toBe('2');
    // The budget the form showed was sent back unchanged, and no cap was invented.
    expect(await api('/api/pool/workspaces/demo/settings')).toEqual({ weight: 2, queueBudget: 1000 });

    await page.reload();
    await expect.poll(() => demoWeight(page), { timeout: 15_000 }).toBe('2');
  });

  test('an invalid queue budget shows the problem inline, marks the field, and changes nothing', async () => {
    const page = await openPage();
    await page.goto(`${origin()}/pool`);
    await expect.poll(() => demoWeight(page), { timeout: 15_000 }).toBe('2');

    const form = await openEditor(page);
    const budget = form.getByTestId('settings-budget');
    await budget.fill('0');
    await form.getByTestId('settings-save').click();

    const problem = form.getByTestId('settings-error');
    await problem.waitFor({ state: 'visible' });
    const message = await problem.textContent();
    expect(message).toContain('Invalid input');
    expect(message).toContain('body.queueBudget');
    expect(message).toContain('invalid-input, HTTP 400');
    expect(await budget.getAttribute('aria-invalid')).toBe('true');
    expect(await form.getByTestId('settings-weight').getAttribute('aria-invalid')).toBe('false');
    // The editor stays open with what was typed, and the server kept the settings it had.
    expect(await budget.inputValue()).toBe('0');
    expect(await api('/api/pool/workspaces/demo/settings')).toEqual({ weight: 2, queueBudget: 1000 });

    // A valid cap and budget clear the problem.
    await budget.fill('500');
    await form.getByTestId('settings-cap').fill('4');
    await form.getByTestId('settings-save').click();
    await form.waitFor({ state: 'detached' });
    await expect.poll(() => demoRow(page).getByTestId('workspace-budget').textContent()).toContain('500');
    expect((await demoRow(page).getByTestId('workspace-cap').textContent())?.trim()).toBe('4');
    expect(await api('/api/pool/workspaces/demo/settings')).toEqual({
      weight: 2,
      queueBudget: 500,
      maxConcurrent: 4,
    });
  });

  test('polls every 2 s while visible, not while hidden, and stops when the page is left', async () => {
    const page = await openPage();
    let statsCalls = 0;
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/api/pool/stats') statsCalls += 1;
    });
    await page.clock.install();
    await page.goto(`${origin()}/pool`);
    await expect.poll(() => text(page, 'utilisation-limit'), { timeout: 15_000 }).not.toBeNull();

    await page.clock.fastForward(POLL_MS);
    await expect.poll(() => statsCalls).toBeGreaterThanOrEqual(2);
    await setVisibility(page, 'hidden');
    const whileHidden = statsCalls;
    await page.clock.fastForward(5 * POLL_MS);
    await requestBarrier(page);
    expect(statsCalls).toBe(whileHidden);
    await setVisibility(page, 'visible');
    await expect.poll(() => statsCalls).toBe(whileHidden + 1);

    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Home' }).click();
    await page.waitForURL(`${origin()}/?ws=demo`);
    const afterLeaving = statsCalls;
    await page.clock.fastForward(5 * POLL_MS);
    await requestBarrier(page);
    expect(statsCalls).toBe(afterLeaving);
  });

  test('an API problem shows with the last figures kept, and clears on the next good poll', async () => {
    const page = await openPage();
    await page.clock.install();
    await page.goto(`${origin()}/pool`);
    await expect.poll(() => text(page, 'utilisation-limit'), { timeout: 15_000 }).not.toBeNull();

    await page.route('**/api/pool/stats', unavailableProblem);
    await page.clock.fastForward(POLL_MS);
    const alert = page.getByTestId('api-error');
    await alert.waitFor({ state: 'visible' });
    expect(await alert.textContent()).toContain('The runtime is shutting down');
    expect(await alert.textContent()).toContain('unavailable, HTTP 503');
    expect(await text(page, 'utilisation-limit')).not.toBeNull();

    await page.unroute('**/api/pool/stats');
    await page.clock.fastForward(POLL_MS);
    await alert.waitFor({ state: 'detached' });
  });

  test('at phone width nothing overflows sideways, and the editor is reachable', async () => {
    const page = await openPage({ width: 390, height: 844 });
    await page.goto(`${origin()}/pool`);
    await expect
      .poll(() => fewestPoints(page, 'chart-utilisation'), { timeout: 15_000 })
      .toBeGreaterThanOrEqual(1);

    const form = await openEditor(page);
    expect(await form.getByTestId('settings-save').isVisible()).toBe(true);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: PHONE_SCREENSHOT, fullPage: true });
  });
});

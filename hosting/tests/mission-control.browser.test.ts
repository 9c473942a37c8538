import type { Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { browserSuite, requestBarrier, setVisibility, unavailableProblem } from './browser-suite.ts';

const SCREENSHOT_PATH = '/tmp/mission-control.png';
const POLL_MS = 5_000;

/** The navigation, in the order the product defines it. */
const SECTIONS = [
  { label: 'Home', path: '/' },
  { label: 'Executions', path: '/executions' },
  { label: 'Use cases & Templates', path: '/use-cases' },
  { label: 'Data pipelines', path: '/pipelines' },
  { label: 'Pool', path: '/pool' },
  { label: 'Events', path: '/events' },
  { label: 'Experiments', path: '/experiments' },
  { label: 'Monitoring', path: '/monitoring' },
  { label: 'Settings', path: '/settings' },
] as const;

/** Sections with a real page; every other one is a placeholder until it is built. */
const BUILT = new Set<string>(['/', '/executions', '/use-cases', '/pool', '/settings']);

interface QueueStats {
  queue: string;
}

const { origin, openPage } = browserSuite();

function healthStatus(page: Page): Promise<string | null> {
  return page
    .getByTestId('health-status')
    .textContent({ timeout: 1_000 })
    .catch(() => null);
}

function heading(page: Page): Promise<string | null> {
  return page
    .getByRole('heading', { level: 1 })
    .textContent({ timeout: 1_000 })
    .catch(() => null);
}

function navLink(page: Page, label: string) {
  return page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: label, exact: true });
}

function countRequests(page: Page, path: string): { readonly count: number } {
  const counter = { count: 0 };
  page.on('request', (request) => {
    if (new URL(request.url()).pathname === path) counter.count += 1;
  });
  return counter;
}

describe('Mission Control', () => {
  test('home shows runtime health and one table row per task queue', async () => {
    const page = await openPage();
    await page.goto(origin());

    await expect.poll(() => healthStatus(page), { timeout: 15_000 }).toBe('ok');
    expect(await page.getByTestId('health-runtime').textContent()).toBe('embedded');
    expect((await page.getByTestId('health-version').textContent())?.trim()).not.toBe('');
    expect(await page.getByTestId('health-uptime').textContent()).toMatch(/^\d+[dhms]( \d+[hms])?$/);

    // Whatever server is under test, the table shows exactly the queues its API reports.
    const response = await fetch(`${origin()}/api/system/queues`);
    const { queues } = (await response.json()) as { queues: QueueStats[] };
    expect(queues.length).toBeGreaterThan(0);
    const table = page.getByTestId('queue-table');
    await expect
      .poll(() => table.getByTestId('queue-row').evaluateAll((rows) => rows.map((row) => row.dataset.queue)))
      .toEqual(queues.map((q) => q.queue));
    expect(await page.getByTestId('api-error').count()).toBe(0);

    await page.screenshot({ path: SCREENSHOT_PATH, fullPage: true });
  });

  test('navigation reaches every section in order, changing the URL and the heading', async () => {
    const page = await openPage();
    await page.goto(origin());
    await expect.poll(() => heading(page)).toBe('Home');

    const labels = await page
      .getByRole('navigation', { name: 'Sections' })
      .getByRole('link')
      .allTextContents();
    expect(labels.map((label) => label.trim())).toEqual(SECTIONS.map((section) => section.label));

    for (const section of [...SECTIONS.slice(1), SECTIONS[0]]) {
      await navLink(page, section.label).click();
      // Links keep the workspace: every address names it.
      await page.waitForURL(`${origin()}${section.path}?ws=demo`);
      await expect.poll(() => heading(page)).toBe(section.label);
      expect(await navLink(page, section.label).getAttribute('aria-current')).toBe('page');
      if (!BUILT.has(section.path)) {
        // A placeholder says plainly what will live there.
        expect(await page.locator('main').textContent()).toMatch(/will be .+ here\b/);
      }
    }
  });

  test('a deep link survives a reload (SPA fallback), and unknown paths say so', async () => {
    const page = await openPage();
    await page.goto(`${origin()}/pool`);
    await expect.poll(() => heading(page)).toBe('Pool');
    await page.reload();
    await expect.poll(() => heading(page)).toBe('Pool');
    expect(await navLink(page, 'Pool').getAttribute('aria-current')).toBe('page');

    await page.goto(`${origin()}/no-such-section`);
    await expect.poll(() => heading(page)).toBe('Page not found');
  });

  test('an API problem shows the error state, which clears on the next successful poll', async () => {
    const page = await openPage();
    await page.clock.install();
    await page.goto(origin());
    await expect.poll(() => healthStatus(page), { timeout: 15_000 }).toBe('ok');

    await page.route('**/api/system/health', unavailableProblem);
    await page.clock.fastForward(POLL_MS);
    const alert = page.getByTestId('api-error');
    await alert.waitFor({ state: 'visible' });
    const text = await alert.textContent();
    expect(text).toContain('Runtime unavailable');
    expect(text).toContain('The runtime is shutting down');
    expect(text).toContain('unavailable');
    expect(text).toContain('503');

    await page.unroute('**/api/system/health');
    await page.clock.fastForward(POLL_MS);
    await alert.waitFor({ state: 'detached' });
    expect(await healthStatus(page)).toBe('ok');
  });

  test('an unreachable API shows the error state from the first load', async () => {
    const page = await openPage();
    await page.route('**/api/system/**', (route) => route.abort('connectionrefused'));
    await page.goto(origin());
    const alert = page.getByTestId('api-error');
    await alert.waitFor({ state: 'visible' });
    expect(await alert.textContent()).toContain('cannot be reached');
    expect(await page.getByTestId('health-status').count()).toBe(0);
  });

  test('polling pauses while the tab is hidden and stops when Home is left', async () => {
    const page = await openPage();
    const health = countRequests(page, '/api/system/health');
    await page.clock.install();
    await page.goto(origin());
    await expect.poll(() => healthStatus(page), { timeout: 15_000 }).toBe('ok');

    await page.clock.fastForward(POLL_MS);
    await expect.poll(() => health.count).toBeGreaterThanOrEqual(2);

    await setVisibility(page, 'hidden');
    const whileHidden = health.count;
    await page.clock.fastForward(6 * POLL_MS);
    await requestBarrier(page);
    expect(health.count).toBe(whileHidden);

    await setVisibility(page, 'visible');
    await expect.poll(() => health.count).toBe(whileHidden + 1);

    await navLink(page, 'Pool').click();
    await expect.poll(() => heading(page)).toBe('Pool');
    const afterLeaving = health.count;
    await page.clock.fastForward(6 * POLL_MS);
    await requestBarrier(page);
    expect(health.count).toBe(afterLeaving);
  });

  test('at phone width the navigation collapses behind a menu button', async () => {
    const page = await openPage({ width: 390, height: 844 });
    await page.goto(origin());
    await expect.poll(() => healthStatus(page), { timeout: 15_000 }).toBe('ok');

    const nav = page.getByRole('navigation', { name: 'Sections' });
    const menu = page.getByRole('button', { name: 'Menu' });
    expect(await nav.isVisible()).toBe(false);
    expect(await menu.getAttribute('aria-expanded')).toBe('false');

    await menu.click();
    await nav.waitFor({ state: 'visible' });
    expect(await menu.getAttribute('aria-expanded')).toBe('true');

    await navLink(page, 'Events').click();
    await page.waitForURL(`${origin()}/events?ws=demo`);
    await expect.poll(() => heading(page)).toBe('Events');
    await nav.waitFor({ state: 'hidden' });

    // Nothing overflows the phone viewport sideways.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
  });
});

import type { Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { browserSuite, requestBarrier, setVisibility } from './browser-suite.ts';

const LIST_SCREENSHOT = '/tmp/executions-list.png';
const DETAIL_SCREENSHOT = '/tmp/execution-detail.png';
const API = '/api/executions/workspaces/demo';
const LIST_POLL_MS = 3_000;
const DETAIL_POLL_MS = 1_500;

interface Summary {
  id: string;
  status: string;
}

const { origin, openPage } = browserSuite();

async function api<T>(path: string, body?: unknown): Promise<T> {
  // Use cases live in their own orchestrator.
  const base = path.startsWith('/use-cases') ? '/api/useCases/workspaces/demo' : API;
  const response = await fetch(`${origin()}${base}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

async function executions(query = ''): Promise<Summary[]> {
  return (await api<{ executions: Summary[] }>(`/executions${query}`)).executions;
}

/**
 * The claims-triage demo's runs: what these tests start from. The demo also installs a use case from
 * each built-in template and runs its samples; those are the use cases suite's.
 */
const CLAIMS = 'useCase=claims-triage';
function claimsRuns(query = ''): Promise<Summary[]> {
  return executions(`?${CLAIMS}${query ? `&${query.replace(/^\?/, '')}` : ''}`);
}

/** Starts a run and waits until it has settled into `status` (the engine runs in the background). */
async function startRun(useCaseId: string, input: unknown, status: string): Promise<string> {
  const { id } = await api<{ id: string }>('/executions', { useCaseId, input });
  await expect
    .poll(async () => (await api<Summary>(`/executions/${id}`)).status, { timeout: 10_000 })
    .toBe(status);
  return id;
}

function rows(page: Page) {
  return page.getByTestId('execution-row');
}

function rowStatuses(page: Page): Promise<string[]> {
  return rows(page).evaluateAll((all) => all.map((row) => (row as HTMLElement).dataset.status ?? ''));
}

function executionStatus(page: Page): Promise<string | null> {
  return page
    .getByTestId('execution-status')
    .getAttribute('data-status', { timeout: 1_000 })
    .catch(() => null);
}

function stepStatus(page: Page, stepId: string): Promise<string | null> {
  return page
    .locator(`[data-testid="timeline-step"][data-step="${stepId}"]`)
    .getAttribute('data-status', { timeout: 1_000 })
    .catch(() => null);
}

function attempts(page: Page, stepId: string): Promise<string | null> {
  return page
    .locator(`[data-testid="timeline-step"][data-step="${stepId}"] td.num`)
    .first()
    .textContent({ timeout: 1_000 })
    .catch(() => null);
}

describe('Executions', () => {
  test('the list shows the four claims-triage demo executions, newest first, each linking to its page', async () => {
    const page = await openPage();
    await page.goto(`${origin()}/executions?${CLAIMS}`);

    await expect.poll(() => rows(page).count(), { timeout: 15_000 }).toBe(4);
    const seeded = await claimsRuns();
    expect(await rows(page).evaluateAll((all) => all.map((row) => (row as HTMLElement).dataset.id))).toEqual(
      seeded.map((e) => e.id),
    );
    expect((await rowStatuses(page)).sort()).toEqual(['succeeded', 'succeeded', 'waiting', 'waiting']);
    expect(await rows(page).first().textContent()).toContain('Claims triage');
    // Each row says which run it is: the start of its input.
    const previews = await rows(page).getByTestId('input-preview').allTextContents();
    expect(previews.map((text) => text.trim()).sort()).toEqual(
      ['C-1001', 'C-1002', 'C-1003', 'C-1004'].map((claim) =>
        expect.stringContaining(`"claimId":"${claim}"`),
      ),
    );
    expect(
      await page
        .getByRole('navigation', { name: 'Sections' })
        .getByRole('link', { name: 'Executions' })
        .getAttribute('aria-current'),
    ).toBe('page');

    const first = seeded[0] as Summary;
    await rows(page).first().getByRole('link', { name: first.id }).click();
    await page.waitForURL(`${origin()}/executions/${first.id}?ws=demo`);
    expect(await page.getByTestId('execution-id').textContent()).toBe(first.id);

    await page.goBack();
    await expect.poll(() => rows(page).count()).toBe(4);
    await page.screenshot({ path: LIST_SCREENSHOT, fullPage: true });
  });

  test('the status and use-case filters live in the URL and survive a reload', async () => {
    const page = await openPage();
    await page.goto(`${origin()}/executions?${CLAIMS}`);
    await expect.poll(() => rows(page).count(), { timeout: 15_000 }).toBe(4);

    await page.getByTestId('filter-status').selectOption('waiting');
    await page.waitForURL(/\/executions\?(?=.*status=waiting)(?=.*useCase=claims-triage)/);
    await expect.poll(() => rowStatuses(page)).toEqual(['waiting', 'waiting']);

    await page.reload();
    await expect.poll(() => rowStatuses(page), { timeout: 15_000 }).toEqual(['waiting', 'waiting']);
    expect(await page.getByTestId('filter-status').inputValue()).toBe('waiting');

    // The use-case select is filled from the API; choosing one narrows the same query string.
    await expect
      .poll(() => page.getByTestId('filter-use-case').locator('option').allTextContents())
      .toEqual(expect.arrayContaining(['All use cases', 'Claims triage', 'Payment fraud screening']));
    expect(await page.getByTestId('filter-use-case').inputValue()).toBe('claims-triage');
    await page.getByTestId('filter-use-case').selectOption('claims-triage');
    await page.waitForURL(/\/executions\?(?=.*status=waiting)(?=.*useCase=claims-triage)/);
    await expect.poll(() => rowStatuses(page)).toEqual(['waiting', 'waiting']);

    await page.getByTestId('filter-status').selectOption('failed');
    await expect
      .poll(() => page.getByTestId('execution-table').textContent())
      .toContain('No executions match these filters.');

    await page.getByRole('link', { name: 'Clear filters' }).click();
    await page.waitForURL(`${origin()}/executions?ws=demo`);
    const all = (await executions('?limit=200')).length;
    expect(all).toBeGreaterThan(4);
    await expect.poll(() => rows(page).count()).toBe(Math.min(all, 25));
    expect(await page.getByTestId('filter-status').inputValue()).toBe('');
    expect(await page.getByTestId('filter-use-case').inputValue()).toBe('');
  });

  test('approving the waiting review from the detail page lets the run finish', async () => {
    const [waiting] = await claimsRuns('status=waiting');
    if (!waiting) throw new Error('the demo seed has no waiting execution');
    const page = await openPage();
    await page.goto(`${origin()}/executions?${CLAIMS}&status=waiting`);
    await page
      .locator(`[data-testid="execution-row"][data-id="${waiting.id}"]`)
      .getByRole('link', { name: waiting.id })
      .click();
    await page.waitForURL(`${origin()}/executions/${waiting.id}?ws=demo`);

    await expect.poll(() => stepStatus(page, 'review'), { timeout: 15_000 }).toBe('waiting');
    expect(await executionStatus(page)).toBe('waiting');
    expect(await page.getByTestId('decision-review').textContent()).toMatch(
      /Claim C-100\d asks for \d+\. Approve it\?/,
    );
    // The timeline names each step's agent kind, and what the waiting person is asked.
    expect(await page.getByTestId('agent-review').textContent()).toBe('human');
    await page.getByTestId('toggle-review').click();
    expect(await page.getByTestId('prompt-review').textContent()).toMatch(
      /Asks\s+Claim C-100\d asks for \d+\. Approve it\?/,
    );
    await page.getByTestId('toggle-review').click();
    // The rules step's recorded inputs and output, one click away.
    await page.getByTestId('toggle-score').click();
    expect(await page.getByTestId('output-score').textContent()).toContain('"decision": "review"');
    await page.screenshot({ path: DETAIL_SCREENSHOT, fullPage: true });

    await page.getByTestId('comment-review').fill('Documents check out');
    await page.getByTestId('approve-review').click();

    await expect.poll(() => executionStatus(page), { timeout: 5_000 }).toBe('succeeded');
    expect(await stepStatus(page, 'review')).toBe('succeeded');
    await expect.poll(() => stepStatus(page, 'settle')).toBe('succeeded');
    await page.getByTestId('toggle-review').click();
    const output = await page.getByTestId('output-review').textContent();
    expect(output).toContain('"decision": "approved"');
    expect(output).toContain('Documents check out');
    // A finished run offers no controls.
    for (const control of ['control-pause', 'control-resume', 'control-cancel']) {
      expect(await page.getByTestId(control).isDisabled()).toBe(true);
    }
    expect(await page.getByTestId('approve-review').count()).toBe(0);
    expect((await api<Summary>(`/executions/${waiting.id}`)).status).toBe('succeeded');
  });

  test('cancelling the other waiting execution, with a reason', async () => {
    const waiting = await claimsRuns('status=waiting');
    expect(waiting).toHaveLength(1);
    const { id } = waiting[0] as Summary;
    const page = await openPage();
    await page.goto(`${origin()}/executions/${id}`);
    await expect.poll(() => stepStatus(page, 'review'), { timeout: 15_000 }).toBe('waiting');

    await page.getByTestId('control-cancel').click();
    await page.getByTestId('cancel-confirm').getByRole('textbox').fill('duplicate claim');
    await page.getByTestId('confirm-cancel').click();

    await expect.poll(() => executionStatus(page), { timeout: 5_000 }).toBe('cancelled');
    await expect.poll(() => stepStatus(page, 'review')).toBe('cancelled');
    expect(await page.getByTestId('execution-error').textContent()).toContain('duplicate claim');
    expect(await page.getByTestId('cancel-confirm').count()).toBe(0);
    expect(await page.getByTestId('control-cancel').isDisabled()).toBe(true);
    expect((await api<Summary>(`/executions/${id}`)).status).toBe('cancelled');
  });

  test('a deep link to an execution survives a reload; a finished run is not polled', async () => {
    const [first] = await claimsRuns('status=succeeded');
    if (!first) throw new Error('no succeeded execution');
    const page = await openPage();
    let timelineCalls = 0;
    page.on('request', (request) => {
      if (new URL(request.url()).pathname.endsWith(`/executions/${first.id}/timeline`)) timelineCalls += 1;
    });
    await page.clock.install();
    await page.goto(`${origin()}/executions/${first.id}`);
    await expect.poll(() => page.getByTestId('timeline-step').count(), { timeout: 15_000 }).toBe(6);
    expect(await executionStatus(page)).toBe('succeeded');
    await page.clock.fastForward(5 * DETAIL_POLL_MS);
    await requestBarrier(page);
    expect(timelineCalls).toBe(1);

    await page.reload();
    await expect.poll(() => page.getByTestId('timeline-step').count(), { timeout: 15_000 }).toBe(6);
    expect(await page.getByTestId('execution-id').textContent()).toBe(first.id);
    expect(await executionStatus(page)).toBe('succeeded');
    expect(
      await page
        .getByRole('navigation', { name: 'Sections' })
        .getByRole('link', { name: 'Executions' })
        .getAttribute('aria-current'),
    ).toBe('page');
  });

  test('a live execution is polled every 1.5 s while visible, not while hidden', async () => {
    const id = await startRun(
      'claims-triage',
      { claimId: 'C-2101', amount: 9000, priorClaims: 0 },
      'waiting',
    );
    const page = await openPage();
    let timelineCalls = 0;
    page.on('request', (request) => {
      if (new URL(request.url()).pathname.endsWith(`/executions/${id}/timeline`)) timelineCalls += 1;
    });
    await page.clock.install();
    await page.goto(`${origin()}/executions/${id}`);
    await expect.poll(() => executionStatus(page), { timeout: 15_000 }).toBe('waiting');

    await page.clock.fastForward(DETAIL_POLL_MS);
    await expect.poll(() => timelineCalls).toBeGreaterThanOrEqual(2);
    await setVisibility(page, 'hidden');
    const whileHidden = timelineCalls;
    await page.clock.fastForward(5 * DETAIL_POLL_MS);
    await requestBarrier(page);
    expect(timelineCalls).toBe(whileHidden);
    await setVisibility(page, 'visible');
    await expect.poll(() => timelineCalls).toBe(whileHidden + 1);
    await api(`/executions/${id}/control`, { action: 'cancel' });
  });

  test('an execution that does not exist shows the API problem inline', async () => {
    const page = await openPage();
    await page.goto(`${origin()}/executions/01M8692K5FYKCH5Y3W1HJJ7DWX`);
    const problem = page.getByTestId('api-error');
    await problem.waitFor({ state: 'visible', timeout: 15_000 });
    const text = await problem.textContent();
    expect(text).toContain('01M8692K5FYKCH5Y3W1HJJ7DWX not found');
    expect(text).toContain('not-found, HTTP 404');
    expect(await page.getByTestId('timeline').count()).toBe(0);
  });

  test('a control the API refuses shows its problem beside the controls; pause and resume', async () => {
    const id = await startRun(
      'claims-triage',
      { claimId: 'C-2002', amount: 9000, priorClaims: 0 },
      'waiting',
    );
    const page = await openPage();
    // A frozen clock holds the polling, so the page does not learn of the pause made behind its back.
    await page.clock.install();
    await page.goto(`${origin()}/executions/${id}`);
    await expect.poll(() => executionStatus(page), { timeout: 15_000 }).toBe('waiting');

    await api(`/executions/${id}/control`, { action: 'pause' });
    await page.getByTestId('control-pause').click();
    const problem = page.getByTestId('control-error');
    await problem.waitFor({ state: 'visible' });
    expect(await problem.textContent()).toContain('already paused');
    expect(await problem.textContent()).toContain('conflict, HTTP 409');

    await page.clock.fastForward(DETAIL_POLL_MS);
    await page.getByTestId('paused-tag').waitFor({ state: 'visible' });
    expect(await page.getByTestId('control-pause').isDisabled()).toBe(true);
    await page.getByTestId('control-resume').click();
    await page.getByTestId('paused-tag').waitFor({ state: 'detached' });
    expect(await problem.count()).toBe(0);
    expect(await page.getByTestId('control-pause').isEnabled()).toBe(true);
  });

  test('a new run from a checkpoint, with edited input, is linked to its parent; the diff shows what changed', async () => {
    // A small claim is approved automatically; forked with a large amount, its risk score sends it to review.
    const parent = await startRun(
      'claims-triage',
      { claimId: 'C-3001', amount: 420, priorClaims: 0 },
      'succeeded',
    );
    const page = await openPage();
    await page.goto(`${origin()}/executions/${parent}`);
    await expect.poll(() => page.getByTestId('checkpoint').count(), { timeout: 15_000 }).toBeGreaterThan(2);

    await page.getByTestId('fork-open-1').click();
    const input = page.getByTestId('fork-input');
    expect(JSON.parse(await input.inputValue())).toEqual({ claimId: 'C-3001', amount: 420, priorClaims: 0 });
    await input.fill('{ "claimId": "C-3001", ');
    await page.getByTestId('fork-input-error').waitFor({ state: 'visible' });
    expect(await page.getByTestId('fork-submit').isDisabled()).toBe(true);
    await input.fill('{ "claimId": "C-3001", "amount": 9000, "priorClaims": 0 }');
    await page.getByTestId('fork-submit').click();

    await page.waitForURL((url) => url.pathname.startsWith('/executions/') && !url.pathname.endsWith(parent));
    const child = new URL(page.url()).pathname.split('/').pop() as string;
    await expect.poll(() => page.getByTestId('execution-id').textContent(), { timeout: 15_000 }).toBe(child);
    expect(await page.getByTestId('parent-link').textContent()).toContain(parent);
    expect(await page.getByTestId('parent-link').textContent()).toContain('at checkpoint 1');
    await expect.poll(() => stepStatus(page, 'review'), { timeout: 10_000 }).toBe('waiting');
    expect(await stepStatus(page, 'autoApprove')).toBe('skipped');

    // Start → latest by default: the risk the rules step added.
    const risk = page.locator('[data-testid="diff-key"][data-key="risk"]');
    await risk.waitFor({ state: 'visible' });
    expect(await risk.getAttribute('data-change')).toBe('added');
    expect(await risk.textContent()).toContain('"decision": "review"');
  });

  test('retrying a failed step runs it again; a re-run shows what the agent does now', async () => {
    const id = await startRun('claims-triage', { claimId: 'C-4001', amount: -5 }, 'failed');
    const page = await openPage();
    await page.goto(`${origin()}/executions/${id}`);
    await expect.poll(() => stepStatus(page, 'check'), { timeout: 15_000 }).toBe('failed');
    expect(await page.getByTestId('execution-error').textContent()).toContain('Too small');
    expect(await attempts(page, 'check')).toBe('1');

    // The input is still invalid: the retried step fails again, with one more attempt on record.
    await page.getByTestId('retry-check').click();
    await expect.poll(() => attempts(page, 'check'), { timeout: 5_000 }).toBe('2');
    // The attempt counter can show before the attempt settles (a validate step's check runs in a worker).
    await expect.poll(() => executionStatus(page), { timeout: 5_000 }).toBe('failed');

    await page.getByTestId('toggle-check').click();
    await page.getByTestId('rerun-check').click();
    const rerun = page.getByTestId('rerun-result-check');
    await rerun.waitFor({ state: 'visible' });
    expect(await rerun.textContent()).toContain('Re-run failed');
    expect(await rerun.textContent()).toContain('Too small');
  });

  test('rescheduling a waiting timer moves when the step resumes', async () => {
    await api('/use-cases', {
      id: 'payout-hold',
      name: 'Payout hold',
      vertical: 'banking',
      workflow: {
        steps: [
          { id: 'hold', agent: 'wait', config: { seconds: 3600 }, output: 'held' },
          {
            id: 'release',
            agent: 'transform',
            inputs: { held: 'held' },
            output: 'released',
            config: { expression: '{ "released": true }' },
          },
        ],
      },
    });
    const id = await startRun('payout-hold', { payoutId: 'P-1' }, 'waiting');
    const page = await openPage();
    await page.goto(`${origin()}/executions/${id}`);
    await expect.poll(() => stepStatus(page, 'hold'), { timeout: 15_000 }).toBe('waiting');
    const field = page.getByTestId('resume-at-hold');
    expect(await field.inputValue()).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/);
    expect(await page.getByTestId('due-hold').textContent()).toContain('resumes');

    // Two minutes ago, in the browser's zone: the timer is due at once.
    const past = await page.evaluate(() => {
      const d = new Date(Date.now() - 120_000);
      const pad = (n: number) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
    });
    await field.fill(past);
    await page.getByTestId('reschedule-hold').click();
    await expect.poll(() => executionStatus(page), { timeout: 10_000 }).toBe('succeeded');
    expect(await stepStatus(page, 'release')).toBe('succeeded');
  });

  test('a person’s decision deadline shows in the timeline, and moves when rescheduled', async () => {
    await api('/use-cases', {
      id: 'sign-off',
      name: 'Sign-off',
      vertical: 'banking',
      workflow: {
        steps: [
          {
            id: 'approve',
            agent: 'human',
            config: { prompt: 'Sign off?', timeoutSeconds: 7200 },
            output: 'signed',
          },
        ],
      },
    });
    const id = await startRun('sign-off', { payoutId: 'P-2' }, 'waiting');
    const { timeline } = await api<{ timeline: Array<{ deadline: number | null }> }>(
      `/executions/${id}/timeline`,
    );
    const deadline = timeline[0]?.deadline;
    if (typeof deadline !== 'number') throw new Error('the timeline has no deadline');
    const page = await openPage();
    await page.goto(`${origin()}/executions/${id}`);
    await expect.poll(() => stepStatus(page, 'approve'), { timeout: 15_000 }).toBe('waiting');
    const due = page.getByTestId('due-approve');
    expect(await due.textContent()).toContain('decide by');
    expect(await due.getAttribute('title')).toBe(
      await page.evaluate(
        (at) => new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' }).format(at),
        deadline,
      ),
    );

    // A day later: the row now names the date.
    await api(`/executions/${id}/steps/approve/reschedule`, { at: deadline + 86_400_000 });
    await expect
      .poll(() => due.getAttribute('title'), { timeout: 5_000 })
      .toBe(
        await page.evaluate(
          (at) => new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' }).format(at),
          deadline + 86_400_000,
        ),
      );
    await api(`/executions/${id}/control`, { action: 'cancel' });
  });

  test('the list polls every 3 s while visible, not while hidden, and Load more appends the next page', async () => {
    const page = await openPage();
    let listCalls = 0;
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === `${API}/executions`) listCalls += 1;
    });
    await page.clock.install();
    await page.goto(`${origin()}/executions`);
    const total = (await executions('?limit=200')).length;
    await expect.poll(() => rows(page).count(), { timeout: 15_000 }).toBe(Math.min(total, 25));

    await page.clock.fastForward(LIST_POLL_MS);
    await expect.poll(() => listCalls).toBeGreaterThanOrEqual(2);
    await setVisibility(page, 'hidden');
    const whileHidden = listCalls;
    await page.clock.fastForward(5 * LIST_POLL_MS);
    await requestBarrier(page);
    expect(listCalls).toBe(whileHidden);
    await setVisibility(page, 'visible');
    await expect.poll(() => listCalls).toBe(whileHidden + 1);

    // Past one page (25): the rest comes with "Load more", through the server's cursor.
    const target = Math.max(total, 30);
    await Promise.all(
      Array.from({ length: target - total }, (_, i) =>
        api('/executions', { useCaseId: 'claims-triage', input: { claimId: `C-5${i}`, amount: 100 } }),
      ),
    );
    await page.reload();
    await expect.poll(() => rows(page).count(), { timeout: 15_000 }).toBe(25);
    const more = page.getByTestId('load-more');
    await more.click();
    await expect.poll(() => rows(page).count()).toBe(Math.min(target, 50));
    expect(await more.count()).toBe(0);
    const ids = await rows(page).evaluateAll((all) => all.map((row) => (row as HTMLElement).dataset.id));
    expect(ids).toEqual((await executions('?limit=200')).map((e) => e.id));
  });
});

/// <reference types="node" />
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { describe, expect, test } from 'vitest';
import { parseConfigFile } from '../../functions/src/orchestrators/use-cases/files.ts';
import { browserSuite, requestBarrier } from './browser-suite.ts';

const USE_CASES = '/api/useCases/workspaces/demo';
const LIBRARY_SCREENSHOT = '/tmp/use-cases-library.png';
const TEMPLATE_SCREENSHOT = '/tmp/use-cases-template.png';
const WIZARD_SCREENSHOT = '/tmp/use-cases-wizard.png';
const USE_CASE_SCREENSHOT = '/tmp/use-cases-detail.png';
const EDITOR_SCREENSHOT = '/tmp/use-cases-editor.png';
const PUBLISH_SCREENSHOT = '/tmp/use-cases-publish.png';
const PUBLISH_PROBLEMS_SCREENSHOT = '/tmp/use-cases-publish-problems.png';
const DEPRECATE_SCREENSHOT = '/tmp/use-cases-deprecate.png';
const TEMPLATE = 'insurance-claims-triage';

interface TemplateSummary {
  id: string;
  requiredVariables: number;
  variables: number;
}
interface TemplateDetail {
  resolved: {
    chain: { id: string; version: string }[];
    variables: Record<string, unknown>;
    spec: { workflow: { steps: { id: string }[] } };
    origins: Record<string, string>;
  };
}
interface UseCase {
  id: string;
  version: number;
  name: string;
  description: string;
  template?: { id: string; version: string; values: Record<string, unknown> };
  workflow: { steps: { id: string; agent: string; config: Record<string, unknown> }[] };
}

const { origin, openPage } = browserSuite();

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${origin()}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

async function libraryIds(query = ''): Promise<string[]> {
  const answer = await call<{ templates: TemplateSummary[] }>('GET', `${USE_CASES}/templates${query}`);
  return answer.templates.map((t) => t.id);
}

function cardIds(page: Page): Promise<string[]> {
  return page
    .getByTestId('template-card')
    .evaluateAll((cards) => cards.map((card) => (card as HTMLElement).dataset.id ?? ''));
}

function fieldError(page: Page, container: string): Promise<{ text: string; source: string } | null> {
  return page
    .locator(`${container} [data-testid="field-error"]`)
    .evaluate(
      (el) => ({ text: el.textContent?.trim() ?? '', source: (el as HTMLElement).dataset.source ?? '' }),
      undefined,
      { timeout: 500 },
    )
    .catch(() => null);
}

function attribute(page: Page, selector: string, name: string): Promise<string | null> {
  return page
    .locator(selector)
    .first()
    .getAttribute(name, { timeout: 1_000 })
    .catch(() => null);
}

/** A template extending the claims triage, as an author would paste it; `version` as written. */
function templateYaml(id: string, version: string): string {
  return [
    'apiVersion: seraphim.dev/v1', // 1
    'kind: Template', // 2
    'metadata:', // 3
    `  id: ${id}`, // 4
    `  version: ${version}`, // 5
    `  name: Nordic claims`, // 6
    '  vertical: insurance', // 7
    '  tags: [claims, nordic]', // 8
    '  changelog: first release', // 9
    'extends:', // 10
    `  id: ${TEMPLATE}`, // 11
    '  version: 1.0.0', // 12
    'variables:', // 13
    '  autoApproveLimit:', // 14
    '    default: 1200', // 15
    '',
  ].join('\n');
}

/** The same template as the API takes it. */
function templateBody(id: string, version: string, changelog = 'first release') {
  return {
    apiVersion: 'seraphim.dev/v1',
    kind: 'Template',
    metadata: { id, version, name: `Template ${id}`, vertical: 'insurance', tags: ['claims'], changelog },
    extends: { id: TEMPLATE, version: '1.0.0' },
    variables: { autoApproveLimit: { default: 1200 } },
  };
}

/** The problems the publish page lists: pointer and line. */
function sourceProblems(page: Page): Promise<{ pointer: string; line: string; text: string }[]> {
  return page.getByTestId('source-problem').evaluateAll((items) =>
    items.map((item) => ({
      pointer: (item as HTMLElement).dataset.pointer ?? '',
      line: (item as HTMLElement).dataset.line ?? '',
      text: item.textContent?.replace(/\s+/g, ' ').trim() ?? '',
    })),
  );
}

/** The file a click downloads: its suggested name and its text. */
async function downloaded(page: Page, click: () => Promise<void>): Promise<{ name: string; text: string }> {
  const [download] = await Promise.all([page.waitForEvent('download'), click()]);
  const path = await download.path();
  return { name: download.suggestedFilename(), text: await readFile(path, 'utf8') };
}

/** The JSON pointer's nearest recorded origin, as the resolver reports them. */
function expectedOrigin(origins: Record<string, string>, pointer: string): string | undefined {
  for (let at = pointer; ; at = at.slice(0, at.lastIndexOf('/'))) {
    if (origins[at] !== undefined) return origins[at];
    if (at === '') return undefined;
  }
}

describe('Use cases & Templates', () => {
  test('the library searches and filters by vertical and tag, the filters kept in the URL across a reload', async () => {
    const page = await openPage();
    await page.goto(`${origin()}/use-cases/templates`);

    const all = await libraryIds();
    expect(all.length).toBeGreaterThan(1);
    await expect.poll(() => cardIds(page), { timeout: 15_000 }).toEqual(all);

    // Each card says how much work the template is, as the API counts it.
    const { templates } = await call<{ templates: TemplateSummary[] }>('GET', `${USE_CASES}/templates`);
    for (const summary of templates) {
      expect(
        await page
          .locator(`[data-testid="template-card"][data-id="${summary.id}"] [data-testid="to-supply"]`)
          .textContent(),
      ).toBe(`${summary.requiredVariables} of ${summary.variables} fields to supply`);
    }

    await page.getByTestId('template-search').fill('claims');
    await page.waitForURL(/\/use-cases\/templates\?(?=.*ws=demo)(?=.*q=claims)/);
    const claims = await libraryIds('?q=claims');
    expect(claims).toContain(TEMPLATE);
    expect(claims.length).toBeLessThan(all.length);
    await expect.poll(() => cardIds(page)).toEqual(claims);

    await page.getByTestId('filter-vertical').selectOption('insurance');
    await page.waitForURL(/\/use-cases\/templates\?(?=.*q=claims)(?=.*vertical=insurance)/);
    const narrowed = await libraryIds('?q=claims&vertical=insurance');
    await expect.poll(() => cardIds(page)).toEqual(narrowed);

    // Reload-safe: the address holds the filters, and the controls show them.
    await page.reload();
    await expect.poll(() => cardIds(page), { timeout: 15_000 }).toEqual(narrowed);
    expect(await page.getByTestId('template-search').inputValue()).toBe('claims');
    expect(await page.getByTestId('filter-vertical').inputValue()).toBe('insurance');

    await page.getByTestId('clear-filters').click();
    await expect.poll(() => cardIds(page)).toEqual(all);
    expect(await page.getByTestId('template-search').inputValue()).toBe('');

    // The tag filter offers the library's facets, and narrows as the API does.
    const { tags } = await call<{ tags: string[] }>('GET', `${USE_CASES}/templates`);
    expect(await page.getByTestId('filter-tag').locator('option').allTextContents()).toEqual([
      'All tags',
      ...tags,
    ]);
    await page.getByTestId('filter-tag').selectOption('fraud');
    await page.waitForURL(/tag=fraud/);
    await expect.poll(() => cardIds(page)).toEqual(await libraryIds('?tag=fraud'));

    await page.getByTestId('template-search').fill('no such template anywhere');
    await page.getByTestId('no-templates').waitFor();
    await page.screenshot({ path: LIBRARY_SCREENSHOT, fullPage: true });
  });

  test('a template shows its inheritance chain, the origin of every resolved value, variables and graph', async () => {
    const detail = await call<TemplateDetail>('GET', `${USE_CASES}/templates/${TEMPLATE}`);
    const page = await openPage();
    await page.goto(`${origin()}/use-cases/templates/${TEMPLATE}`);

    await page.getByTestId('template-chain').waitFor({ timeout: 15_000 });
    const chain = await page
      .getByTestId('chain-item')
      .evaluateAll((items) => items.map((item) => (item as HTMLElement).dataset.id));
    expect(chain).toEqual(detail.resolved.chain.map((ref) => ref.id));
    expect(chain).toEqual(['seraphim-base', 'insurance', TEMPLATE]);

    // Every row of the resolved configuration names the template that set it.
    const rows = await page.getByTestId('config-row').evaluateAll((all) =>
      all.map((row) => ({
        pointer: (row as HTMLElement).dataset.pointer ?? '',
        origin: (row as HTMLElement).dataset.origin,
      })),
    );
    expect(rows.length).toBeGreaterThan(20);
    for (const row of rows)
      expect(row.origin, row.pointer).toBe(expectedOrigin(detail.resolved.origins, row.pointer));
    // Values come from every layer: the base's retention, the vertical's vars, the template's own steps.
    const origins = new Set(rows.map((row) => row.origin));
    for (const ref of detail.resolved.chain) expect(origins).toContain(`${ref.id}@${ref.version}`);
    const badge = page.locator(
      '[data-testid="config-row"][data-pointer="/spec/workflow/vars/currency"] [data-testid="origin-badge"]',
    );
    expect(await badge.getAttribute('data-origin')).toBe('insurance@1.0.0');

    // Filtering by origin leaves only what that template set.
    await page.getByTestId('origin-filter').selectOption('seraphim-base@1.0.0');
    await expect
      .poll(
        async () =>
          new Set(
            await page
              .getByTestId('config-row')
              .evaluateAll((all) => all.map((row) => (row as HTMLElement).dataset.origin)),
          ),
      )
      .toEqual(new Set(['seraphim-base@1.0.0']));

    const variables = await page
      .getByTestId('variable-row')
      .evaluateAll((all) => all.map((row) => (row as HTMLElement).dataset.name));
    expect(variables).toEqual(Object.keys(detail.resolved.variables));

    // The workflow as a graph: a node per step, the branch marked, the join below its inputs.
    const nodes = page.getByTestId('workflow-graph').getByTestId('graph-node');
    expect(await nodes.evaluateAll((all) => all.map((n) => (n as HTMLElement).dataset.step))).toEqual(
      detail.resolved.spec.workflow.steps.map((step) => step.id),
    );
    const layer = async (step: string) =>
      Number(await attribute(page, `[data-testid="graph-node"][data-step="${step}"]`, 'data-layer'));
    expect(await layer('route')).toBeGreaterThan(await layer('score'));
    expect(await layer('autoApprove')).toBe(await layer('summarise'));
    expect(await layer('settle')).toBeGreaterThan(await layer('adjusterReview'));
    expect(await page.locator('path.edge.branch').count()).toBe(3);

    expect(await page.getByTestId('sample').count()).toBeGreaterThan(0);
    expect(await page.getByTestId('version-row').count()).toBeGreaterThan(0);
    await page.screenshot({ path: TEMPLATE_SCREENSHOT, fullPage: true });
  });

  test('from the library to a first succeeded run: the wizard and the run form show the server’s problems at their fields', async () => {
    const page = await openPage();
    const started = performance.now();
    await page.goto(`${origin()}/use-cases/templates`);

    // Find the template and open it.
    await page.getByTestId('template-search').fill('claims triage');
    await page
      .locator(`[data-testid="template-card"][data-id="${TEMPLATE}"]`)
      .getByRole('link', { name: 'Claims triage' })
      .click();
    await page.waitForURL(`${origin()}/use-cases/templates/${TEMPLATE}?ws=demo`);
    await page.getByTestId('use-template').click();
    await page.waitForURL(`${origin()}/use-cases/templates/${TEMPLATE}/new?ws=demo`);

    // The form is the template's variables, defaults filled in.
    const form = page.getByTestId('wizard-form');
    await form.waitFor({ timeout: 15_000 });
    const limitField = '[data-testid="variable-field"][data-name="autoApproveLimit"]';
    const limit = page.locator(`${limitField} input`);
    expect(await limit.inputValue()).toBe('2500');
    expect([await limit.getAttribute('type'), await limit.getAttribute('min')]).toEqual(['number', '0']);
    expect(
      await page.locator('[data-testid="variable-field"][data-name="reviewTeam"] select').inputValue(),
    ).toBe('claims-adjuster');
    expect(
      await page
        .locator('[data-testid="variable-field"][data-name="adjusterSummary"] input')
        .getAttribute('type'),
    ).toBe('checkbox');

    // The id follows the name until it is typed.
    await page.getByTestId('field-name').fill('Claims triage EU');
    expect(await page.getByTestId('field-id').inputValue()).toBe('claims-triage-eu');

    // A bad value: the dry run's problem shows beside that field, and creating waits for a fix.
    await limit.fill('-5');
    await expect
      .poll(() => fieldError(page, limitField), { timeout: 10_000 })
      .toEqual({ text: expect.stringContaining('autoApproveLimit must be at least 0'), source: 'server' });
    await expect.poll(() => attribute(page, limitField, 'data-invalid'), { timeout: 10_000 }).toBe('true');
    expect(await page.getByTestId('create-use-case').isDisabled()).toBe(true);
    await page.screenshot({ path: WIZARD_SCREENSHOT, fullPage: true });

    await limit.fill('1000');
    await expect
      .poll(() => attribute(page, '[data-testid="dry-run-status"]', 'data-state'), { timeout: 10_000 })
      .toBe('ok');
    expect(await fieldError(page, limitField)).toBeNull();
    await page.getByTestId('create-use-case').click();

    // Created: its page, made from the template with the value given.
    await page.waitForURL(`${origin()}/use-cases/claims-triage-eu?ws=demo`);
    await expect.poll(() => page.getByTestId('use-case-name').textContent()).toBe('Claims triage EU');
    expect(await page.getByTestId('template-origin').textContent()).toContain(`${TEMPLATE}@1.0.0`);
    const created = await call<UseCase>('GET', `${USE_CASES}/use-cases/claims-triage-eu`);
    expect(created.template?.values.autoApproveLimit).toBe(1000);

    // Start a run: the form is the input schema's fields; fill it with a sample, then break a date.
    const runForm = page.getByTestId('run-form');
    await runForm.waitFor();
    await page.getByTestId('fill-sample').click();
    expect(
      await page.locator('[data-testid="input-field"][data-name="claimId"] input').inputValue(),
    ).not.toBe('');
    const dateField = '[data-testid="input-field"][data-name="incidentDate"]';
    await page.locator(`${dateField} input`).fill('the eleventh');
    await page.getByTestId('start-run').click();
    await expect
      .poll(() => fieldError(page, dateField), { timeout: 10_000 })
      .toEqual({ text: expect.stringMatching(/date/i), source: 'server' });
    expect(page.url()).toBe(`${origin()}/use-cases/claims-triage-eu?ws=demo`);

    // Fixed, it starts, and the execution page follows it to the end.
    await page.locator(`${dateField} input`).fill('2026-02-11');
    expect(await fieldError(page, dateField)).toBeNull();
    await page.getByTestId('start-run').click();
    await page.waitForURL(/\/executions\/[0-9A-Z]{26}\?ws=demo$/);
    await expect
      .poll(() => attribute(page, '[data-testid="execution-status"]', 'data-status'), {
        timeout: 20_000,
        interval: 100,
      })
      .toBe('succeeded');
    const elapsed = Math.round(performance.now() - started);
    console.log(`wizard: library → first succeeded execution in ${elapsed} ms`);

    // Back on the use case, the run is among its recent executions.
    const executionId = page.url().match(/\/executions\/([0-9A-Z]{26})/)?.[1];
    await page.goto(`${origin()}/use-cases/claims-triage-eu`);
    await expect
      .poll(
        () => attribute(page, `[data-testid="recent-execution"][data-id="${executionId}"]`, 'data-status'),
        {
          timeout: 15_000,
        },
      )
      .toBe('succeeded');
    await page.screenshot({ path: USE_CASE_SCREENSHOT, fullPage: true });
  });

  test('a template’s versions: the diff between two, deprecation on the card, the version and the use case pinning it', async () => {
    const version = (v: string, changelog: string, limit: number, id = 'eu-claims') => ({
      apiVersion: 'seraphim.dev/v1',
      kind: 'Template',
      metadata: {
        id,
        version: v,
        name: `EU claims ${v}`,
        vertical: 'insurance',
        tags: ['claims', 'eu'],
        changelog,
      },
      extends: { id: TEMPLATE, version: '1.0.0' },
      variables: { autoApproveLimit: { default: limit } },
    });
    await call('POST', `${USE_CASES}/templates`, version('1.0.0', 'first release', 1500));
    await call('POST', `${USE_CASES}/templates`, version('1.1.0', 'a higher payout limit', 2000));
    await call('POST', `${USE_CASES}/templates/eu-claims/use-cases`, {
      id: 'eu-claims-old',
      version: '1.0.0',
      values: {},
    });
    await call('POST', `${USE_CASES}/templates/eu-claims/versions/1.0.0/deprecation`, {
      message: 'use 1.1.0',
    });
    await call('POST', `${USE_CASES}/templates`, version('1.0.0', 'retired', 100, 'old-claims'));
    await call('POST', `${USE_CASES}/templates/old-claims/versions/1.0.0/deprecation`, {
      message: 'retired',
    });

    const page = await openPage();
    await page.goto(`${origin()}/use-cases/templates?q=eu`);
    await expect
      .poll(() => cardIds(page), { timeout: 15_000 })
      .toEqual(expect.arrayContaining(['eu-claims', 'old-claims']));
    await expect
      .poll(() => attribute(page, '[data-testid="template-card"][data-id="old-claims"]', 'data-deprecated'), {
        timeout: 10_000,
      })
      .toBe('true');
    expect(
      await page
        .locator('[data-testid="template-card"][data-id="old-claims"] [data-testid="deprecated-badge"]')
        .count(),
    ).toBe(1);
    // The current version of eu-claims is 1.1.0, which is not deprecated.
    await expect
      .poll(() => attribute(page, '[data-testid="template-card"][data-id="eu-claims"]', 'data-deprecated'), {
        timeout: 10_000,
      })
      .toBe('false');

    await page.locator('[data-testid="template-card"][data-id="eu-claims"] h2 a').click();
    await page.waitForURL(`${origin()}/use-cases/templates/eu-claims?ws=demo`);
    await expect
      .poll(() =>
        page
          .getByTestId('version-row')
          .evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.version)),
      )
      .toEqual(['1.1.0', '1.0.0']);
    expect(await page.locator('[data-testid="version-row"][data-version="1.0.0"]').textContent()).toContain(
      'use 1.1.0',
    );
    // Its chain is four long: the base, the vertical, the built-in template it extends, itself.
    expect(await page.getByTestId('chain-item').count()).toBe(4);
    await expect
      .poll(
        () =>
          attribute(page, '[data-testid="config-row"][data-pointer="/spec/workflow/steps"]', 'data-origin'),
        { timeout: 10_000 },
      )
      .toBe(`${TEMPLATE}@1.0.0`);

    // The diff: 1.0.0 → 1.1.0 by default, as written and as resolved.
    expect(await page.getByTestId('diff-from').inputValue()).toBe('1.0.0');
    expect(await page.getByTestId('diff-to').inputValue()).toBe('1.1.0');
    await page.getByTestId('diff-compare').click();
    const change = (list: string, pointer: string) =>
      attribute(page, `[data-testid="${list}"] [data-testid="change"][data-pointer="${pointer}"]`, 'data-op');
    await expect.poll(() => change('diff-structural', '/variables/autoApproveLimit/default')).toBe('change');
    await expect
      .poll(() => change('diff-structural', '/metadata/version'), { timeout: 10_000 })
      .toBe('change');
    await expect
      .poll(() => change('diff-resolved', '/variables/autoApproveLimit/default'), { timeout: 10_000 })
      .toBe('change');

    // The deprecated version says so on its own page, and on the use case that pins it.
    await page.locator('[data-testid="version-row"][data-version="1.0.0"] a').click();
    await page.getByTestId('deprecation-notice').waitFor();
    expect(await page.getByTestId('deprecation-notice').textContent()).toContain('use 1.1.0');
    await page.goto(`${origin()}/use-cases/eu-claims-old`);
    await page.getByTestId('template-deprecated').waitFor({ timeout: 15_000 });
    const notice = await page.getByTestId('template-deprecated').textContent();
    expect(notice).toContain('eu-claims@1.0.0 is deprecated');
    expect(notice).toContain('use 1.1.0');
    expect(notice).toContain('1.1.0 is current');
  });

  test('the use case list links to each use case; archiving hides one until asked for', async () => {
    const page = await openPage();
    await page.goto(`${origin()}/use-cases`);
    const rows = page.getByTestId('use-case-row');
    const listed = await call<{ useCases: UseCase[] }>('GET', `${USE_CASES}/use-cases`);
    await expect
      .poll(() => rows.evaluateAll((all) => all.map((row) => (row as HTMLElement).dataset.id)), {
        timeout: 15_000,
      })
      .toEqual(listed.useCases.map((u) => u.id));
    expect(await page.getByTestId('new-from-template').getAttribute('href')).toBe(
      '/use-cases/templates?ws=demo',
    );

    await page.locator('[data-testid="use-case-row"][data-id="claims-triage"] a').first().click();
    await page.waitForURL(`${origin()}/use-cases/claims-triage?ws=demo`);
    await page.getByTestId('archive-toggle').click();
    await page.getByTestId('archived-tag').waitFor();
    expect(await page.getByTestId('run-form').count()).toBe(0);

    await page.goto(`${origin()}/use-cases`);
    await expect
      .poll(() => rows.evaluateAll((all) => all.map((row) => (row as HTMLElement).dataset.id)), {
        timeout: 15_000,
      })
      .not.toContain('claims-triage');
    await page.getByTestId('show-archived').check();
    await page.waitForURL(/archived=include/);
    await expect
      .poll(() => attribute(page, '[data-testid="use-case-row"][data-id="claims-triage"]', 'data-archived'))
      .toBe('true');

    // Restored, it runs again.
    await page.locator('[data-testid="use-case-row"][data-id="claims-triage"] a').first().click();
    await page.getByTestId('archive-toggle').click();
    await page.getByTestId('run-form').waitFor();
    expect(await page.getByTestId('archived-tag').count()).toBe(0);
  });

  test('a workspace with no use case leads to the library', async () => {
    await call('POST', '/api/workspaces', { id: 'empty-uc', name: 'Nothing yet' });
    const page = await openPage();
    await page.goto(`${origin()}/use-cases?ws=empty-uc`);
    const empty = page.getByTestId('empty-use-cases');
    await empty.waitFor({ timeout: 15_000 });
    await empty.getByRole('link', { name: 'Browse the template library' }).click();
    await page.waitForURL(`${origin()}/use-cases/templates?ws=empty-uc`);
    await expect.poll(() => cardIds(page), { timeout: 15_000 }).toContain(TEMPLATE);
  });

  test('the editor marks the step a problem points into, saves a new version, and says so on a conflict', async () => {
    const before = await call<UseCase>('GET', `${USE_CASES}/use-cases/${TEMPLATE}`);
    const page = await openPage();
    await page.goto(`${origin()}/use-cases/${TEMPLATE}/edit`);
    const editor = page.getByTestId('edit-json');
    await editor.waitFor({ timeout: 15_000 });
    const text = await editor.inputValue();
    const edited = JSON.parse(text) as Omit<UseCase, 'id' | 'version'>;
    expect(edited).not.toHaveProperty('version');

    // A broken expression in the last step: Validate marks that node and lists the field.
    const settle = edited.workflow.steps.findIndex((step) => step.id === 'settle');
    const broken = structuredClone(edited);
    (broken.workflow.steps[settle] as UseCase['workflow']['steps'][number]).config = {
      expression: '( $net := ',
    };
    await editor.fill(JSON.stringify(broken, null, 2));
    await page.getByTestId('edit-validate').click();
    const settleNode = '[data-testid="edit-graph"] [data-testid="graph-node"][data-step="settle"]';
    await expect.poll(() => attribute(page, settleNode, 'data-invalid'), { timeout: 10_000 }).toBe('true');
    const problem = page.locator('[data-testid="step-problem"][data-step="settle"]');
    expect(await problem.textContent()).toContain('/config/expression');
    expect(
      await attribute(
        page,
        '[data-testid="edit-graph"] [data-testid="graph-node"][data-step="score"]',
        'data-invalid',
      ),
    ).toBeNull();
    // Choosing the node shows the step as it is written, and what its agent's config must be.
    await page.locator(settleNode).click();
    expect(await page.getByTestId('selected-step').textContent()).toContain('( $net := ');
    expect(await page.getByTestId('agent-help').textContent()).toContain('Agent transform');
    await page.screenshot({ path: EDITOR_SCREENSHOT, fullPage: true });

    // The live preview follows the text: a step removed is a node gone.
    const fewer = structuredClone(edited);
    fewer.workflow.steps = fewer.workflow.steps.filter((step) => step.id !== 'summarise');
    await editor.fill(JSON.stringify(fewer, null, 2));
    await expect
      .poll(() => page.getByTestId('edit-graph').getByTestId('graph-node').count())
      .toBe(edited.workflow.steps.length - 1);

    // A good edit saves the next version, with its note.
    await editor.fill(
      JSON.stringify({ ...edited, description: 'Triage, edited in Mission Control.' }, null, 2),
    );
    await page.getByTestId('edit-validate').click();
    await expect
      .poll(() => attribute(page, '[data-testid="edit-outcome"]', 'data-kind'), { timeout: 10_000 })
      .toBe('valid');
    await page.getByTestId('edit-note').fill('clearer description');
    await page.getByTestId('edit-save').click();
    await expect
      .poll(() => attribute(page, '[data-testid="edit-outcome"]', 'data-kind'), { timeout: 10_000 })
      .toBe('saved');
    const saved = await call<UseCase & { note: string }>('GET', `${USE_CASES}/use-cases/${TEMPLATE}`);
    expect(saved.version).toBe(before.version + 1);
    expect(saved.note).toBe('clearer description');
    expect(saved.description).toBe('Triage, edited in Mission Control.');

    // Someone else saves meanwhile: saving over their version is refused, and the page says why.
    const { id: _id, version: _v, ...rest } = saved as unknown as Record<string, unknown>;
    for (const key of ['workspace', 'createdAt', 'updatedAt', 'archived', 'note', 'templateDeprecation'])
      delete rest[key];
    await call('PUT', `${USE_CASES}/use-cases/${TEMPLATE}`, {
      ...rest,
      description: 'theirs',
      ifVersion: saved.version,
    });
    await editor.fill(JSON.stringify({ ...edited, description: 'mine' }, null, 2));
    await page.getByTestId('edit-save').click();
    await page.getByTestId('edit-conflict').waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('edit-conflict').textContent()).toContain(
      `Version ${saved.version} is no longer the latest`,
    );
  });
  test('publishing a template from pasted YAML: a mistake shows at its pointer and line, fixed it publishes and joins the library', async () => {
    const page = await openPage();
    await page.goto(`${origin()}/use-cases/templates`);
    await page.getByTestId('publish-link').click();
    await page.waitForURL(`${origin()}/use-cases/templates/publish?ws=demo`);
    const source = page.getByTestId('template-source');
    const status = () => attribute(page, '[data-testid="publish-status"]', 'data-state');
    await expect.poll(status, { timeout: 15_000 }).toBe('idle');

    // `version: 1.0` is a number in YAML: the server's schema refuses it, and the page says where.
    await source.fill(templateYaml('nordic-claims', '1.0'));
    await expect.poll(status, { timeout: 10_000 }).toBe('invalid');
    expect(await sourceProblems(page)).toContainEqual({
      pointer: '/metadata/version',
      line: '5',
      text: expect.stringContaining('line 5, /metadata/version: Invalid input: expected string'),
    });
    expect(await page.getByTestId('publish-template').isDisabled()).toBe(true);
    // The line is one click away: the source selects it.
    await page
      .locator(
        '[data-testid="source-problem"][data-pointer="/metadata/version"] [data-testid="problem-line"]',
      )
      .click();
    expect(
      await source.evaluate((el) => {
        const area = el as HTMLTextAreaElement;
        return area.value.slice(area.selectionStart, area.selectionEnd);
      }),
    ).toBe('  version: 1.0');
    await page.screenshot({ path: PUBLISH_PROBLEMS_SCREENSHOT, fullPage: true });

    // Fixed: the dry run answers the template resolved through its chain.
    await source.fill(templateYaml('nordic-claims', '1.0.0'));
    await expect.poll(status, { timeout: 10_000 }).toBe('valid');
    await expect
      .poll(() => attribute(page, '[data-testid="publish-summary"]', 'data-id'), { timeout: 10_000 })
      .toBe('nordic-claims');
    await expect
      .poll(() => attribute(page, '[data-testid="publish-summary"]', 'data-version'), { timeout: 10_000 })
      .toBe('1.0.0');
    expect(
      await page
        .getByTestId('summary-chain-item')
        .evaluateAll((items) => items.map((item) => (item as HTMLElement).dataset.id)),
    ).toEqual(['seraphim-base', 'insurance', TEMPLATE, 'nordic-claims']);
    expect(
      await page.locator('[data-testid="summary-variable"][data-name="autoApproveLimit"]').textContent(),
    ).toContain('1200');
    expect(await libraryIds()).not.toContain('nordic-claims');
    await page.screenshot({ path: PUBLISH_SCREENSHOT, fullPage: true });

    await page.getByTestId('publish-template').click();
    await page.waitForURL(`${origin()}/use-cases/templates/nordic-claims?ws=demo`);
    await expect
      .poll(() => page.getByTestId('template-name').textContent(), { timeout: 15_000 })
      .toBe('Nordic claims');
    expect(await libraryIds()).toContain('nordic-claims');

    await page.goto(`${origin()}/use-cases/templates`);
    await expect.poll(() => cardIds(page), { timeout: 15_000 }).toContain('nordic-claims');

    // The same version again, or a built-in template's id: refused whole (409), and the page says why.
    await page.goto(`${origin()}/use-cases/templates/publish`);
    await expect.poll(status, { timeout: 15_000 }).toBe('idle');
    await source.fill(templateYaml('nordic-claims', '1.0.0'));
    await expect.poll(status, { timeout: 10_000 }).toBe('conflict');
    expect(await page.getByTestId('publish-conflict').textContent()).toContain('already published');
    expect(await page.getByTestId('publish-template').isDisabled()).toBe(true);
    await source.fill(templateYaml(TEMPLATE, '9.0.0'));
    await expect
      .poll(() => page.getByTestId('publish-conflict').textContent(), { timeout: 10_000 })
      .toContain("built-in template's");
  });

  test('"Start from …" and "Make a variant" prefill a template extending a library one, ready to publish', async () => {
    const detail = await call<{ template: { metadata: { version: string } } }>(
      'GET',
      `${USE_CASES}/templates/${TEMPLATE}`,
    );
    const current = detail.template.metadata.version;
    const page = await openPage();
    await page.goto(`${origin()}/use-cases/templates/publish`);
    const source = page.getByTestId('template-source');
    const status = () => attribute(page, '[data-testid="publish-status"]', 'data-state');
    await expect
      .poll(() => page.getByTestId('start-from').locator(`option[value="${TEMPLATE}"]`).count(), {
        timeout: 15_000,
      })
      .toBe(1);
    // Something written first: starting replaces it, and Undo brings it back.
    await source.fill('# my notes\n');
    await page.getByTestId('start-from').selectOption(TEMPLATE);
    await expect
      .poll(() => source.inputValue(), { timeout: 10_000 })
      .toContain(`extends:\n  id: ${TEMPLATE}\n  version: ${current}\n`);
    const text = await source.inputValue();
    expect(text).toContain('  id: my-insurance-claims-triage');
    expect(text).toContain('#   autoApproveLimit: { default: 2500 }');
    await expect.poll(status, { timeout: 10_000 }).toBe('valid');
    expect(
      await page
        .getByTestId('summary-chain-item')
        .evaluateAll((items) => items.map((item) => (item as HTMLElement).dataset.id)),
    ).toEqual(['seraphim-base', 'insurance', TEMPLATE, 'my-insurance-claims-triage']);
    await page.getByTestId('undo-start').click();
    expect(await source.inputValue()).toBe('# my notes\n');

    // From a template's page, "Make a variant" lands here with the editor filled.
    await page.goto(`${origin()}/use-cases/templates/${TEMPLATE}`);
    await page.getByTestId('make-variant').click();
    await page.waitForURL(`${origin()}/use-cases/templates/publish?from=${TEMPLATE}&ws=demo`);
    await expect
      .poll(() => source.inputValue(), { timeout: 15_000 })
      .toContain(`  id: ${TEMPLATE}\n  version: ${current}`);
    await expect.poll(status, { timeout: 10_000 }).toBe('valid');
  });

  test('a YAML alias bomb pasted is refused in the browser at once, and the tab stays responsive', async () => {
    const page = await openPage();
    let publishes = 0;
    page.on('request', (request) => {
      if (request.method() === 'POST' && new URL(request.url()).pathname === `${USE_CASES}/templates`)
        publishes++;
    });
    await page.goto(`${origin()}/use-cases/templates/publish`);
    const status = () => attribute(page, '[data-testid="publish-status"]', 'data-state');
    await expect.poll(status, { timeout: 15_000 }).toBe('idle');

    // Nine levels of nine aliases each: 9^9 (387 million) strings once expanded.
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++) {
      const name = String.fromCharCode(97 + i);
      levels.push(
        `${name}: &${name} [${Array(9)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(',')}]`,
      );
    }
    await page.getByTestId('template-source').fill(levels.join('\n'));
    await expect.poll(status, { timeout: 10_000 }).toBe('invalid');
    expect(await sourceProblems(page)).toEqual([
      { pointer: '', line: '', text: expect.stringContaining('Excessive alias count') },
    ]);
    expect(await page.evaluate(() => 6 * 7)).toBe(42);
    expect(await page.getByTestId('publish-template').isDisabled()).toBe(true);
    // Refused before any request: nothing was sent to the server, not even a dry run.
    await requestBarrier(page);
    expect(publishes).toBe(0);
  });

  test('deprecating a version on the template page: the versions follow, and a use case pinning it shows the notice', async () => {
    await call('POST', `${USE_CASES}/templates`, templateBody('retiring-claims', '1.0.0'));
    await call('POST', `${USE_CASES}/templates`, templateBody('retiring-claims', '1.1.0', 'better'));
    await call('POST', `${USE_CASES}/templates/retiring-claims/use-cases`, {
      id: 'retiring-claims-old',
      version: '1.0.0',
      values: {},
    });

    // A built-in template's versions come with a release: no button.
    const page = await openPage();
    await page.goto(`${origin()}/use-cases/templates/${TEMPLATE}`);
    await page.getByTestId('version-row').first().waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('deprecate-version').count()).toBe(0);

    await page.goto(`${origin()}/use-cases/templates/retiring-claims`);
    const row = '[data-testid="version-row"][data-version="1.0.0"]';
    await page.locator(`${row} [data-testid="deprecate-version"]`).click({ timeout: 15_000 });
    const form = page.locator('[data-testid="deprecate-form"][data-version="1.0.0"]');
    expect(await form.getByTestId('confirm-deprecation').isDisabled()).toBe(true);
    await form.getByTestId('deprecation-message').fill('a scoring bug: upgrade to 1.1.0');
    await page.getByTestId('versions-table').screenshot({ path: DEPRECATE_SCREENSHOT });
    await form.getByTestId('confirm-deprecation').click();
    await expect
      .poll(() => page.locator(`${row} [data-testid="version-deprecation"]`).textContent(), {
        timeout: 10_000,
      })
      .toContain('a scoring bug: upgrade to 1.1.0');
    expect(await form.count()).toBe(0);
    expect(await page.locator(`${row} [data-testid="lift-deprecation"]`).count()).toBe(1);
    expect(
      await page
        .locator('[data-testid="version-row"][data-version="1.1.0"] [data-testid="deprecate-version"]')
        .count(),
    ).toBe(1);

    await page.goto(`${origin()}/use-cases/retiring-claims-old`);
    await page.getByTestId('template-deprecated').waitFor({ timeout: 15_000 });
    const notice = await page.getByTestId('template-deprecated').textContent();
    expect(notice).toContain('retiring-claims@1.0.0 is deprecated');
    expect(notice).toContain('a scoring bug: upgrade to 1.1.0');

    // Lifted, the version is plain again, and so is the use case.
    await page.goto(`${origin()}/use-cases/templates/retiring-claims`);
    await page.locator(`${row} [data-testid="lift-deprecation"]`).click({ timeout: 15_000 });
    await expect
      .poll(() => page.locator(`${row} [data-testid="deprecate-version"]`).count(), { timeout: 10_000 })
      .toBe(1);
    expect(await page.locator(`${row} [data-testid="version-deprecation"]`).textContent()).not.toContain(
      'scoring',
    );
    const useCase = await call<{ templateDeprecation: unknown }>(
      'GET',
      `${USE_CASES}/use-cases/retiring-claims-old`,
    );
    expect(useCase.templateDeprecation).toBeNull();
  });

  test('"Export YAML" downloads a use case and a template as files the server reads back', async () => {
    await call('POST', `${USE_CASES}/templates/${TEMPLATE}/use-cases`, {
      id: 'exported-claims',
      name: 'Exported claims',
      values: { autoApproveLimit: 900 },
    });
    const stored = await call<Record<string, unknown> & UseCase>(
      'GET',
      `${USE_CASES}/use-cases/exported-claims`,
    );
    const page = await openPage();
    await page.goto(`${origin()}/use-cases/exported-claims`);
    await expect
      .poll(() => page.getByTestId('use-case-name').textContent(), { timeout: 15_000 })
      .toBe('Exported claims');

    const useCaseFile = await downloaded(page, () => page.getByTestId('export-use-case').click());
    expect(useCaseFile.name).toBe('exported-claims.yaml');
    const [document] = parseConfigFile(useCaseFile.name, useCaseFile.text);
    if (document?.kind !== 'UseCase') throw new Error(`expected a use case, got ${document?.kind}`);
    expect(document.useCase.metadata).toEqual({
      id: 'exported-claims',
      name: 'Exported claims',
      description: stored.description,
    });
    expect(document.useCase.template).toEqual(stored.template);
    expect(document.useCase.template?.values.autoApproveLimit).toBe(900);
    const {
      id: _i,
      name: _n,
      description: _d,
      template: _t,
      workspace: _w,
      version: _v,
      createdAt: _c,
      updatedAt: _u,
      archived: _a,
      note: _o,
      templateDeprecation: _p,
      ...spec
    } = stored;
    expect(document.useCase.spec).toEqual(spec);

    const detail = await call<{ template: { metadata: { version: string } } }>(
      'GET',
      `${USE_CASES}/templates/${TEMPLATE}`,
    );
    await page.goto(`${origin()}/use-cases/templates/${TEMPLATE}`);
    await page.getByTestId('template-chain').waitFor({ timeout: 15_000 });
    const templateFile = await downloaded(page, () => page.getByTestId('export-template').click());
    expect(templateFile.name).toBe(`${TEMPLATE}-${detail.template.metadata.version}.yaml`);
    expect(parseConfigFile(templateFile.name, templateFile.text)).toEqual([
      { kind: 'Template', template: detail.template },
    ]);
  });
});

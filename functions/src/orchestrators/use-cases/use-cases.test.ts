/**
 * The useCases orchestrator end to end on the embedded runtime: real SQLite,
 * real HTTP. Use cases and their versions, archive, and the template library:
 * publish, resolve, diff, deprecate, instantiate and upgrade, with the bad
 * input issue 10 lists.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, type TestRuntime } from '../../test-support/embedded.js';
import { builtinAgents, createAgentRegistry } from '../executions/agents/registry.js';
import { ExecutionEngine } from '../executions/engine.js';
import { createExecutionsOrchestrator } from '../executions/index.js';
import system from '../system/index.js';
import { createUseCasesOrchestrator } from './index.js';
import { MAX_TEMPLATE_BYTES } from './templates/model.js';

const engine = new ExecutionEngine(createAgentRegistry(builtinAgents));
const WS = 'uc-tests';

interface Problem {
  status: number;
  code: string;
  detail: string;
  errors?: { path: string; message: string }[];
}

describe('use cases and templates over HTTP', () => {
  let t: TestRuntime;
  beforeAll(async () => {
    t = await startTestRuntime([
      system,
      createUseCasesOrchestrator(engine.agents),
      createExecutionsOrchestrator(engine),
    ]);
  });
  afterAll(() => t?.dispose());

  async function call<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> {
    const res = await fetch(`${t.url}/api/${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as T };
  }
  const uc = (path = '') => `useCases/workspaces/${WS}/use-cases${path}`;
  const tpl = (path = '') => `useCases/workspaces/${WS}/templates${path}`;

  const useCase = (id: string, expression = 'x + 1') => ({
    id,
    name: id,
    vertical: 'test',
    workflow: {
      inputSchema: { type: 'object', properties: { x: { type: 'number' } }, required: ['x'] },
      steps: [
        { id: 'add', agent: 'transform', inputs: { x: 'input.x' }, output: 'y', config: { expression } },
      ],
    },
  });

  function template(id: string, version: string, extra: Record<string, unknown> = {}) {
    return {
      apiVersion: 'seraphim.dev/v1',
      kind: 'Template',
      metadata: {
        id,
        version,
        name: `Template ${id}`,
        vertical: 'testing',
        tags: ['math'],
        changelog: `v${version}`,
      },
      variables: { step: { type: 'number', default: 1, description: 'what to add' } },
      spec: {
        workflow: {
          steps: [
            {
              id: 'add',
              agent: 'transform',
              inputs: { x: 'input.x' },
              output: 'y',
              config: { expression: 'x + ${step}' },
            },
          ],
        },
      },
      samples: [{ name: 'one', input: { x: 1 } }],
      ...extra,
    };
  }

  describe('use cases', () => {
    it('saves every edit as a new version, and keeps the old ones readable', async () => {
      expect((await call('POST', uc(), useCase('adder'))).status).toBe(201);
      const { id: _, ...edit } = useCase('adder', 'x + 2');
      const v2 = await call<{ version: number; note: string }>('PUT', uc('/adder'), {
        ...edit,
        note: 'adds two',
        ifVersion: 1,
      });
      expect(v2.status).toBe(200);
      expect(v2.body).toMatchObject({ version: 2, note: 'adds two' });
      const v1 = await call<{ workflow: { steps: { config: unknown }[] } }>('GET', uc('/adder?version=1'));
      expect(v1.body.workflow.steps[0]?.config).toEqual({ expression: 'x + 1' });
      const versions = await call<{ versions: { version: number }[] }>('GET', uc('/adder/versions'));
      expect(versions.body.versions.map((v) => v.version)).toEqual([2, 1]);
    });

    it('refuses an edit over a version the editor did not see (409), and an edit of a use case that does not exist (404)', async () => {
      const { id: _, ...edit } = useCase('adder');
      expect((await call<Problem>('PUT', uc('/adder'), { ...edit, ifVersion: 1 })).status).toBe(409);
      expect((await call<Problem>('PUT', uc('/nobody'), edit)).status).toBe(404);
    });

    it('validates without saving on a dry run', async () => {
      const dry = await call<{ version: number }>('POST', `${uc()}?dryRun=true`, useCase('dry'));
      expect(dry.status).toBe(201);
      expect(dry.body.version).toBe(1);
      expect((await call('GET', uc('/dry'))).status).toBe(404);
      const bad = await call<Problem>('POST', `${uc()}?dryRun=true`, useCase('dry', 'x +'));
      expect(bad.status).toBe(400);
    });

    it('archives: hidden from the list, no new run, versions and old runs kept; then restored', async () => {
      await call('POST', uc(), useCase('old'));
      const started = await call<{ id: string }>('POST', `executions/workspaces/${WS}/executions`, {
        useCaseId: 'old',
        input: { x: 1 },
      });
      expect(started.status).toBe(202);
      expect(
        (await call<{ archived: boolean }>('POST', uc('/old/archive'), { archived: true })).body.archived,
      ).toBe(true);
      const list = await call<{ useCases: { id: string }[] }>('GET', uc());
      expect(list.body.useCases.map((u) => u.id)).not.toContain('old');
      const all = await call<{ useCases: { id: string }[] }>('GET', `${uc()}?archived=include`);
      expect(all.body.useCases.map((u) => u.id)).toContain('old');
      const refused = await call<Problem>('POST', `executions/workspaces/${WS}/executions`, {
        useCaseId: 'old',
        input: { x: 1 },
      });
      expect(refused.status).toBe(409);
      expect(refused.body.detail).toContain('archived');
      expect((await call('GET', `executions/workspaces/${WS}/executions/${started.body.id}`)).status).toBe(
        200,
      );
      const { id: _, ...edit } = useCase('old');
      expect((await call<Problem>('PUT', uc('/old'), edit)).status).toBe(409);
      await call('POST', uc('/old/archive'), { archived: false });
      expect(
        (await call('POST', `executions/workspaces/${WS}/executions`, { useCaseId: 'old', input: { x: 1 } }))
          .status,
      ).toBe(202);
    });
  });

  describe('the template library', () => {
    it('lists the built-in templates, with facets, and filters by vertical, tag and words', async () => {
      const all = await call<{
        templates: { id: string; vertical: string; source: string; abstract: boolean }[];
        verticals: string[];
      }>('GET', tpl());
      expect(all.status).toBe(200);
      expect(all.body.templates.length).toBeGreaterThanOrEqual(5);
      expect(all.body.templates.every((x) => x.source === 'builtin' && !x.abstract)).toBe(true);
      expect(new Set(all.body.templates.map((x) => x.vertical)).size).toBeGreaterThanOrEqual(5);
      const vertical = all.body.verticals[0] as string;
      const filtered = await call<{ templates: { vertical: string }[] }>(
        'GET',
        `${tpl()}?vertical=${encodeURIComponent(vertical)}`,
      );
      expect(filtered.body.templates.length).toBeGreaterThan(0);
      expect(filtered.body.templates.every((x) => x.vertical === vertical)).toBe(true);
      const none = await call<{ templates: unknown[] }>('GET', `${tpl()}?q=zzzz-nothing`);
      expect(none.body.templates).toEqual([]);
      const withBases = await call<{ templates: { abstract: boolean }[] }>(
        'GET',
        `${tpl()}?abstract=include`,
      );
      expect(withBases.body.templates.some((x) => x.abstract)).toBe(true);
    });

    it('publishes a template, shows it resolved with origins, and refuses the same version twice', async () => {
      const published = await call<{ summary: { source: string; requiredVariables: number } }>(
        'POST',
        tpl(),
        template('adder-tpl', '1.0.0'),
      );
      expect(published.status).toBe(201);
      expect(published.body.summary).toMatchObject({ source: 'workspace', requiredVariables: 0 });
      const again = await call<Problem>('POST', tpl(), template('adder-tpl', '1.0.0'));
      expect(again.status).toBe(409);
      expect(again.body.detail).toContain('already published');
      const tagged = await call<{ templates: { id: string }[] }>('GET', `${tpl()}?tag=math`);
      expect(tagged.body.templates.map((x) => x.id)).toEqual(['adder-tpl']);
    });

    it('refuses a built-in id, a template over the size limit, and a broken one with every problem at its pointer', async () => {
      const reserved = await call<Problem>('POST', tpl(), template('publish', '1.0.0'));
      expect(reserved.status).toBe(400);
      expect(reserved.body.errors).toEqual([{ path: '/metadata/id', message: 'reserved' }]);
      const builtin = (await call<{ templates: { id: string }[] }>('GET', tpl())).body.templates[0]
        ?.id as string;
      expect((await call<Problem>('POST', tpl(), template(builtin, '9.0.0'))).status).toBe(409);

      const big = template('big', '1.0.0', {
        metadata: { id: 'big', version: '1.0.0', name: 'big', vertical: 'x', description: 'x'.repeat(4000) },
        samples: Array.from({ length: 20 }, (_, i) => ({
          name: `s${i}`,
          input: { pad: 'y'.repeat(14_000) },
        })),
      });
      const tooBig = await call<Problem>('POST', tpl(), big);
      expect(tooBig.status).toBe(400);
      expect(tooBig.body.errors?.[0]?.message).toContain(`at most ${MAX_TEMPLATE_BYTES}`);

      const broken = template('broken', '1.0.0', {
        variables: { step: { type: 'number', default: 'one' } },
        spec: {
          workflow: {
            steps: [{ id: 'add', agent: 'nope', output: 'y', config: { expression: '${missing}' } }],
          },
        },
      });
      const refused = await call<Problem>('POST', tpl(), broken);
      expect(refused.status).toBe(400);
      expect(refused.body.errors?.map((e) => e.path)).toEqual(['/variables/step/default']);
      const fixedVars = template('broken', '1.0.0', {
        spec: {
          workflow: {
            steps: [{ id: 'add', agent: 'nope', output: 'y', config: { expression: '${missing}' } }],
          },
        },
      });
      const second = await call<Problem>('POST', tpl(), fixedVars);
      expect(second.body.errors).toEqual([
        {
          path: '/spec/workflow/steps/0/config/expression',
          message: '${missing}: unknown variable "missing"',
        },
      ]);
    });

    it('refuses a template that extends an unknown parent, or itself', async () => {
      const orphan = await call<Problem>(
        'POST',
        tpl(),
        template('orphan', '1.0.0', { extends: { id: 'ghost', version: '1.0.0' } }),
      );
      expect(orphan.status).toBe(400);
      expect(orphan.body.errors).toEqual([{ path: '/extends', message: 'template ghost@1.0.0 not found' }]);
      const self = await call<Problem>(
        'POST',
        tpl(),
        template('adder-tpl', '1.1.0', { extends: { id: 'adder-tpl', version: '1.0.0' } }),
      );
      expect(self.status).toBe(400);
      expect(self.body.errors?.[0]?.message).toContain('cannot extend itself');
    });

    it('creates a use case from a template in one call, and reports values at their pointers', async () => {
      const bad = await call<Problem>('POST', tpl('/adder-tpl/use-cases'), {
        id: 'made',
        values: { step: 'two', stpe: 1 },
      });
      expect(bad.status).toBe(400);
      expect(bad.body.errors?.map((e) => e.path)).toEqual(['/values/stpe', '/values/step']);
      const made = await call<{
        id: string;
        version: number;
        template: unknown;
        workflow: { steps: { config: unknown }[] };
      }>('POST', tpl('/adder-tpl/use-cases'), { id: 'made', values: { step: 5 } });
      expect(made.status).toBe(201);
      expect(made.body.template).toEqual({ id: 'adder-tpl', version: '1.0.0', values: { step: 5 } });
      expect(made.body.workflow.steps[0]?.config).toEqual({ expression: 'x + 5' });
      expect((await call<Problem>('POST', tpl('/adder-tpl/use-cases'), { id: 'made' })).status).toBe(409);
      // A dry run refuses what the save would: a wizard learns the id is taken before it submits.
      expect(
        (await call<Problem>('POST', `${tpl('/adder-tpl/use-cases')}?dryRun=true`, { id: 'made' })).status,
      ).toBe(409);
      const reserved = await call<Problem>('POST', tpl('/adder-tpl/use-cases'), { id: 'templates' });
      expect(reserved.status).toBe(400);
      expect(reserved.body.errors).toEqual([{ path: '/id', message: 'reserved' }]);
      const run = await call<{ id: string }>('POST', `executions/workspaces/${WS}/executions`, {
        useCaseId: 'made',
        input: { x: 1 },
      });
      expect(run.status).toBe(202);
    });

    it('diffs two versions, deprecates one, and upgrades a use case with a preview first', async () => {
      const v110 = template('adder-tpl', '1.1.0', {
        variables: { step: { type: 'number', default: 1 }, scale: { type: 'number', default: 10 } },
        spec: {
          workflow: {
            steps: [
              {
                id: 'add',
                agent: 'transform',
                inputs: { x: 'input.x' },
                output: 'y',
                config: { expression: '(x + ${step}) * ${scale}' },
              },
            ],
          },
        },
      });
      expect((await call('POST', tpl(), v110)).status).toBe(201);
      const diff = await call<{ structural: { pointer: string }[]; resolved: { pointer: string }[] }>(
        'GET',
        tpl('/adder-tpl/diff?from=1.0.0&to=1.1.0'),
      );
      expect(diff.body.structural.map((c) => c.pointer)).toEqual(
        expect.arrayContaining([
          '/metadata/version',
          '/variables/scale',
          '/spec/workflow/steps/0/config/expression',
        ]),
      );
      expect(diff.body.resolved.map((c) => c.pointer)).toContain('/spec/workflow/steps/0/config/expression');

      const dep = await call<{ deprecated: { message: string } }>(
        'POST',
        tpl('/adder-tpl/versions/1.0.0/deprecation'),
        { message: 'use 1.1.0' },
      );
      expect(dep.body.deprecated.message).toBe('use 1.1.0');
      const detail = await call<{
        summary: { version: string };
        versions: { version: string; deprecated: unknown }[];
      }>('GET', tpl('/adder-tpl'));
      expect(detail.body.summary.version).toBe('1.1.0');
      expect(detail.body.versions.find((v) => v.version === '1.0.0')?.deprecated).toMatchObject({
        message: 'use 1.1.0',
      });
      // The use cases that pin it are told.
      const pinned = await call<{ templateDeprecation: { message: string } | null }>('GET', uc('/made'));
      expect(pinned.body.templateDeprecation).toMatchObject({ message: 'use 1.1.0' });
      expect(
        (await call<{ templateDeprecation: unknown }>('GET', uc('/adder'))).body.templateDeprecation,
      ).toBeNull();

      const preview = await call<{ applied: boolean; changes: { pointer: string; after: unknown }[] }>(
        'POST',
        `${uc('/made/upgrade')}?dryRun=true`,
        { version: '1.1.0' },
      );
      expect(preview.body.applied).toBe(false);
      expect(preview.body.changes).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ pointer: '/workflow/steps/0/config/expression', after: '(x + 5) * 10' }),
        ]),
      );
      expect((await call<{ version: number }>('GET', uc('/made'))).body.version).toBe(1);
      const applied = await call<{
        applied: boolean;
        useCase: { version: number; template: unknown; note: string };
      }>('POST', uc('/made/upgrade'), { version: '1.1.0' });
      expect(applied.body.applied).toBe(true);
      expect(applied.body.useCase).toMatchObject({
        version: 2,
        template: { id: 'adder-tpl', version: '1.1.0', values: { step: 5, scale: 10 } },
        note: 'Upgraded adder-tpl 1.0.0 → 1.1.0',
      });
    });

    it('refuses an upgrade across an incompatible change, saying what does not fit', async () => {
      const v2 = template('adder-tpl', '2.0.0', {
        variables: {
          step: { type: 'enum', values: ['small', 'large'] },
          label: { type: 'string', description: 'what it is called' },
        },
        spec: {
          workflow: {
            steps: [
              {
                id: 'add',
                agent: 'transform',
                inputs: { x: 'input.x' },
                output: 'y',
                config: { expression: "'${label}-${step}'" },
              },
            ],
          },
        },
      });
      expect((await call('POST', tpl(), v2)).status).toBe(201);
      const major = await call<Problem>('POST', uc('/made/upgrade'), { version: '2.0.0' });
      expect(major.status).toBe(409);
      expect(major.body.detail).toContain('crosses a major version');
      const incompatible = await call<Problem>('POST', uc('/made/upgrade'), {
        version: '2.0.0',
        allowMajor: true,
      });
      expect(incompatible.status).toBe(400);
      expect(incompatible.body.detail).toContain('not compatible with its values');
      expect(incompatible.body.errors?.map((e) => e.path)).toEqual([
        '/values/scale',
        '/values/step',
        '/values/label',
      ]);
      const fixed = await call<{ applied: boolean }>('POST', uc('/made/upgrade'), {
        version: '2.0.0',
        allowMajor: true,
        values: { scale: null, step: 'large', label: 'big' },
      });
      expect(fixed.body.applied).toBe(true);
    });

    it('refuses __proto__ keys, and finds no inherited property under a variable name', async () => {
      const proto = JSON.parse(
        '{"id":"proto","version":"1.0.0","values":{"__proto__":{"step":9}}}',
      ) as Record<string, unknown>;
      const made = await call<Problem | { template: { values: unknown } }>(
        'POST',
        tpl('/adder-tpl/use-cases'),
        proto,
      );
      // Either refused as an unknown variable, or the key never reached the template: never applied.
      if (made.status === 201)
        expect((made.body as { template: { values: unknown } }).template.values).toEqual({ step: 1 });
      else expect(made.status).toBe(400);
      const nested = await call<Problem>(
        'POST',
        tpl(),
        JSON.parse(
          JSON.stringify(template('nested-proto', '1.0.0')).replace(
            '"workflow":{',
            '"workflow":{"vars":{"__proto__":{"polluted":true}},',
          ),
        ),
      );
      expect(nested.status).toBe(400);
      expect(nested.body.errors).toEqual([
        { path: '/spec/workflow/vars/__proto__', message: 'field name "__proto__" is reserved (__…__)' },
      ]);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      const ctor = template('ctor', '1.0.0', {
        variables: { constructor: { type: 'number', default: 3 } },
        spec: {
          workflow: {
            steps: [
              {
                id: 'add',
                agent: 'transform',
                inputs: { x: 'input.x' },
                output: 'y',
                config: { expression: 'x + ${constructor}' },
              },
            ],
          },
        },
      });
      expect((await call('POST', tpl(), ctor)).status).toBe(201);
      const made2 = await call<{ workflow: { steps: { config: unknown }[] } }>(
        'POST',
        tpl('/ctor/use-cases'),
        { id: 'ctor' },
      );
      expect(made2.status).toBe(201);
      expect(made2.body.workflow.steps[0]?.config).toEqual({ expression: 'x + 3' });
      const unknown = await call<Problem>('POST', tpl('/adder-tpl/use-cases'), {
        id: 'ctor2',
        version: '1.1.0',
        values: { toString: 1 },
      });
      expect(unknown.body.errors?.map((e) => e.path)).toEqual(['/values/toString']);
    });

    it('checks ids in the path before they name a document (issue 10, attacker review)', async () => {
      for (const [method, path, body] of [
        ['POST', uc('/adder%2Fversions%2F000001/archive'), { archived: true }],
        ['GET', uc('/adder%2Fversions%2F000001'), undefined],
        ['GET', tpl('/adder-tpl%2Fversions%2F1.0.0'), undefined],
        ['POST', `executions/workspaces/${WS}/executions`, { useCaseId: 'adder/versions/000001', input: {} }],
      ] as const) {
        const res = await call<Problem>(method, path, body);
        expect(res.status, path).toBe(400);
      }
      expect((await call<{ archived: boolean }>('GET', uc('/adder?version=1'))).body.archived).toBe(false);
    });

    it('refuses a query it does not know: a misspelt dryRun never saves', async () => {
      const before = (await call<{ version: number }>('GET', uc('/adder'))).body.version;
      const { id: _, ...edit } = useCase('adder');
      const typo = await call<Problem>('PUT', `${uc('/adder')}?dryrun=true`, edit);
      expect(typo.status).toBe(400);
      expect(
        (await call<Problem>('POST', `${uc('/adder/archive')}?dryRun=true`, { archived: true })).status,
      ).toBe(400);
      expect((await call<{ version: number; archived: boolean }>('GET', uc('/adder'))).body).toMatchObject({
        version: before,
        archived: false,
      });
    });

    it('answers a dry run as the save would: nesting past 20 levels is refused at its pointer', async () => {
      let deep: Record<string, unknown> = { leaf: 1 };
      for (let i = 0; i < 22; i++) deep = { d: deep };
      const body = { ...useCase('deep'), workflow: { ...useCase('deep').workflow, vars: { deep } } };
      const dry = await call<Problem>('POST', `${uc()}?dryRun=true`, body);
      expect(dry.status).toBe(400);
      expect(dry.body.errors?.[0]?.path).toMatch(/^\/workflow\/vars\/deep(\/d)+$/);
      expect(dry.body.errors?.[0]?.message).toContain('nested deeper than 20');
      expect((await call<Problem>('POST', uc(), body)).status).toBe(400);
    });

    it('refuses to move a use case to a deprecated template version', async () => {
      const res = await call<Problem>('POST', uc('/ctor/upgrade'), { version: '1.0.0' });
      expect(res.status).toBe(200); // same version, not deprecated: nothing to change
      await call('POST', tpl('/ctor/versions/1.0.0/deprecation'), { message: 'broken' });
      const refused = await call<Problem>('POST', uc('/ctor/upgrade'), { version: '1.0.0' });
      expect(refused.status).toBe(409);
      expect(refused.body.detail).toContain('deprecated (broken)');
    });

    it('serves the JSON Schema of template files', async () => {
      const schema = await call<{
        $schema: string;
        $ref: string;
        $defs: { Template: { properties: object } };
      }>('GET', 'useCases/template-schema');
      expect(schema.status).toBe(200);
      expect(schema.body).toMatchObject({
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        $ref: '#/$defs/Template',
      });
      expect(Object.keys(schema.body.$defs.Template.properties)).toEqual(
        expect.arrayContaining(['apiVersion', 'kind', 'metadata', 'extends', 'variables', 'spec', 'samples']),
      );
    });
  });
});

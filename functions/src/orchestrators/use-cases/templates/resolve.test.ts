import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../platform/errors.js';
import { testCatalog } from '../../../test-support/workflows.js';
import { type Template, type TemplateInput, TemplateSchema } from './model.js';
import { instantiate, resolveTemplate, type TemplateLoader, validateTemplate } from './resolve.js';

function template(id: string, version: string, rest: Partial<TemplateInput> = {}): Template {
  const { metadata, ...others } = rest;
  return TemplateSchema.parse({
    apiVersion: 'seraphim.dev/v1',
    kind: 'Template',
    metadata: { name: id, vertical: 'test', ...metadata, id, version },
    ...others,
  });
}

function loaderOf(...templates: Template[]): TemplateLoader {
  return async (ref) =>
    templates.find((t) => t.metadata.id === ref.id && t.metadata.version === ref.version) ?? null;
}

/** The problems an InvalidInputError reports, as `pointer: message`. */
async function problemsOf(run: () => unknown): Promise<string[]> {
  try {
    await run();
  } catch (error) {
    if (error instanceof InvalidInputError) return error.fields.map((f) => `${f.path}: ${f.message}`);
    throw error;
  }
  throw new Error('expected an InvalidInputError');
}

const base = template('base', '1.0.0', {
  metadata: { id: 'base', version: '1.0.0', name: 'Base', vertical: 'any', abstract: true },
  variables: {
    threshold: { type: 'number', default: 100, minimum: 0, description: 'score above which a person looks' },
    tier: { type: 'enum', values: ['gold', 'silver'], default: 'silver' },
  },
  spec: {
    contextTtlSeconds: 3600,
    metrics: [{ id: 'latency', goal: 'minimize' }],
    workflow: {
      steps: [
        {
          id: 'first',
          agent: 'noop',
          inputs: { x: 'input.x' },
          output: 'one',
          config: { limit: '${threshold}' },
        },
      ],
    },
  },
});
const leaf = template('leaf', '1.2.0', {
  extends: { id: 'base', version: '1.0.0' },
  variables: {
    threshold: { default: 250 },
    region: { type: 'string', description: 'where', pattern: '[a-z]{2}-[a-z]+' },
    apiKey: { type: 'secret', required: false },
  },
  spec: {
    secrets: ['${apiKey}'],
    pool: { priority: 'high' },
    workflow: {
      steps: [
        { id: 'first', config: { region: '${region}' } },
        { id: 'second', agent: 'noop', inputs: { one: 'one' }, output: 'two', priority: 'low' },
      ],
    },
  },
  samples: [{ name: 'small', input: { x: 1 } }],
});

describe('resolving a template through its chain', () => {
  it('merges the chain root first, with the origin of every value', async () => {
    const resolved = await resolveTemplate(leaf, loaderOf(base));
    expect(resolved.chain).toEqual([
      { id: 'base', version: '1.0.0' },
      { id: 'leaf', version: '1.2.0' },
    ]);
    expect(resolved.variables.threshold).toMatchObject({ type: 'number', default: 250, minimum: 0 });
    expect(resolved.origins['/variables/threshold/default']).toBe('leaf@1.2.0');
    expect(resolved.origins['/variables/threshold/minimum']).toBe('base@1.0.0');
    expect(resolved.origins['/spec/workflow/steps/0/config/limit']).toBe('base@1.0.0');
    expect(resolved.origins['/spec/workflow/steps/0/config/region']).toBe('leaf@1.2.0');
    expect(resolved.origins['/spec/contextTtlSeconds']).toBe('base@1.0.0');
  });

  it('keeps what a parent set on a variable when a child overlays it naming its type', async () => {
    const child = template('child', '1.0.0', {
      extends: { id: 'base', version: '1.0.0' },
      variables: { threshold: { type: 'number', default: 7 } },
    });
    const resolved = await resolveTemplate(child, loaderOf(base));
    expect(resolved.variables.threshold).toEqual({
      type: 'number',
      default: 7,
      minimum: 0,
      description: 'score above which a person looks',
    });
    expect(resolved.origins['/variables/threshold/description']).toBe('base@1.0.0');
  });

  it('adds up tags along the chain', async () => {
    const tagged = template('tagged', '1.0.0', {
      metadata: { id: 'tagged', version: '1.0.0', name: 't', vertical: 'x', tags: ['leaf', 'shared'] },
      extends: { id: 'root', version: '1.0.0' },
    });
    const root = template('root', '1.0.0', {
      metadata: {
        id: 'root',
        version: '1.0.0',
        name: 'r',
        vertical: 'x',
        tags: ['shared', 'root'],
        abstract: true,
      },
    });
    expect((await resolveTemplate(tagged, loaderOf(root))).metadata.tags).toEqual(['shared', 'root', 'leaf']);
  });

  it('refuses a cycle, naming the chain', async () => {
    const a = template('a', '1.0.0', { extends: { id: 'b', version: '1.0.0' } });
    const b = template('b', '1.0.0', { extends: { id: 'a', version: '1.0.0' } });
    const problems = await problemsOf(() => resolveTemplate(a, loaderOf(a, b)));
    expect(problems).toEqual([expect.stringContaining('a@1.0.0 extends b@1.0.0 extends a@1.0.0')]);
    expect(problems[0]).toMatch(/^\/extends/);
  });

  it('refuses a template that extends itself', async () => {
    const self = template('self', '1.0.0', { extends: { id: 'self', version: '0.9.0' } });
    expect(await problemsOf(() => resolveTemplate(self, loaderOf()))).toEqual([
      expect.stringContaining('cannot extend itself'),
    ]);
  });

  it('refuses a chain deeper than six', async () => {
    const chain = Array.from({ length: 8 }, (_, i) =>
      template(`t${i}`, '1.0.0', i === 0 ? {} : { extends: { id: `t${i - 1}`, version: '1.0.0' } }),
    );
    expect(await problemsOf(() => resolveTemplate(chain[7] as Template, loaderOf(...chain)))).toEqual([
      expect.stringContaining('at most 6 templates'),
    ]);
  });

  it('refuses an unknown parent at /extends', async () => {
    const orphan = template('orphan', '1.0.0', { extends: { id: 'gone', version: '2.0.0' } });
    expect(await problemsOf(() => resolveTemplate(orphan, loaderOf()))).toEqual([
      '/extends: template gone@2.0.0 not found',
    ]);
  });

  it('reports invalid merged variables and defaults at their pointers, all at once', async () => {
    const bad = template('bad', '1.0.0', {
      extends: { id: 'base', version: '1.0.0' },
      variables: {
        tier: { default: 'bronze' },
        count: { type: 'number', integer: true, default: 1.5 },
        odd: { type: 'colour' },
      },
    });
    const problems = await problemsOf(() => resolveTemplate(bad, loaderOf(base)));
    expect(problems).toEqual([
      expect.stringMatching(/^\/variables\/tier\/default: must be one of "gold", "silver"/),
      '/variables/count/default: must be a whole number',
      expect.stringMatching(/^\/variables\/odd\/type: /),
    ]);
  });
});

describe('instantiating a template', () => {
  it('fills in values and defaults, applies the pool default, and keeps secrets as names', async () => {
    const resolved = await resolveTemplate(leaf, loaderOf(base));
    const body = instantiate(
      resolved,
      { id: 'mine', values: { region: 'eu-west', apiKey: 'FRAUD_KEY' } },
      testCatalog,
    );
    expect(body).toMatchObject({
      id: 'mine',
      name: 'leaf',
      secrets: ['FRAUD_KEY'],
      contextTtlSeconds: 3600,
      template: {
        id: 'leaf',
        version: '1.2.0',
        values: { region: 'eu-west', apiKey: 'FRAUD_KEY', threshold: 250, tier: 'silver' },
      },
    });
    expect(body.workflow.steps.map((s) => [s.id, s.priority, s.config])).toEqual([
      ['first', 'high', { limit: 250, region: 'eu-west' }],
      ['second', 'low', {}],
    ]);
  });

  it('leaves an optional variable without a value out of the config', async () => {
    const resolved = await resolveTemplate(leaf, loaderOf(base));
    expect(instantiate(resolved, { id: 'mine', values: { region: 'eu-west' } }, testCatalog).secrets).toEqual(
      [],
    );
  });

  it('reports unknown, missing and mistyped values at /values, all at once', async () => {
    const resolved = await resolveTemplate(leaf, loaderOf(base));
    const problems = await problemsOf(() =>
      instantiate(
        resolved,
        { id: 'mine', values: { treshold: 5, tier: 'gold', threshold: 'high', apiKey: 'sk-live-123' } },
        testCatalog,
      ),
    );
    expect(problems).toEqual([
      expect.stringMatching(
        /^\/values\/treshold: unknown variable "treshold"; the template's are: threshold, tier, region, apiKey/,
      ),
      '/values/threshold: threshold must be a number, not text "high"',
      '/values/region: region is required: where',
      '/values/apiKey: apiKey must be a secret NAME (A-Z, 0-9, _), never its value',
    ]);
  });

  it('reports at most 50 unknown values, each naming only a few of the variables', async () => {
    const resolved = await resolveTemplate(leaf, loaderOf(base));
    const values = Object.fromEntries(
      Array.from({ length: 40_000 }, (_, i) => [`v${'x'.repeat(60)}${i}`, 1]),
    );
    const problems = await problemsOf(() =>
      instantiate(resolved, { id: 'm', values: { ...values, region: 'eu-west' } }, testCatalog),
    );
    expect(problems).toHaveLength(51);
    expect(problems.at(-1)).toBe('/values: 40000 unknown variables in all');
    expect(Math.max(...problems.map((p) => p.length))).toBeLessThan(400);
  });

  it('refuses a pattern with a counted repetition past 50', async () => {
    const wide = template('wide', '1.0.0', {
      variables: { s: { type: 'string', pattern: '[a-z]{0,1000}', default: 'a' } },
    });
    expect(await problemsOf(() => resolveTemplate(wide, loaderOf()))).toEqual([
      '/variables/s/pattern: a counted repetition may go up to 50',
    ]);
  });

  it('checks a value against its pattern and bounds', async () => {
    const resolved = await resolveTemplate(leaf, loaderOf(base));
    expect(
      await problemsOf(() =>
        instantiate(resolved, { id: 'm', values: { region: 'EU', threshold: -1 } }, testCatalog),
      ),
    ).toEqual([
      '/values/threshold: threshold must be at least 0',
      '/values/region: region must match [a-z]{2}-[a-z]+',
    ]);
  });

  it('matches patterns in linear time, and refuses one RE2 cannot run at its pointer', async () => {
    const evil = template('evil', '1.0.0', {
      variables: { name: { type: 'string', pattern: '(a+)+b', maxLength: 10_000 } },
      spec: { workflow: { steps: [{ id: 's', agent: 'noop', output: 'o', config: { n: '${name}' } }] } },
    });
    const resolved = await resolveTemplate(evil, loaderOf());
    expect(
      await problemsOf(() =>
        instantiate(resolved, { id: 'm', values: { name: `${'a'.repeat(5000)}!` } }, testCatalog),
      ),
    ).toEqual(['/values/name: name must match (a+)+b']);
    // Finishing at all is the proof: a backtracking RegExp would not, on 5,000 `a`s.
    const lookaround = template('look', '1.0.0', {
      variables: { name: { type: 'string', pattern: '(?=a)a', default: 'a' } },
    });
    expect(await problemsOf(() => resolveTemplate(lookaround, loaderOf()))).toEqual([
      expect.stringMatching(/^\/variables\/name\/pattern: /),
    ]);
  });

  it('reports what the template makes at /spec pointers, as the engine would', async () => {
    const broken = template('broken', '1.0.0', {
      extends: { id: 'base', version: '1.0.0' },
      spec: {
        contextTtlSeconds: 'a day',
        workflow: { steps: [{ id: 'second', agent: 'nope', inputs: { one: 'zzz' }, output: 'two' }] },
      },
    });
    const resolved = await resolveTemplate(broken, loaderOf(base));
    expect(await problemsOf(() => instantiate(resolved, { id: 'm', values: {} }, testCatalog))).toEqual([
      expect.stringMatching(/^\/spec\/contextTtlSeconds: /),
    ]);
    const fixed = template('broken', '1.0.1', {
      extends: { id: 'base', version: '1.0.0' },
      spec: { workflow: { steps: [{ id: 'second', agent: 'nope', inputs: { one: 'zzz' }, output: 'two' }] } },
    });
    const problems = await problemsOf(async () =>
      instantiate(await resolveTemplate(fixed, loaderOf(base)), { id: 'm', values: {} }, testCatalog),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\/spec\/workflow\/steps\/1\/agent: unknown agent kind "nope"/),
      ]),
    );
  });
});

describe('validating a template for publishing', () => {
  it('checks an instantiable template with placeholder values', async () => {
    await expect(validateTemplate(leaf, loaderOf(base), testCatalog)).resolves.toMatchObject({
      chain: [{ id: 'base' }, { id: 'leaf' }],
    });
  });

  it('reports a placeholder naming no variable, in an abstract template too', async () => {
    const abstract = template('abs', '1.0.0', {
      metadata: { id: 'abs', version: '1.0.0', name: 'abs', vertical: 'x', abstract: true },
      spec: { workflow: { vars: { region: '${regoin}' } } },
    });
    expect(await problemsOf(() => validateTemplate(abstract, loaderOf(), testCatalog))).toEqual([
      '/spec/workflow/vars/region: ${regoin}: unknown variable "regoin"',
    ]);
  });
});

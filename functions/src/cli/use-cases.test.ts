import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import system from '../orchestrators/system/index.js';
import useCases from '../orchestrators/use-cases/index.js';
import type { Variable } from '../orchestrators/use-cases/templates/model.js';
import { VariableSchema } from '../orchestrators/use-cases/templates/model.js';
import { cli } from '../test-support/cli.js';
import { startTestRuntime, type TestRuntime } from '../test-support/embedded.js';
import { CliError } from './client.js';
import { readSets } from './use-cases.js';

const variables: Record<string, Variable> = {
  threshold: VariableSchema.parse({ type: 'number' }),
  strict: VariableSchema.parse({ type: 'boolean' }),
  tier: VariableSchema.parse({ type: 'enum', values: ['gold', 'silver'] }),
  region: VariableSchema.parse({ type: 'string' }),
};

describe('--set values', () => {
  it('are read by the type each variable declares', () => {
    expect(readSets(['threshold=2.5', 'strict=false', 'tier=gold', 'region=a=b'], variables)).toEqual({
      threshold: 2.5,
      strict: false,
      tier: 'gold',
      region: 'a=b',
    });
  });

  it('report every mismatch at once, as a usage error naming the variable', () => {
    let error: unknown;
    try {
      readSets(['threshold=high', 'strict=yes', 'tier=bronze', 'nope=1', 'novalue'], variables);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(2);
    expect((error as CliError).message.split('\n')).toEqual([
      '--set threshold=high: threshold is a number',
      '--set strict=yes: strict is true or false',
      '--set tier=bronze: tier is one of gold, silver',
      "--set nope: unknown variable; the template's are: threshold, strict, tier, region",
      '--set novalue: write it as name=value',
    ]);
  });
});

describe('seraphim use-cases, templates and apply', () => {
  let t: TestRuntime;
  let dir: string;
  beforeAll(async () => {
    t = await startTestRuntime([system, useCases]);
    dir = mkdtempSync(join(tmpdir(), 'seraphim-apply-'));
  });
  afterAll(() => t?.dispose());
  const run = (...args: string[]) => cli([...args, '--url', t.url, '--workspace', 'cli']);

  const template = (version: string, extra = '') => `apiVersion: seraphim.dev/v1
kind: Template
metadata:
  id: doubler
  version: ${version}
  name: Doubler
  vertical: testing
  changelog: version ${version}
variables:
  factor: { type: number, default: 2, description: what to multiply by }
spec:
  workflow:
    steps:
      - id: mul
        agent: transform
        inputs: { x: input.x }
        output: y
        config: { expression: "x * \${factor}" }
${extra}`;

  it('templates list shows the library; show names the variables and how to use it', async () => {
    const list = await run('templates', 'list');
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/ID\s+VERSION\s+VERTICAL\s+TO SUPPLY\s+NAME/);
    const id = /^(\S+)/m.exec(list.out.split('\n')[1] ?? '')?.[1] as string;
    const show = await run('templates', 'show', id);
    expect(show.code).toBe(0);
    expect(show.out).toContain('chain: ');
    expect(show.out).toContain(`seraphim use-cases create MY-ID --template ${id}`);
  });

  it('use-cases create refuses a --set of the wrong type before sending, and creates with the right one', async () => {
    const file = join(dir, 'doubler.yaml');
    writeFileSync(file, template('1.0.0'));
    expect((await run('templates', 'publish', '--file', file)).code).toBe(0);
    const bad = await run('use-cases', 'create', 'dbl', '--template', 'doubler', '--set', 'factor=lots');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--set factor=lots: factor is a number');
    const good = await run('use-cases', 'create', 'dbl', '--template', 'doubler', '--set', 'factor=3');
    expect(good.code).toBe(0);
    expect(good.out).toContain('dbl v1');
    const again = await run('use-cases', 'create', 'dbl', '--template', 'doubler');
    expect(again.code).toBe(4);
    expect(again.err).toContain('already exists');
  });

  it('exports a use case to YAML that apply reads back as unchanged', async () => {
    const out = join(dir, 'dbl.yaml');
    expect((await run('use-cases', 'export', 'dbl', '--output', out)).code).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain('kind: UseCase');
    const plan = await run('apply', '-f', out, '--dry-run');
    expect(plan.code).toBe(0);
    expect(plan.out).toContain('= use case dbl: unchanged');
  });

  it('apply plans first, then publishes and upgrades; a second apply changes nothing', async () => {
    const folder = mkdtempSync(join(dir, 'gitops-'));
    writeFileSync(join(folder, '1-template.yaml'), template('1.1.0', '  cache: { ttlSeconds: 60 }\n'));
    writeFileSync(
      join(folder, '2-use-cases.yaml'),
      `apiVersion: seraphim.dev/v1
kind: UseCase
metadata: { id: dbl, name: Doubled }
template: { id: doubler, version: 1.1.0, values: { factor: 4 } }
---
apiVersion: seraphim.dev/v1
kind: UseCase
metadata: { id: fresh }
template: { id: doubler, version: 1.0.0 }
`,
    );
    const plan = await run('apply', '-f', folder, '--dry-run');
    expect(plan.code).toBe(0);
    expect(plan.out).toContain('+ template doubler 1.1.0: publish');
    expect(plan.out).toContain('~ use case dbl: upgrade (from doubler 1.1.0, which this apply publishes)');
    // Made here from the files, so the plan shows what the upgrade changes before anything is published.
    expect(plan.out).toContain('  ~ /workflow/steps/0/config/expression "x * 3" → "x * 4"');
    expect(plan.out).toContain('  ~ /name "Doubler" → "Doubled"');
    expect(plan.out).toContain('+ use case fresh: create\n');
    expect(plan.out).toContain('Dry run: nothing applied.');
    expect((await run('use-cases', 'show', 'dbl')).out).toContain('template: doubler 1.0.0');

    const applied = await run('apply', '-f', folder);
    expect(applied.code, applied.err).toBe(0);
    const dbl = JSON.parse((await run('use-cases', 'show', 'dbl', '--json')).out) as {
      name: string;
      template: unknown;
      cache: unknown;
    };
    expect(dbl).toMatchObject({
      name: 'Doubled',
      template: { id: 'doubler', version: '1.1.0', values: { factor: 4 } },
      cache: { ttlSeconds: 60 },
    });
    const again = await run('apply', '-f', folder);
    expect(again.out).toContain('Plan: 0 to apply, 3 unchanged.');
  });

  it('apply --dry-run checks a template whose parent is in the same files, before anything is published', async () => {
    const folder = mkdtempSync(join(dir, 'family-'));
    writeFileSync(join(folder, 'a-parent.yaml'), template('7.0.0'));
    writeFileSync(
      join(folder, 'b-child.yaml'),
      `apiVersion: seraphim.dev/v1
kind: Template
metadata: { id: doubler-child, version: 1.0.0, name: Child, vertical: testing }
extends: { id: doubler, version: 7.0.0 }
variables:
  factor: { default: "two" }
`,
    );
    const refused = await run('apply', '-f', folder, '--dry-run');
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('Template doubler-child 1.0.0');
    expect(refused.err).toContain(
      '/variables/factor/default: Invalid input: expected number, received string',
    );
    expect((await run('templates', 'show', 'doubler', '--version', '7.0.0')).code).toBe(4);
  });

  it('apply refuses a cycle in the files, and a changed published version', async () => {
    const folder = mkdtempSync(join(dir, 'bad-'));
    writeFileSync(join(folder, 'a.yaml'), template('5.0.0', 'extends: { id: doubler, version: 6.0.0 }\n'));
    writeFileSync(join(folder, 'b.yaml'), template('6.0.0', 'extends: { id: doubler, version: 5.0.0 }\n'));
    const cycle = await run('apply', '-f', folder, '--dry-run');
    expect(cycle.code).toBe(2);
    expect(cycle.err).toContain(
      'Inheritance has a cycle: doubler@5.0.0 extends doubler@6.0.0 extends doubler@5.0.0',
    );
    const changed = join(dir, 'changed.yaml');
    writeFileSync(changed, template('1.0.0').replace('version 1.0.0', 'edited'));
    const refused = await run('apply', '-f', changed, '--dry-run');
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('already published with other content');
  });
});

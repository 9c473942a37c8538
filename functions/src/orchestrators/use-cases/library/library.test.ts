/**
 * The built-in template library: every template validates with the built-in
 * agents, the inheritance it shows resolves as documented, each use-case
 * template instantiated with its defaults runs its samples end to end on the
 * embedded runtime (no network: the http and llm steps stay behind their
 * switches), and each is far less to write than the use case it makes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainQueues, startTestRuntime, type TestRuntime } from '../../../test-support/embedded.js';
import { builtinAgents, createAgentRegistry } from '../../executions/agents/registry.js';
import executions, { engine } from '../../executions/index.js';
import type { Execution, ExecutionStatus } from '../../executions/model.js';
import { getExecution } from '../../executions/store.js';
import { saveUseCase } from '../store.js';
import type { TemplateRef } from '../templates/model.js';
import {
  instantiate,
  type ResolvedTemplate,
  resolveTemplate,
  validateTemplate,
} from '../templates/resolve.js';
import { SecretReference, substitute } from '../templates/substitute.js';
import { type CreationEffort, countLeaves, creationEffort } from './effort.js';
import { BUILTIN_TEMPLATES, builtinTemplate, loadBuiltinTemplate } from './index.js';

const agents = createAgentRegistry(builtinAgents);
const concrete = BUILTIN_TEMPLATES.filter((t) => !t.metadata.abstract);
const VERTICALS = ['banking', 'insurance', 'healthcare', 'retail', 'customer-support'];

const resolve = (id: string) =>
  resolveTemplate(
    BUILTIN_TEMPLATES.find((t) => t.metadata.id === id) as (typeof BUILTIN_TEMPLATES)[number],
    loadBuiltinTemplate,
  );

/** What each sample must end as with the default values, and what its outcome (or waiting step) shows. */
type Expectation =
  | { status: 'succeeded'; outcome: Record<string, unknown> }
  | {
      status: 'waiting';
      waitingOn: string;
      decide?: { decision: 'approved' | 'rejected'; outcome: Record<string, unknown> };
    };

const EXPECTED: Record<string, Record<string, Expectation>> = {
  'banking-fraud-screening': {
    'everyday-card-payment': {
      status: 'succeeded',
      outcome: { action: 'release', automated: true, score: 0 },
    },
    'wire-to-high-risk-jurisdiction': {
      status: 'succeeded',
      outcome: { action: 'block', rulesDecision: 'block', automated: true, score: 105 },
    },
    'money-mule-pattern': {
      status: 'waiting',
      waitingOn: 'analystReview',
      decide: {
        decision: 'rejected',
        outcome: { action: 'block', automated: false, decidedBy: 'analyst-1' },
      },
    },
    'unverified-customer': { status: 'waiting', waitingOn: 'analystReview' },
  },
  'insurance-claims-triage': {
    'windscreen-repair': { status: 'succeeded', outcome: { approved: true, payout: 280, automated: true } },
    'storm-damage-new-policy': {
      status: 'succeeded',
      outcome: { approved: true, payout: 650, score: 30, automated: true },
    },
    'late-theft-without-report': {
      status: 'waiting',
      waitingOn: 'adjusterReview',
      decide: { decision: 'approved', outcome: { approved: true, payout: 1650, automated: false } },
    },
    'kitchen-fire': { status: 'waiting', waitingOn: 'adjusterReview' },
  },
  'healthcare-prior-auth-triage': {
    'physiotherapy-in-network': {
      status: 'succeeded',
      outcome: { determination: 'approved', member: '***0937', automated: true, dueWithinHours: 168 },
    },
    'early-lumbar-mri': { status: 'waiting', waitingOn: 'clinicalReview' },
    'expedited-knee-arthroscopy': {
      status: 'waiting',
      waitingOn: 'clinicalReview',
      decide: {
        decision: 'rejected',
        outcome: { determination: 'denied', automated: false, dueWithinHours: 72, member: '***8842' },
      },
    },
  },
  'retail-demand-anomaly-watch': {
    'promotion-spike': {
      status: 'succeeded',
      outcome: { classification: 'normal', action: 'none', automated: true },
    },
    'stockout-coming': {
      status: 'succeeded',
      outcome: { classification: 'adjust', action: 'order-suggested', orderUnits: 373, automated: true },
    },
    'unexplained-spike': {
      status: 'waiting',
      waitingOn: 'plannerReview',
      decide: {
        decision: 'approved',
        outcome: { action: 'order-approved', orderUnits: 1053, automated: false },
      },
    },
    'negative-stock': { status: 'waiting', waitingOn: 'plannerReview' },
  },
  'customer-support-ticket-routing': {
    'double-charge': {
      status: 'succeeded',
      outcome: { queue: 'billing', priority: 'p3', firstResponseDueHours: 8, automated: true },
    },
    'locked-out': { status: 'succeeded', outcome: { queue: 'account', priority: 'p3', automated: true } },
    'enterprise-outage': {
      status: 'waiting',
      waitingOn: 'leadTriage',
      decide: {
        decision: 'approved',
        outcome: { queue: 'technical', priority: 'p1', firstResponseDueHours: 1, automated: false },
      },
    },
    'legal-threat': { status: 'waiting', waitingOn: 'leadTriage' },
  },
};

describe('the built-in template library', () => {
  it('validates every template with the built-in agents; ids are unique and parents come first', async () => {
    const ids = BUILTIN_TEMPLATES.map((t) => t.metadata.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain('seraphim-base');
    for (const t of BUILTIN_TEMPLATES) {
      await expect(validateTemplate(t, loadBuiltinTemplate, agents), t.metadata.id).resolves.toBeDefined();
      if (t.extends) expect(ids.indexOf(t.extends.id)).toBeLessThan(ids.indexOf(t.metadata.id));
    }
    expect(builtinTemplate({ id: 'banking', version: '1.0.0' })?.metadata.abstract).toBe(true);
    expect(builtinTemplate({ id: 'banking', version: '9.9.9' })).toBeUndefined();
    expect(builtinTemplate({ id: 'nope', version: '1.0.0' })).toBeUndefined();
  });

  it('has an abstract root, five abstract verticals on it, and one concrete use case on each vertical', async () => {
    const abstract = BUILTIN_TEMPLATES.filter((t) => t.metadata.abstract);
    expect(abstract.map((t) => t.metadata.id).sort()).toEqual([...VERTICALS, 'seraphim-base'].sort());
    for (const v of VERTICALS)
      expect(builtinTemplate({ id: v, version: '1.0.0' })?.extends?.id).toBe('seraphim-base');
    expect(concrete.map((t) => t.metadata.vertical).sort()).toEqual([...VERTICALS].sort());
    for (const t of concrete) {
      const resolved = await resolveTemplate(t, loadBuiltinTemplate);
      expect(
        resolved.chain.map((r) => r.id),
        t.metadata.id,
      ).toEqual(['seraphim-base', t.metadata.vertical, t.metadata.id]);
    }
  });

  it('gives every concrete template samples, a changelog, tags, metrics, datasets and documented, typed variables', async () => {
    for (const t of concrete) {
      const id = t.metadata.id;
      const resolved = await resolveTemplate(t, loadBuiltinTemplate);
      expect(resolved.samples.length, id).toBeGreaterThanOrEqual(2);
      expect(resolved.samples.length, id).toBeLessThanOrEqual(4);
      expect(resolved.samples.map((s) => s.name).sort(), id).toEqual(Object.keys(EXPECTED[id] ?? {}).sort());
      expect(t.metadata.changelog, id).not.toBe('');
      expect(t.metadata.tags.length, id).toBeGreaterThan(0);
      for (const [name, v] of Object.entries(resolved.variables))
        expect(v.description, `${id}: ${name}`).not.toBe('');
      const types = new Set(Object.values(resolved.variables).map((v) => v.type));
      for (const type of ['number', 'enum', 'boolean', 'dataset'])
        expect(types, `${id}: a ${type} variable`).toContain(type);

      const body = instantiate(resolved, { id, values: {} }, agents);
      const steps = body.workflow.steps;
      expect(steps.length, id).toBeGreaterThanOrEqual(4);
      expect(steps.length, id).toBeLessThanOrEqual(8);
      expect(body.workflow.inputSchema, id).toBeDefined();
      expect(body.metrics.length, id).toBeGreaterThan(0);
      expect(body.datasets.length, id).toBeGreaterThan(0);
      const kinds = new Set(steps.map((s) => s.agent));
      for (const kind of ['validate', 'rules', 'branch', 'transform', 'human'])
        expect(kinds, `${id}: ${kind}`).toContain(kind);
      // The last step settles: it writes the `outcome` the base's automation-rate metric reads.
      expect(steps.at(-1)).toMatchObject({ output: 'outcome', join: 'any' });
      if (kinds.has('http')) expect(types, `${id}: a secret for its http step`).toContain('secret');
      for (const s of steps.filter((s) => s.agent === 'http' && 'auth' in s.config))
        expect(body.secrets, id).toContain((s.config.auth as { bearerSecret: string }).bearerSecret);
    }
  });

  it('uses every variable it declares', async () => {
    for (const t of concrete) {
      const resolved = await resolveTemplate(t, loadBuiltinTemplate);
      const used = new Set<string>();
      const vars = new Map(
        Object.entries(resolved.variables).map(([n, v]) => [
          n,
          v.type === 'secret'
            ? new SecretReference(String(v.default))
            : ((v.default ?? null) as string | number | boolean | null),
        ]),
      );
      substitute(resolved.spec, vars, '/spec', [], used);
      expect([...used].sort(), t.metadata.id).toEqual(Object.keys(resolved.variables).sort());
    }
  });

  it('turns thresholds into numbers and switches into conditions', async () => {
    const resolved = await resolve('banking-fraud-screening');
    const body = instantiate(
      resolved,
      { id: 'fraud', values: { reviewThreshold: 45, mode: 'shadow' } },
      agents,
    );
    const score = body.workflow.steps.find((s) => s.id === 'score');
    expect(score?.config.thresholds).toEqual([
      { minScore: 100, decision: 'block' },
      { minScore: 45, decision: 'review' },
    ]);
    const route = body.workflow.steps.find((s) => s.id === 'route');
    expect(JSON.stringify(route?.config)).toContain("'shadow' = 'enforce'");
    expect(body.contextTtlSeconds).toBe(180 * 86400);
    expect(body.pool.priority).toBe('normal');
    expect(body.template).toEqual({
      id: 'banking-fraud-screening',
      version: '1.0.0',
      values: expect.objectContaining({
        reviewThreshold: 45,
        mode: 'shadow',
      }),
    });
    // The secret is optional: unset, the use case names no secret and its http step sends no credential.
    expect(body.template?.values).not.toHaveProperty('scoringApiSecret');
    expect(body.secrets).toEqual([]);
    expect(body.workflow.steps.find((s) => s.id === 'externalScore')?.config).not.toHaveProperty('auth');
    // An optional variable left unset takes its field out: no review deadline by default.
    expect(body.workflow.steps.find((s) => s.id === 'analystReview')?.config).not.toHaveProperty(
      'timeoutSeconds',
    );
    const withDeadline = instantiate(
      resolved,
      { id: 'fraud', values: { reviewDeadlineSeconds: 3600 } },
      agents,
    );
    expect(withDeadline.workflow.steps.find((s) => s.id === 'analystReview')?.config.timeoutSeconds).toBe(
      3600,
    );
    // The external model is one switch away; its gate reads the switch from the workflow's vars.
    expect(body.workflow.vars.externalScoring).toBe(false);
    const external = instantiate(
      resolved,
      { id: 'fraud', values: { externalScoring: true, scoringApiSecret: 'FRAUD_SCORING_TOKEN' } },
      agents,
    );
    expect(external.workflow.vars.externalScoring).toBe(true);
    expect(external.secrets).toEqual(['FRAUD_SCORING_TOKEN']);
    expect(external.workflow.steps.find((s) => s.id === 'externalScore')?.config).toMatchObject({
      url: 'https://fraud-scoring.example.com/v1/score',
      auth: { bearerSecret: 'FRAUD_SCORING_TOKEN' },
    });
  });

  describe('inheritance', () => {
    const origin = (resolved: ResolvedTemplate, pointer: string) => resolved.origins[pointer];

    it('insurance claims triage overrides inherited values: retention, and the automation-rate target', async () => {
      const resolved = await resolve('insurance-claims-triage');
      const body = instantiate(resolved, { id: 'claims', values: {} }, agents);
      expect(body.contextTtlSeconds).toBe(30 * 86400);
      expect(body.metrics.find((m) => m.id === 'automationRate')).toMatchObject({
        goal: 'maximize',
        source: 'outcome.automated',
        target: 60,
      });
      const at = resolved.spec.metrics as { id: string }[];
      const i = at.findIndex((m) => m.id === 'automationRate');
      expect(origin(resolved, `/spec/metrics/${i}/target`)).toBe('insurance-claims-triage@1.0.0');
      expect(origin(resolved, `/spec/metrics/${i}/goal`)).toBe('seraphim-base@1.0.0');
      expect(origin(resolved, '/variables/retentionDays/default')).toBe('insurance-claims-triage@1.0.0');
      expect(origin(resolved, '/variables/retentionDays/maximum')).toBe('seraphim-base@1.0.0');
    });

    it('retail demand watch deletes an inherited metric; healthcare removes the cache default and its variable', async () => {
      const retail = instantiate(
        await resolve('retail-demand-anomaly-watch'),
        { id: 'watch', values: {} },
        agents,
      );
      expect(retail.metrics.map((m) => m.id)).not.toContain('endToEndLatency');
      expect(retail.metrics.map((m) => m.id)).toEqual(
        expect.arrayContaining(['automationRate', 'stockoutRate', 'forecastAccuracy', 'anomalyPrecision']),
      );
      expect(retail.pool.priority).toBe('low'); // the retail vertical's default for the base's variable
      expect(retail.workflow.steps.find((s) => s.id === 'classify')?.cache).toEqual({
        key: ['m', 'promoActive', 'dataCheck'],
        ttlSeconds: 3600, // the base's cache default filled in
      });

      const resolved = await resolve('healthcare-prior-auth-triage');
      expect(resolved.variables).not.toHaveProperty('cacheTtlMinutes');
      expect(resolved.spec).not.toHaveProperty('cache');
      const health = instantiate(resolved, { id: 'pa', values: {} }, agents);
      expect(health.cache).toBeUndefined();
      expect(health.workflow.steps.every((s) => s.cache === undefined)).toBe(true);
    });

    it('repeats nothing it inherits: no value a template sets equals the one it overlays, no tag its parent has', async () => {
      /** Keyed arrays as objects by their key, so an item is found by key whatever its index. */
      const KEYED: [string, string][] = [
        ['/spec/workflow/steps', 'id'],
        ['/spec/metrics', 'id'],
        ['/spec/datasets', 'dataset'],
        ['/samples', 'name'],
      ];
      const at = (root: unknown, pointer: string): unknown => {
        let v = root;
        let path = '';
        for (const segment of pointer.split('/').slice(1)) {
          const key = KEYED.find(([p]) => p === path)?.[1];
          const items = Array.isArray(v) ? (v as Record<string, unknown>[]) : undefined;
          v =
            key && items
              ? items.find((item) => item[key] === segment)
              : (v as Record<string, unknown> | undefined)?.[segment];
          path += `/${segment}`;
        }
        return v;
      };
      /** The same pointer with each keyed index replaced by the item's key. */
      const byKey = (root: unknown, pointer: string): string => {
        let out = '';
        let v = root;
        for (const segment of pointer.split('/').slice(1)) {
          const key = KEYED.find(([p]) => p === out)?.[1];
          const item = Array.isArray(v) ? (v[Number(segment)] as Record<string, unknown>) : undefined;
          v = item ?? (v as Record<string, unknown> | undefined)?.[segment];
          out += `/${key && item ? String(item[key]) : segment}`;
        }
        return out;
      };
      for (const t of BUILTIN_TEMPLATES.filter((t) => t.extends)) {
        const parent = builtinTemplate(t.extends as TemplateRef);
        if (!parent) throw new Error(`no parent for ${t.metadata.id}`);
        const mine = `${t.metadata.id}@${t.metadata.version}`;
        const [own, inherited] = await Promise.all([
          resolveTemplate(t, loadBuiltinTemplate),
          resolveTemplate(parent, loadBuiltinTemplate),
        ]);
        const repeated = Object.entries(own.origins)
          .filter(([, origin]) => origin === mine)
          .map(([pointer]) => byKey(own, pointer))
          // The key of a keyed item (a step's or metric's id, a dataset's name) addresses it: restating it is the point.
          .filter((pointer) => !KEYED.some(([p, key]) => new RegExp(`^${p}/[^/]+/${key}$`).test(pointer)))
          .filter((pointer) => {
            const value = at(own, pointer);
            return typeof value !== 'object' && at(inherited, pointer) === value;
          });
        expect(repeated, t.metadata.id).toEqual([]);
        expect(
          t.metadata.tags.filter((tag) => parent.metadata.tags.includes(tag)),
          t.metadata.id,
        ).toEqual([]);
      }
    });
  });

  describe('on the embedded runtime', () => {
    let t: TestRuntime;
    const workspace = 'library';
    const ctx = () => ({ ...t.runtime.ports, correlationId: 'library-test' });
    const read = async (id: string) => (await getExecution(ctx().documents, workspace, id)).data;

    beforeAll(async () => {
      t = await startTestRuntime([executions]);
    });
    afterAll(() => t?.dispose());

    it.each(Object.keys(EXPECTED))('runs the samples of %s with its default values', async (id) => {
      const template = builtinTemplate({ id, version: '1.0.0' });
      if (!template) throw new Error(`no template ${id}`);
      const resolved = await resolveTemplate(template, loadBuiltinTemplate);
      const body = instantiate(resolved, { id, values: {} }, agents);
      const { useCase } = await saveUseCase(ctx().documents, workspace, body, Date.now());
      const expected = EXPECTED[id] as Record<string, Expectation>;

      const started: [string, Execution][] = [];
      for (const sample of resolved.samples)
        started.push([sample.name, await engine.start(ctx(), workspace, useCase, sample.input)]);
      await drainQueues(t.runtime);

      for (const [name, e] of started) {
        const want = expected[name] as Expectation;
        const done = await read(e.id);
        const label = `${id} / ${name}: ${JSON.stringify(done.error ?? done.context.outcome ?? null)}`;
        expect(done.status, label).toBe(want.status satisfies ExecutionStatus);
        // No default run calls out: the http and llm steps are skipped.
        for (const step of useCase.workflow.steps.filter((s) => s.agent === 'http' || s.agent === 'llm'))
          expect(done.steps[step.id]?.status, `${label}: ${step.id}`).toBe('skipped');
        if (want.status === 'succeeded') {
          expect(done.context.outcome, label).toMatchObject(want.outcome);
          continue;
        }
        expect(done.steps[want.waitingOn], label).toMatchObject({ status: 'waiting', waitingFor: 'human' });
        expect(done.steps[want.waitingOn]?.prompt, label).not.toMatch(/\{\{|\$\{/);
        if (!want.decide) continue;
        const decision = await engine.apply(ctx(), workspace, e.id, () => ({
          type: 'decision',
          stepId: want.waitingOn,
          decision: want.decide?.decision ?? 'approved',
          by: 'analyst-1',
          comment: 'checked with the customer',
          at: Date.now(),
        }));
        expect(decision?.accepted, label).toBe(true);
        await drainQueues(t.runtime);
        const decided = await read(e.id);
        expect(decided.status, label).toBe('succeeded');
        expect(decided.context.outcome, label).toMatchObject(want.decide.outcome);
      }
    });
  });

  describe('creation effort', () => {
    let table: CreationEffort[];
    beforeAll(async () => {
      table = await Promise.all(concrete.map((t) => creationEffort(t)));
      console.info(
        `Creation effort of the built-in use-case templates:\n${table
          .map(
            (r) =>
              `  ${r.id.padEnd(34)} required ${r.requiredFields}  optional ${String(r.optionalFields).padStart(2)}  resolved fields ${String(r.resolvedFields).padStart(4)}  bytes ${r.resolvedBytes}`,
          )
          .join('\n')}`,
      );
    });

    it('counts leaves as a person would type them', () => {
      expect(countLeaves({ a: 1, b: [true, 'x', null], c: {}, d: [] })).toBe(6);
    });

    it('asks far fewer fields of a user than the use case it makes', () => {
      expect(table.map((r) => r.id).sort()).toEqual(Object.keys(EXPECTED).sort());
      for (const row of table) {
        // Every variable has a default: a use case is one click away, and each is there to be tuned.
        expect(row.requiredFields, row.id).toBe(0);
        expect(row.optionalFields, row.id).toBeGreaterThanOrEqual(8);
        // Even a user who sets every variable writes under a tenth of the fields.
        expect((row.requiredFields + row.optionalFields) * 10, row.id).toBeLessThan(row.resolvedFields);
        expect(row.resolvedBytes, row.id).toBeGreaterThan(5_000);
      }
    });
  });
});

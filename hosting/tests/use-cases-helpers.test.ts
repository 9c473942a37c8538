// biome-ignore-all lint/suspicious/noThenProperty: `then` is the branch agent's config field, not a thenable.
/// <reference types="node" />
/** The pure helpers behind the use-case and template pages: tables of cases, no browser. */

import { describe, expect, test } from 'vitest';
import * as yaml from 'yaml';
import {
  parseConfigFile,
  toYaml as serverToYaml,
  useCaseToFile as serverUseCaseToFile,
} from '../../functions/src/orchestrators/use-cases/files.ts';
import { UseCaseBodySchema, UseCaseSchema } from '../../functions/src/orchestrators/use-cases/model.ts';
import type { TemplateDocument, TemplateVariable, UseCase } from '../src/lib/use-cases/api.ts';
import { chainIndex, configRows, formatValue, originOf } from '../src/lib/use-cases/config-tree.ts';
import { editableOf, editBody, editorText, parseEdited } from '../src/lib/use-cases/edit-body.ts';
import {
  SPEC_FIELDS,
  templateFileName,
  toYaml,
  useCaseFileName,
  useCaseToFile,
} from '../src/lib/use-cases/export.ts';
import {
  assignLayers,
  branchTargets,
  edgeLabelPoint,
  edgePath,
  graphSteps,
  layoutWorkflow,
  workflowEdges,
} from '../src/lib/use-cases/graph.ts';
import {
  emptyInputDraft,
  inputDraftFrom,
  inputForm,
  RAW_FIELD,
  readInputDraft,
  readInputField,
} from '../src/lib/use-cases/input-form.ts';
import {
  formatPointer,
  inputFieldOf,
  parsePointer,
  placeProblems,
  problemPointer,
  stepLocation,
  valueAt,
  wizardField,
} from '../src/lib/use-cases/pointers.ts';
import { startFromSkeleton, variantId, yamlString } from '../src/lib/use-cases/start-from.ts';
import {
  clientProblems,
  lineAt,
  lineStart,
  locateProblems,
  MAX_SOURCE_BYTES,
  type ParsedSource,
  parseTemplateSource,
  utf8Length,
  withLines,
} from '../src/lib/use-cases/template-source.ts';
import { inlineCode } from '../src/lib/use-cases/text.ts';
import {
  humanize,
  initialDraft,
  readVariable,
  readVariables,
  toSupply,
  useCaseIdFrom,
  useCaseIdProblem,
  variableFields,
} from '../src/lib/use-cases/variables-form.ts';

/** The claims-triage shape: a rule score, a branch to auto-approve or review (with an optional summary), a join. */
const TRIAGE = {
  steps: [
    { id: 'intake', agent: 'validate', inputs: { documents: 'input.documents' }, output: 'intakeCheck' },
    {
      id: 'score',
      agent: 'rules',
      inputs: { amount: 'input.amount', intake: 'intakeCheck' },
      output: 'risk',
    },
    {
      id: 'route',
      agent: 'branch',
      inputs: { risk: 'risk', summaries: 'vars.adjusterSummary' },
      output: 'routing',
      config: {
        cases: [
          { when: "risk.decision = 'review' and summaries", then: ['summarise', 'adjusterReview'] },
          { when: "risk.decision = 'review'", then: ['adjusterReview'] },
        ],
        otherwise: ['autoApprove'],
      },
    },
    { id: 'autoApprove', agent: 'transform', inputs: { amount: 'input.amount' }, output: 'approval' },
    { id: 'summarise', agent: 'llm', inputs: { claim: 'input', risk: 'risk' }, output: 'summary' },
    {
      id: 'adjusterReview',
      agent: 'human',
      join: 'any',
      inputs: { risk: 'risk', summary: 'summary' },
      output: 'adjusterDecision',
    },
    {
      id: 'settle',
      agent: 'transform',
      join: 'any',
      inputs: { auto: 'approval', manual: 'adjusterDecision.decision', claimId: 'input.claimId' },
      output: 'outcome',
    },
  ],
};

describe('JSON pointers', () => {
  test.each([
    ['', []],
    ['/values/limit', ['values', 'limit']],
    ['/a~1b/~0c/0', ['a/b', '~c', '0']],
  ])('%j has the tokens %j, and back', (pointer, tokens) => {
    expect(parsePointer(pointer)).toEqual(tokens);
    expect(formatPointer(tokens)).toBe(pointer);
  });

  test.each([
    ['/values/limit', '/values/limit'],
    ['body.values.limit', '/values/limit'],
    ['body.id', '/id'],
    ['body', ''],
    ['', ''],
    ['body.input.documents.0', '/input/documents/0'],
    ['query.dryRun', undefined],
    ['params.useCase', undefined],
  ])('the problem path %j reads as the pointer %j', (path, pointer) => {
    expect(problemPointer(path)).toBe(pointer);
  });

  test('valueAt follows objects and list indexes, and answers undefined past the end', () => {
    const root = { workflow: { steps: [{ id: 'a', config: { 'x/y': 1 } }] } };
    expect(valueAt(root, '/workflow/steps/0/id')).toBe('a');
    expect(valueAt(root, '/workflow/steps/0/config/x~1y')).toBe(1);
    expect(valueAt(root, '/workflow/steps/1')).toBeUndefined();
    expect(valueAt(root, '/workflow/steps/01')).toBeUndefined();
    expect(valueAt(root, '/nothing/here')).toBeUndefined();
    expect(valueAt(root, '')).toBe(root);
  });
});

describe('where a problem shows', () => {
  test.each([
    ['/values/threshold', { kind: 'value', name: 'threshold' }],
    ['/values/threshold/0', { kind: 'value', name: 'threshold' }],
    ['/id', { kind: 'id' }],
    ['/name', { kind: 'name' }],
    ['/values', undefined],
    ['/spec/workflow/steps/2/config', undefined],
    ['/template', undefined],
  ])('a wizard problem at %j belongs to %j', (pointer, field) => {
    expect(wizardField(pointer)).toEqual(field);
  });

  test.each([
    ['/workflow/steps/2/config/expression', { index: 2, field: '/config/expression' }],
    ['/workflow/steps/0', { index: 0, field: '' }],
    ['/workflow/steps/10/inputs/amount', { index: 10, field: '/inputs/amount' }],
    ['/workflow/steps', undefined],
    ['/workflow/steps/x/id', undefined],
    ['/workflow/inputSchema/properties', undefined],
    ['/secrets/0', undefined],
  ])('an editor problem at %j is in step %j', (pointer, location) => {
    expect(stepLocation(pointer)).toEqual(location);
  });

  test('a template problem is found below its own base', () => {
    expect(stepLocation('/spec/workflow/steps/3/config', '/spec/workflow')).toEqual({
      index: 3,
      field: '/config',
    });
  });

  test.each([
    ['body.input.amount', 'amount'],
    ['body.input.documents.0', 'documents'],
    ['body.input', undefined],
    ['body.useCaseId', undefined],
    ['/input/amount', 'amount'],
  ])('a refused start at %j names the input field %j', (path, field) => {
    expect(inputFieldOf(path)).toBe(field);
  });

  test('placeProblems files each problem under its key, in order, and keeps the rest for a summary', () => {
    const { placed, others } = placeProblems(
      [
        { path: '/values/limit', message: 'limit must be at least 0' },
        { path: 'body.id', message: 'lower-case letters' },
        { path: '/values/limit', message: 'and another' },
        { path: '/spec/workflow/steps/2/config', message: 'branch target "x" is not a step' },
        { path: 'query.dryRun', message: 'bad' },
      ],
      (pointer) => {
        const field = wizardField(pointer);
        return field?.kind === 'value' ? field.name : field ? `#${field.kind}` : undefined;
      },
    );
    expect(Object.fromEntries([...placed].map(([key, list]) => [key, list.map((p) => p.message)]))).toEqual({
      limit: ['limit must be at least 0', 'and another'],
      '#id': ['lower-case letters'],
    });
    expect(others).toEqual([
      { pointer: '/spec/workflow/steps/2/config', message: 'branch target "x" is not a step' },
      { pointer: 'query.dryRun', message: 'bad' },
    ]);
  });
});

describe('workflow graph', () => {
  test('branch targets carry the cases that choose them', () => {
    expect(branchTargets(TRIAGE.steps[2]?.config)).toEqual([
      { id: 'summarise', label: 'case 1' },
      { id: 'adjusterReview', label: 'case 1, case 2' },
      { id: 'autoApprove', label: 'otherwise' },
    ]);
    expect(branchTargets(undefined)).toEqual([]);
    expect(branchTargets({ cases: 'nope', otherwise: [3, 'a'] })).toEqual([{ id: 'a', label: 'otherwise' }]);
  });

  test('edges come from input producers (not input. or vars.), after lists and branch targets', () => {
    const edges = workflowEdges(graphSteps(TRIAGE));
    const named = edges.map(
      (e) => `${TRIAGE.steps[e.from]?.id}→${TRIAGE.steps[e.to]?.id} ${e.kinds.join('+')} ${e.label}`,
    );
    expect(named).toEqual([
      'intake→score data intake',
      'score→route data risk',
      'route→autoApprove branch otherwise',
      'score→summarise data risk',
      'route→summarise branch case 1',
      'score→adjusterReview data risk',
      'route→adjusterReview branch case 1, case 2',
      'summarise→adjusterReview data summary',
      'autoApprove→settle data auto',
      'adjusterReview→settle data manual',
    ]);
  });

  test('layers put every step below what it depends on: branches fan out, joins come together', () => {
    const layout = layoutWorkflow(TRIAGE);
    const layerOf = Object.fromEntries(layout.nodes.map((n) => [n.id, n.layer]));
    expect(layerOf).toEqual({
      intake: 0,
      score: 1,
      route: 2,
      autoApprove: 3,
      summarise: 3,
      adjusterReview: 4,
      settle: 5,
    });
    for (const edge of layout.edges) {
      expect(layout.nodes[edge.to]?.layer).toBeGreaterThan(layout.nodes[edge.from]?.layer ?? Infinity);
    }
    const byId = Object.fromEntries(layout.nodes.map((n) => [n.id, n]));
    expect(byId.route?.branch).toBe(true);
    expect(byId.settle?.join).toBe('any');
    expect(byId.adjusterReview?.join).toBe('any');
    expect(byId.score?.join).toBeUndefined();
    expect(layout.layers.map((row) => row.length)).toEqual([1, 1, 1, 2, 1, 1]);
  });

  test('nodes do not overlap, and the drawing is as wide as the widest layer', () => {
    const layout = layoutWorkflow(TRIAGE, { nodeWidth: 100, nodeHeight: 40, gapX: 20, gapY: 30 });
    expect(layout.width).toBe(220);
    expect(layout.height).toBe(6 * 40 + 5 * 30);
    const [a, b] = (layout.layers[3] ?? []).map((i) => layout.nodes[i]);
    expect(Math.abs((a?.x ?? 0) - (b?.x ?? 0))).toBe(120);
    expect(layout.nodes[0]?.x).toBe(60);
    for (const node of layout.nodes) expect(node.y).toBe(node.layer * 70);
  });

  test('edge paths run from the bottom of one node to the top of the next', () => {
    const layout = layoutWorkflow(TRIAGE, { nodeWidth: 100, nodeHeight: 40, gapX: 20, gapY: 30 });
    const first = layout.edges[0];
    if (!first) throw new Error('no edge');
    expect(edgePath(layout, first)).toBe('M110,40 C110,64 110,46 110,70');
    const label = edgeLabelPoint(layout, first);
    expect(label.x).toBe(110);
    expect(label.y).toBeGreaterThan(40);
    expect(label.y).toBeLessThan(70);
  });

  test('a cycle is drawn in a last layer, marked, instead of looping', () => {
    const steps = [
      { id: 'a', agent: 'transform', inputs: { x: 'input.x' }, output: 'ao' },
      { id: 'b', agent: 'transform', inputs: { c: 'co' }, output: 'bo' },
      { id: 'c', agent: 'transform', inputs: { b: 'bo' }, output: 'co' },
    ];
    const layout = layoutWorkflow({ steps });
    expect(layout.nodes.map((n) => [n.id, n.layer, n.cyclic])).toEqual([
      ['a', 0, false],
      ['b', 1, true],
      ['c', 1, true],
    ]);
    expect(assignLayers(0, [])).toEqual({ layer: [], cyclic: [] });
  });

  test('a draft is drawn as far as it can be: junk steps, unknown producers, no steps', () => {
    const layout = layoutWorkflow({
      steps: [
        null,
        { id: 'x', agent: 'transform', inputs: { a: 'nowhere.field', b: 3 }, after: ['ghost', 'x'] },
      ],
    });
    expect(layout.nodes.map((n) => [n.id, n.layer])).toEqual([
      ['step 0', 0],
      ['x', 0],
    ]);
    expect(layout.edges).toEqual([]);
    expect(layoutWorkflow('not a workflow')).toMatchObject({ nodes: [], edges: [], width: 0, height: 0 });
  });

  test('after edges and data edges between the same steps make one edge with both reasons', () => {
    const edges = workflowEdges(
      graphSteps({
        steps: [
          { id: 'a', agent: 't', output: 'ao' },
          { id: 'b', agent: 't', inputs: { a: 'ao.x' }, after: ['a'], output: 'bo' },
        ],
      }),
    );
    expect(edges).toEqual([{ from: 0, to: 1, kinds: ['data', 'after'], label: 'a' }]);
  });
});

const VARIABLES: Record<string, TemplateVariable> = {
  retentionDays: {
    type: 'number',
    integer: true,
    minimum: 1,
    maximum: 365,
    default: 7,
    description: 'Days kept',
  },
  priority: { type: 'enum', values: ['high', 'normal', 'low'], default: 'normal', description: '' },
  threshold: { type: 'number', integer: false, minimum: 0, description: 'Score that holds a case' },
  apiKey: { type: 'secret', description: 'Key of the scoring service', label: 'Scoring API key' },
  region: { type: 'string', pattern: '[A-Z]{2}', maxLength: 2, multiline: false, description: '' },
  notes: { type: 'string', maxLength: 1000, multiline: true, description: '', required: false },
  summaries: { type: 'boolean', default: false, description: '' },
  history: { type: 'dataset', default: 'claims-history', description: '' },
};

describe('the form generated from a template’s variables', () => {
  const fields = variableFields(VARIABLES);
  const byName = Object.fromEntries(fields.map((f) => [f.name, f]));

  test('fields to supply come first; each type gets its control, label, hint and required mark', () => {
    expect(fields.map((f) => [f.name, f.control, f.required])).toEqual([
      ['threshold', 'number', true],
      ['apiKey', 'text', true],
      ['region', 'text', true],
      ['retentionDays', 'number', false],
      ['priority', 'select', false],
      ['notes', 'textarea', false],
      ['summaries', 'checkbox', false],
      ['history', 'text', false],
    ]);
    expect(byName.retentionDays?.hint).toBe('a whole number, 1–365');
    expect(byName.threshold?.hint).toBe('a number, at least 0');
    expect(byName.apiKey?.label).toBe('Scoring API key');
    expect(byName.apiKey?.hint).toContain('NAME of a secret');
    expect(byName.retentionDays?.label).toBe('Retention days');
    expect(byName.priority?.options).toEqual(['high', 'normal', 'low']);
    expect(byName.threshold?.help).toBe('Score that holds a case');
  });

  test('defaults are prefilled; the rest start empty', () => {
    expect(initialDraft(fields)).toEqual({
      threshold: '',
      apiKey: '',
      region: '',
      retentionDays: '7',
      priority: 'normal',
      notes: '',
      summaries: false,
      history: 'claims-history',
    });
  });

  test.each([
    ['threshold', '', { error: 'required' }],
    ['threshold', ' 12.5 ', { value: 12.5 }],
    ['threshold', '-1', { value: -1, error: 'must be at least 0' }],
    ['threshold', 'lots', { value: 'lots', error: 'must be a number' }],
    ['retentionDays', '', {}],
    ['retentionDays', '2.5', { value: 2.5, error: 'must be a whole number' }],
    ['retentionDays', '400', { value: 400, error: 'must be at most 365' }],
    ['apiKey', 'SCORING_KEY', { value: 'SCORING_KEY' }],
    ['apiKey', 'sk-live-123', { value: 'sk-live-123', error: expect.stringContaining('secret NAME') }],
    ['region', 'EU', { value: 'EU' }],
    // Patterns are the server's to check (on RE2): a backtracking one must not hang the tab.
    ['region', 'eu', { value: 'eu' }],
    ['region', 'EUR', { value: 'EUR', error: 'is longer than 2 characters' }],
    ['priority', 'urgent', { value: 'urgent', error: 'must be one of high, normal, low' }],
    ['notes', '', {}],
    ['summaries', true, { value: true }],
    ['summaries', false, { value: false }],
    [
      'history',
      'Claims History',
      { value: 'Claims History', error: expect.stringContaining('dataset name') },
    ],
    ['history', 'claims-history@3', { value: 'claims-history@3' }],
  ] as const)('%s typed as %j reads %j', (name, typed, read) => {
    const field = byName[name];
    if (!field) throw new Error(name);
    expect(readVariable(field, typed)).toEqual(read);
  });

  test('readVariables makes the values to send and the errors the client already sees', () => {
    const draft = {
      ...initialDraft(fields),
      threshold: '-3',
      apiKey: 'KEY',
      region: 'DE',
      retentionDays: '',
    };
    expect(readVariables(fields, draft)).toEqual({
      values: {
        threshold: -3,
        apiKey: 'KEY',
        region: 'DE',
        priority: 'normal',
        summaries: false,
        history: 'claims-history',
      },
      errors: { threshold: 'must be at least 0' },
    });
  });

  test.each([
    ['Claims triage (EU)', 'claims-triage-eu'],
    ['  Fraud — screening ', 'fraud-screening'],
    ['Réclamations', 'reclamations'],
    ['---', ''],
    ['x'.repeat(70), 'x'.repeat(63)],
    [`${'a'.repeat(62)} b`, 'a'.repeat(62)],
  ])('the id suggested for %j is %j', (name, id) => {
    expect(useCaseIdFrom(name)).toBe(id);
    if (id !== '') expect(useCaseIdProblem(id)).toBeUndefined();
  });

  test.each([
    ['', 'required'],
    ['Claims', expect.stringContaining('lower-case')],
    ['-claims', expect.stringContaining('lower-case')],
    ['claims-2', undefined],
  ])('the id %j: %j', (id, problem) => {
    expect(useCaseIdProblem(id)).toEqual(problem);
  });

  test('cards say how much work a template is', () => {
    expect(toSupply({ requiredVariables: 2, variables: 9 })).toBe('2 of 9 fields to supply');
    expect(toSupply({ requiredVariables: 0, variables: 1 })).toBe('0 of 1 field to supply');
    expect(humanize('llmProvider')).toBe('Llm provider');
  });
});

const CLAIM_SCHEMA = {
  type: 'object',
  properties: {
    claimId: { type: 'string', minLength: 1, maxLength: 8, title: 'Claim', description: 'The claim number' },
    lineOfBusiness: { type: 'string', enum: ['motor', 'home'] },
    amount: { type: 'number', exclusiveMinimum: 0 },
    priorClaims: { type: 'integer', minimum: 0 },
    incidentDate: { type: 'string', format: 'date' },
    policeReportRef: { type: ['string', 'null'] },
    urgent: { type: 'boolean' },
    confirmed: { type: 'boolean' },
    documents: { type: 'array', items: { type: 'string' } },
    address: { type: 'object', properties: { city: { type: 'string' } } },
    code: { type: 'string', pattern: '^[A-Z]+$', default: 'AB' },
  },
  required: ['claimId', 'lineOfBusiness', 'amount', 'documents', 'confirmed'],
};

describe('the form generated from a use case’s input schema', () => {
  const form = inputForm(CLAIM_SCHEMA);
  const byName = Object.fromEntries(form.fields.map((f) => [f.name, f]));

  test('each property gets a control by type; nested objects and lists are JSON', () => {
    expect(form.raw).toBe(false);
    expect(form.fields.map((f) => [f.name, f.control, f.required])).toEqual([
      ['claimId', 'text', true],
      ['lineOfBusiness', 'select', true],
      ['amount', 'number', true],
      ['priorClaims', 'number', false],
      ['incidentDate', 'text', false],
      ['policeReportRef', 'text', false],
      ['urgent', 'select', false],
      ['confirmed', 'checkbox', true],
      ['documents', 'json', true],
      ['address', 'json', false],
      ['code', 'text', false],
    ]);
    expect(byName.claimId?.label).toBe('Claim');
    expect(byName.claimId?.help).toBe('The claim number');
    expect(byName.claimId?.hint).toBe('1–8 characters');
    expect(byName.amount?.hint).toBe('number > 0');
    expect(byName.priorClaims?.hint).toBe('whole number ≥ 0');
    expect(byName.incidentDate?.hint).toBe('date (YYYY-MM-DD)');
    expect(byName.documents?.hint).toContain('JSON list');
    expect(byName.urgent?.options).toEqual([true, false]);
    expect(byName.policeReportRef?.nullable).toBe(true);
  });

  test.each([
    [undefined],
    [{ type: 'array', items: {} }],
    [{ type: 'object' }],
    [{ type: 'string', properties: { a: {} } }],
  ])('the schema %j makes a raw JSON form', (schema) => {
    const raw = inputForm(schema as Record<string, unknown> | undefined);
    expect(raw).toEqual({ fields: [], raw: true });
    expect(emptyInputDraft(raw)).toEqual({ [RAW_FIELD]: '{}' });
    expect(readInputDraft(raw, { [RAW_FIELD]: '[1, 2]' })).toEqual({ input: [1, 2], errors: {} });
    expect(readInputDraft(raw, { [RAW_FIELD]: '' })).toEqual({ input: {}, errors: {} });
    expect(readInputDraft(raw, { [RAW_FIELD]: '{' }).errors[RAW_FIELD]).toMatch(/^not JSON/);
  });

  test('defaults prefill; a sample fills every field it has', () => {
    expect(emptyInputDraft(form)).toMatchObject({ code: 'AB', claimId: '', confirmed: false, urgent: '' });
    const sample = {
      claimId: 'C-1',
      lineOfBusiness: 'home',
      amount: 380,
      priorClaims: 0,
      incidentDate: '2026-02-11',
      policeReportRef: null,
      urgent: false,
      confirmed: true,
      documents: ['claim-form', 'photo'],
    };
    const draft = inputDraftFrom(form, sample);
    expect(draft).toEqual({
      claimId: 'C-1',
      lineOfBusiness: '"home"',
      amount: '380',
      priorClaims: '0',
      incidentDate: '2026-02-11',
      policeReportRef: '',
      urgent: 'false',
      confirmed: true,
      documents: '[\n  "claim-form",\n  "photo"\n]',
      address: '',
      code: '',
    });
    const { policeReportRef: _null, ...rest } = sample;
    expect(readInputDraft(form, draft)).toEqual({ input: rest, errors: {} });
  });

  test.each([
    ['claimId', '', { error: 'required' }],
    ['claimId', 'C-123456789', { value: 'C-123456789', error: 'must be at most 8 characters' }],
    ['amount', '0', { value: 0, error: 'must be more than 0' }],
    ['amount', 'ten', { value: 'ten', error: 'must be a number' }],
    ['priorClaims', '1.5', { value: 1.5, error: 'must be a whole number' }],
    ['priorClaims', '', {}],
    ['incidentDate', 'yesterday', { value: 'yesterday' }],
    ['policeReportRef', '', {}],
    ['lineOfBusiness', '"car"', { error: 'choose one of the values offered' }],
    ['lineOfBusiness', '', { error: 'required' }],
    ['urgent', 'true', { value: true }],
    ['urgent', '', {}],
    ['documents', '["a"]', { value: ['a'] }],
    ['documents', '{"a": 1}', { value: { a: 1 }, error: 'must be array' }],
    ['documents', '[', { error: expect.stringMatching(/^not JSON/) }],
    ['documents', '', { error: 'required' }],
    ['code', 'ab', { value: 'ab' }],
  ] as const)('%s typed as %j reads %j', (name, typed, read) => {
    const field = byName[name];
    if (!field) throw new Error(name);
    expect(readInputField(field, typed)).toEqual(read);
  });

  test('a required nullable field sends null when left empty', () => {
    const nullable = inputForm({
      type: 'object',
      properties: { ref: { type: ['string', 'null'] } },
      required: ['ref'],
    });
    expect(readInputDraft(nullable, { ref: '' })).toEqual({ input: { ref: null }, errors: {} });
  });
});

describe('resolved configuration rows', () => {
  const spec = {
    contextTtlSeconds: 2_592_000,
    workflow: { vars: { currency: 'EUR' }, steps: [{ id: 'a', config: { limit: 10 } }] },
  };
  const origins = {
    '/spec': 'base@1.0.0',
    '/spec/contextTtlSeconds': 'leaf@1.2.0',
    '/spec/workflow': 'base@1.0.0',
    '/spec/workflow/vars': 'vertical@1.0.0',
    '/spec/workflow/vars/currency': 'vertical@1.0.0',
    '/spec/workflow/steps': 'leaf@1.2.0',
  };

  test('every value, depth first, with the template that set it (inherited from the nearest parent)', () => {
    const rows = configRows(spec, origins, '/spec');
    expect(rows.map((r) => [r.pointer, r.depth, r.kind, r.origin, r.overridden])).toEqual([
      ['/spec/contextTtlSeconds', 0, 'value', 'leaf@1.2.0', true],
      ['/spec/workflow', 0, 'object', 'base@1.0.0', false],
      ['/spec/workflow/vars', 1, 'object', 'vertical@1.0.0', true],
      ['/spec/workflow/vars/currency', 2, 'value', 'vertical@1.0.0', false],
      ['/spec/workflow/steps', 1, 'array', 'leaf@1.2.0', true],
      ['/spec/workflow/steps/0', 2, 'object', 'leaf@1.2.0', false],
      ['/spec/workflow/steps/0/id', 3, 'value', 'leaf@1.2.0', false],
      ['/spec/workflow/steps/0/config', 3, 'object', 'leaf@1.2.0', false],
      ['/spec/workflow/steps/0/config/limit', 4, 'value', 'leaf@1.2.0', false],
    ]);
    expect(rows[0]).toMatchObject({ key: 'contextTtlSeconds', value: 2_592_000 });
    expect(rows[1]).toMatchObject({ key: 'workflow', size: 2 });
    expect(configRows(spec, origins, '/spec', 3)).toHaveLength(3);
  });

  test('originOf walks up to the nearest recorded origin', () => {
    expect(originOf(origins, '/spec/workflow/steps/0/config')).toBe('leaf@1.2.0');
    expect(originOf(origins, '/spec/pool')).toBe('base@1.0.0');
    expect(originOf({}, '/spec/pool')).toBeUndefined();
  });

  test('chain positions colour the badges; values print short', () => {
    const chain = [
      { id: 'base', version: '1.0.0' },
      { id: 'leaf', version: '1.2.0' },
    ];
    expect(chainIndex(chain, 'leaf@1.2.0')).toBe(1);
    expect(chainIndex(chain, 'other@1.0.0')).toBe(-1);
    expect(chainIndex(chain, undefined)).toBe(-1);
    expect(formatValue('text')).toBe('text');
    expect(formatValue('')).toBe('""');
    expect(formatValue(null)).toBe('null');
    expect(formatValue({ a: [1] })).toBe('{"a":[1]}');
    expect(formatValue('x'.repeat(10), 5)).toBe('xxxx…');
  });
});

describe('template prose', () => {
  test.each([
    ['plain', [{ text: 'plain', code: false }]],
    [
      '`high` for payments, `low` too',
      [
        { text: 'high', code: true },
        { text: ' for payments, ', code: false },
        { text: 'low', code: true },
        { text: ' too', code: false },
      ],
    ],
    ['an ` unmatched tick', [{ text: 'an ` unmatched tick', code: false }]],
    ['', []],
  ])('%j splits into %j', (text, parts) => {
    expect(inlineCode(text)).toEqual(parts);
  });
});

describe('the use case editor’s JSON', () => {
  const saved = {
    id: 'claims',
    workspace: 'demo',
    version: 3,
    createdAt: 1,
    updatedAt: 2,
    archived: false,
    note: 'raised the limit',
    templateDeprecation: null,
    name: 'Claims',
    vertical: 'insurance',
    workflow: { steps: [{ id: 'a', agent: 'transform', output: 'x' }] },
  } as unknown as UseCase;

  test('shows what an author may change, not what the server sets', () => {
    expect(editableOf(saved)).toEqual({
      name: 'Claims',
      vertical: 'insurance',
      workflow: { steps: [{ id: 'a', agent: 'transform', output: 'x' }] },
    });
    expect(JSON.parse(editorText(saved))).toEqual(editableOf(saved));
  });

  test('sends the edit with its note and the version it was made on', () => {
    expect(editBody({ name: 'C', version: 9, id: 'other' }, '  why  ', 3)).toEqual({
      name: 'C',
      note: 'why',
      ifVersion: 3,
    });
    expect(editBody({ name: 'C' }, ' ', undefined)).toEqual({ name: 'C' });
  });

  test.each([
    ['{"name": "C"}', { ok: true, value: { name: 'C' } }],
    ['[1]', { ok: false, message: expect.stringContaining('a JSON object') }],
    ['null', { ok: false, message: expect.stringContaining('a JSON object') }],
    ['{"name":', { ok: false, message: expect.stringMatching(/^Not JSON/) }],
  ])('%j parses as %j', (text, parsed) => {
    expect(parseEdited(text)).toEqual(parsed);
  });
});

/** The problems of a source that did not read (fails the test when it did). */
function refused(parsed: ParsedSource) {
  if (parsed.ok) throw new Error('expected the source to be refused');
  return parsed.problems;
}

/** The value and line lookup of a source that read (fails the test when it did not). */
function read(parsed: ParsedSource) {
  if (!parsed.ok) throw new Error(`expected the source to read: ${JSON.stringify(parsed.problems)}`);
  return parsed;
}

describe('a template’s source, read in the browser', () => {
  const SOURCE = [
    'apiVersion: seraphim.dev/v1', // 1
    'kind: Template', // 2
    'metadata:', // 3
    '  id: my-claims', // 4
    '  version: 1.0', // 5
    '  tags: [claims, eu]', // 6
    'extends: { id: insurance-claims-triage, version: 1.0.0 }', // 7
    'variables:', // 8
    '  autoApproveLimit:', // 9
    '    default: 1500', // 10
    'samples:', // 11
    '  - name: small', // 12
    '    input:', // 13
    '      amount: 10', // 14
    '',
  ].join('\n');

  test('YAML reads as the value the server is sent: `1.0` is a number, which the schema then refuses', () => {
    const parsed = read(parseTemplateSource(SOURCE, yaml));
    expect(parsed.format).toBe('yaml');
    expect(parsed.value).toMatchObject({
      kind: 'Template',
      metadata: { id: 'my-claims', version: 1, tags: ['claims', 'eu'] },
      extends: { id: 'insurance-claims-triage', version: '1.0.0' },
    });
  });

  test.each([
    ['/metadata/version', 5],
    ['/metadata/tags/1', 6],
    ['/extends/version', 7],
    // A mapping's value names its key's line, not the line below where the mapping starts.
    ['/variables/autoApproveLimit', 9],
    ['/variables/autoApproveLimit/default', 10],
    ['/samples/0', 12],
    ['/samples/0/input/amount', 14],
    // What the source does not hold: its nearest enclosing key.
    ['/metadata/name', 3],
    ['/samples/3/input', 11],
    ['/variables/autoApproveLimit/default/x', 10],
    // Nothing matched at all, or the whole document: no line.
    ['/spec/workflow', undefined],
    ['', undefined],
  ])('%s is on line %s', (pointer, line) => {
    expect(read(parseTemplateSource(SOURCE, yaml)).lineOf(pointer)).toBe(line);
  });

  test('JSON reads as JSON, with the lines of its keys; a syntax error says its line', () => {
    const json = '{\n  "kind": "Template",\n  "metadata": {\n    "id": "x",\n    "version": "1"\n  }\n}\n';
    const parsed = read(parseTemplateSource(json, yaml));
    expect(parsed.format).toBe('json');
    expect(parsed.value).toEqual({ kind: 'Template', metadata: { id: 'x', version: '1' } });
    expect(parsed.lineOf('/metadata/version')).toBe(5);
    const broken = refused(parseTemplateSource('{\n  "kind": "Template",\n  "metadata": {\n}', yaml));
    expect(broken).toEqual([{ pointer: '', message: expect.stringMatching(/^Not valid JSON/), line: 4 }]);
  });

  test('a byte-order mark is dropped; anchors and a few aliases are fine', () => {
    const parsed = read(parseTemplateSource('\uFEFFbase: &b { a: 1 }\none: *b\ntwo: *b\n', yaml));
    expect(parsed.value).toEqual({ base: { a: 1 }, one: { a: 1 }, two: { a: 1 } });
  });

  test('an alias bomb is refused at once, not expanded', () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 10; i++) {
      const name = String.fromCharCode(97 + i);
      const previous = String.fromCharCode(96 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]`);
    }
    const started = performance.now();
    const problems = refused(parseTemplateSource(levels.join('\n'), yaml));
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(problems).toEqual([
      { pointer: '', message: expect.stringMatching(/^YAML refused: Excessive alias count/) },
    ]);
  });

  test.each([
    ['a duplicate key', 'a: 1\nb: 2\na: 3\n', /^Not valid YAML: Map keys must be unique/, 3],
    ['a YAML 1.1 tag', 'a: 1\nb: !!set { x }\n', /^YAML refused: Unresolved tag: tag:yaml.org,2002:set/, 2],
    ['a custom tag', 'a: !custom 3\n', /^YAML refused: Unresolved tag: !custom/, 1],
    ['bad indentation', 'a:\n  b: 1\n c: 2\n', /^Not valid YAML/, 3],
    ['two documents', 'a: 1\n---\nb: 2\n', /^2 documents: publish one template at a time/, 3],
  ])('%s is refused, with its line', (_, source, message, line) => {
    const [first] = refused(parseTemplateSource(source, yaml));
    expect(first).toEqual({ pointer: '', message: expect.stringMatching(message), line });
  });

  test.each([
    ['', /^Nothing to read/],
    ['  \n\n', /^Nothing to read/],
    ['# only a comment\n', /^Nothing to read/],
    [`a: "${'x'.repeat(MAX_SOURCE_BYTES)}"`, /bytes; a template's source may have at most 1048576$/],
  ])('%#: an empty or oversized source is refused', (source, message) => {
    expect(refused(parseTemplateSource(source, yaml))).toEqual([
      { pointer: '', message: expect.stringMatching(message) },
    ]);
  });

  test('what the browser sees is wrong before asking the server', () => {
    expect(clientProblems([1])).toEqual([{ pointer: '', message: expect.stringContaining('not a list') }]);
    expect(clientProblems('text')).toEqual([
      { pointer: '', message: expect.stringContaining('not a single value') },
    ]);
    expect(clientProblems({ kind: 'UseCase', metadata: { id: 'x' } })).toEqual([
      { pointer: '/kind', message: expect.stringContaining('a use case file') },
    ]);
    expect(clientProblems({ kind: 'Template', metadata: { id: 'publish' } })).toEqual([
      { pointer: '/metadata/id', message: expect.stringContaining('the address of a Mission Control page') },
    ]);
    expect(clientProblems({ kind: 'Template', metadata: { id: 'mine' } })).toEqual([]);
  });

  test('the server’s problems get their lines: pointers and dotted body paths alike', () => {
    const { lineOf } = read(parseTemplateSource(SOURCE, yaml));
    expect(
      locateProblems(
        [
          { path: 'body.metadata.version', message: 'expected string, received number' },
          { path: '/variables/autoApproveLimit/default', message: 'too low' },
          { path: '/spec/workflow/steps/2', message: 'unknown agent' },
          { path: 'body', message: 'not an object' },
          { path: 'query.dryRun', message: 'bad' },
        ],
        lineOf,
      ),
    ).toEqual([
      { pointer: '/metadata/version', message: 'expected string, received number', line: 5 },
      { pointer: '/variables/autoApproveLimit/default', message: 'too low', line: 10 },
      { pointer: '/spec/workflow/steps/2', message: 'unknown agent' },
      { pointer: '', message: 'not an object' },
      { pointer: 'query.dryRun', message: 'bad' },
    ]);
    expect(
      withLines(
        [
          { pointer: '/kind', message: 'm' },
          { pointer: '', message: 'n' },
        ],
        lineOf,
      ),
    ).toEqual([
      { pointer: '/kind', message: 'm', line: 2 },
      { pointer: '', message: 'n' },
    ]);
  });

  test('bytes, lines and line starts', () => {
    for (const text of ['abc', 'é', '€', '😀', 'a\uD800b', `x${'ü'.repeat(10)}`])
      expect(utf8Length(text), text).toBe(Buffer.byteLength(text));
    expect(lineAt('a\nb\nc', 0)).toBe(1);
    expect(lineAt('a\nb\nc', 2)).toBe(2);
    expect(lineAt('a\nb\nc', 4)).toBe(3);
    expect(lineStart('ab\ncd\nef', 1)).toBe(0);
    expect(lineStart('ab\ncd\nef', 3)).toBe(6);
    expect(lineStart('ab\ncd\nef', 9)).toBe(8);
  });
});

describe('"Start from …": a variant of a library template', () => {
  const base = {
    id: 'insurance-claims-triage',
    version: '1.0.0',
    name: 'Claims triage',
    vertical: 'insurance',
    tags: ['claims', 'triage'],
  };
  const variables: Record<string, TemplateVariable> = {
    autoApproveLimit: {
      type: 'number',
      default: 2500,
      minimum: 0,
      description: 'Payouts up to this\nare approved',
    },
    reviewTeam: { type: 'enum', values: ['claims-adjuster', 'senior'], default: 'claims-adjuster' },
    apiKey: { type: 'secret', required: false },
  };

  test('extends the template at its current version, with metadata of its own to fill in', () => {
    const text = startFromSkeleton(base, variables, ['my-insurance-claims-triage']);
    expect(yaml.parse(text)).toEqual({
      apiVersion: 'seraphim.dev/v1',
      kind: 'Template',
      metadata: {
        id: 'my-insurance-claims-triage-2',
        version: '1.0.0',
        name: 'Claims triage (variant)',
        vertical: 'insurance',
        tags: ['claims', 'triage'],
        description: '',
        changelog: 'First version, from insurance-claims-triage@1.0.0',
      },
      extends: { id: 'insurance-claims-triage', version: '1.0.0' },
    });
    // A template the server's own file reader accepts as it is.
    expect(parseConfigFile('variant.yaml', text)).toEqual([
      { kind: 'Template', template: expect.objectContaining({ extends: { id: base.id, version: '1.0.0' } }) },
    ]);
  });

  test('the inherited defaults are comments, ready to uncomment', () => {
    const text = startFromSkeleton(base, variables);
    expect(text).toContain(
      '#   autoApproveLimit: { default: 2500 }  # number: Payouts up to this are approved',
    );
    expect(text).toContain('#   reviewTeam: { default: claims-adjuster }  # enum');
    expect(text).not.toContain('apiKey');
    const uncommented = text
      .replace('# variables:', 'variables:')
      .replace('#   autoApproveLimit', '  autoApproveLimit');
    expect(yaml.parse(uncommented).variables).toEqual({ autoApproveLimit: { default: 2500 } });
    // With no defaults to change, no variables block at all.
    expect(startFromSkeleton(base)).not.toContain('variables');
  });

  test.each([
    'true',
    'No',
    'null',
    '~',
    '123',
    '1.5',
    'a: b',
    '#x',
    'x #y',
    '-x',
    '[a]',
    'x,y',
    ' x',
    'é',
    '',
  ])('the string %j is quoted where plain YAML would misread it', (value) => {
    expect(yaml.parse(`v: ${yamlString(value)}`)).toEqual({ v: value });
  });

  test.each(['insurance', 'Claims triage (variant)', '1.0.0', 'a'])('%j stays plain', (value) => {
    expect(yamlString(value)).toBe(value);
    expect(yaml.parse(`v: ${value}`)).toEqual({ v: value });
  });

  test('a variant id is the base’s, made mine, never one taken, at most 63 characters', () => {
    expect(variantId('fraud')).toBe('my-fraud');
    expect(variantId('fraud', ['my-fraud', 'my-fraud-2'])).toBe('my-fraud-3');
    const long = 'x'.repeat(63);
    expect(variantId(long)).toBe(`my-${'x'.repeat(60)}`);
    expect(variantId(long, [`my-${'x'.repeat(60)}`])).toBe(`my-${'x'.repeat(58)}-2`);
    expect(variantId(`${'a'.repeat(59)}-b`)).toBe(`my-${'a'.repeat(59)}`);
  });
});

describe('export as YAML: the files `seraphim apply` reads', () => {
  /** A use case as `get` answers it (keys in any order): made from a template, on a deprecated version. */
  const fixture = {
    workspace: 'demo',
    id: 'claims-eu',
    version: 3,
    name: 'Claims EU',
    description: 'Claims triage for the EU',
    template: { id: 'insurance-claims-triage', version: '1.0.0', values: { autoApproveLimit: 1000 } },
    pool: { priority: 'normal' },
    vertical: 'insurance',
    tags: ['claims'],
    workflow: { steps: [{ id: 'score', agent: 'rules', config: { rules: [] }, output: 'risk' }] },
    contextTtlSeconds: 604800,
    secrets: [],
    datasets: [],
    metrics: [{ id: 'approved', description: '', goal: 'maximize' }],
    createdAt: 1,
    updatedAt: 2,
    archived: false,
    note: 'raised the limit',
    templateDeprecation: { message: 'use 1.1.0', at: 3 },
  } as unknown as UseCase;

  const expected = {
    apiVersion: 'seraphim.dev/v1',
    kind: 'UseCase',
    metadata: { id: 'claims-eu', name: 'Claims EU', description: 'Claims triage for the EU' },
    template: { id: 'insurance-claims-triage', version: '1.0.0', values: { autoApproveLimit: 1000 } },
    spec: {
      vertical: 'insurance',
      tags: ['claims'],
      workflow: { steps: [{ id: 'score', agent: 'rules', config: { rules: [] }, output: 'risk' }] },
      contextTtlSeconds: 604800,
      secrets: [],
      datasets: [],
      metrics: [{ id: 'approved', description: '', goal: 'maximize' }],
      pool: { priority: 'normal' },
    },
  };

  /** The fixture as the API answers it: through the server's schema, every default filled in. */
  const answered = () => UseCaseSchema.parse(fixture) as unknown as UseCase;

  test('a use case maps to its file: metadata, template, and the body’s other fields in the schema’s order', () => {
    const file = useCaseToFile(fixture);
    expect(file).toStrictEqual(expected);
    expect(Object.keys(file)).toEqual(['apiVersion', 'kind', 'metadata', 'template', 'spec']);
    expect(Object.keys(file.spec)).toEqual(Object.keys(expected.spec));
  });

  test('the same file as the server’s useCaseToFile, from the same use case', () => {
    expect(useCaseToFile(answered())).toStrictEqual(serverUseCaseToFile(answered() as never));
    // The spec's fields are the body schema's, less what the file holds apart.
    expect(SPEC_FIELDS).toEqual(
      Object.keys(UseCaseBodySchema.shape).filter(
        (key) => !['id', 'name', 'description', 'template'].includes(key),
      ),
    );
  });

  test('written as the server writes it, and read back by its file reader', () => {
    const text = toYaml([useCaseToFile(answered())], yaml);
    expect(text).toBe(serverToYaml([serverUseCaseToFile(answered() as never)]));
    const [read] = parseConfigFile('claims-eu.yaml', toYaml([useCaseToFile(fixture)], yaml));
    expect(read).toEqual({ kind: 'UseCase', useCase: expected });
    expect(toYaml([{ a: 1 }, { b: 2 }], yaml)).toBe('a: 1\n---\nb: 2\n');
    expect(useCaseFileName('claims-eu')).toBe('claims-eu.yaml');
  });

  test('a use case written by hand has no template block; a cache setting is kept', () => {
    const { template: _, ...byHand } = fixture as unknown as Record<string, unknown>;
    const file = useCaseToFile({ ...byHand, cache: { ttlSeconds: 60 } } as unknown as UseCase);
    expect(file).not.toHaveProperty('template');
    expect(file.spec).toStrictEqual({ ...expected.spec, cache: { ttlSeconds: 60 } });
  });

  test('a template exports to <id>-<version>.yaml', () => {
    const template = { metadata: { id: 'eu-claims', version: '1.1.0' } } as unknown as TemplateDocument;
    expect(templateFileName(template)).toBe('eu-claims-1.1.0.yaml');
  });
});

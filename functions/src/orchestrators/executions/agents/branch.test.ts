import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../../platform/errors.js';
import { configIssues, runAgent } from '../../../test-support/agent-call.js';
import { BranchConfigSchema, branchAgent } from './branch.js';

/** One case; `then` is a plain array, never a thenable. */
const when = (condition: string, ...targets: string[]) => ({
  when: condition,
  then: targets,
});

const triage = {
  cases: [
    when('score >= 70', 'escalate', 'notify'),
    when('score >= 40', 'review'),
    when('flagged = true', 'notify', 'audit'),
  ],
  otherwise: ['autoApprove'],
};

describe('branch agent', () => {
  it.each([
    [
      'first: the first case that holds',
      'first',
      { score: 80, flagged: true },
      0,
      [0],
      ['escalate', 'notify'],
    ],
    ['first: a later case', 'first', { score: 50 }, 1, [1], ['review']],
    ['first: otherwise', 'first', { score: 10 }, null, [], ['autoApprove']],
    ['first: missing data falls to otherwise', 'first', {}, null, [], ['autoApprove']],
    [
      'all: every case that holds, targets once',
      'all',
      { score: 80, flagged: true },
      0,
      [0, 1, 2],
      ['escalate', 'notify', 'review', 'audit'],
    ],
    ['all: one case', 'all', { score: 10, flagged: true }, 2, [2], ['notify', 'audit']],
    ['all: otherwise', 'all', { score: 10, flagged: false }, null, [], ['autoApprove']],
  ] as const)('%s', async (_name, mode, inputs, matched, cases, selected) => {
    expect(await runAgent(branchAgent, { ...triage, mode }, inputs)).toEqual({
      status: 'succeeded',
      output: { matched, cases, selected },
      route: selected,
    });
  });

  it('routes nowhere when nothing holds and there is no otherwise', async () => {
    expect(await runAgent(branchAgent, { cases: [when('false', 'a')] })).toEqual({
      status: 'succeeded',
      output: { matched: null, cases: [], selected: [] },
      route: [],
    });
  });

  it('names every target once, for validation', () => {
    expect(branchAgent.targets?.(BranchConfigSchema.parse(triage))).toEqual([
      'escalate',
      'notify',
      'review',
      'audit',
      'autoApprove',
    ]);
  });

  it.each([
    ['first', [['escalate', 'notify'], ['review'], ['notify', 'audit'], ['autoApprove']]],
    [
      'all',
      [
        ['escalate', 'notify'],
        ['review'],
        ['notify', 'audit'],
        ['escalate', 'notify', 'review', 'audit'],
        ['autoApprove'],
      ],
    ],
  ] as const)('lists the routes %s mode can take', (mode, outcomes) => {
    expect(branchAgent.outcomes?.(BranchConfigSchema.parse({ ...triage, mode }))).toEqual(outcomes);
  });

  it('fails permanently, naming the case, when a condition is not a boolean', async () => {
    const error = await runAgent(
      branchAgent,
      {
        cases: [when('true', 'a'), when('score', 'b')],
        mode: 'all',
      },
      { score: 3 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toContain('case 1: Condition "score" must give true or false');
  });

  it.each([
    ['a `when` that does not compile', { cases: [when('a =', 'x')] }, 'cases.0.when', 'Invalid expression'],
    ['a case with no targets', { cases: [when('a')] }, 'cases.0.then', 'Too small'],
    ['no cases', { cases: [] }, 'cases', 'Too small'],
    ['an unknown mode', { cases: [when('a', 'x')], mode: 'any' }, 'mode', 'Invalid option'],
  ])('rejects a config with %s', (_name, config, path, message) => {
    expect(configIssues(branchAgent, config)).toContainEqual({
      path,
      message: expect.stringContaining(message),
    });
  });
});

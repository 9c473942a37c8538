import { describe, expect, it } from 'vitest';
import { envConfig } from '../config.js';
import { InvalidInputError } from '../errors.js';
import { admit, fairShare, percentile } from './machine.js';
import { DEFAULT_POOL_LIMITS, poolLimitsFromConfig } from './model.js';

describe('fairShare', () => {
  it.each<[string, number, string, Array<[string, number]>, number]>([
    ['alone, a workspace gets all but one slot, kept for a newcomer', 16, 'a', [['a', 1]], 15],
    ['alone under a tiny limit, it gets the whole limit', 3, 'a', [['a', 1]], 3],
    [
      'two equal workspaces split it',
      16,
      'a',
      [
        ['a', 1],
        ['b', 1],
      ],
      8,
    ],
    [
      'weights divide it in proportion',
      16,
      'a',
      [
        ['a', 3],
        ['b', 1],
      ],
      12,
    ],
    [
      'the lighter one gets its part',
      16,
      'b',
      [
        ['a', 3],
        ['b', 1],
      ],
      4,
    ],
    [
      'never below one slot',
      4,
      'c',
      [
        ['a', 10],
        ['b', 10],
        ['c', 1],
      ],
      1,
    ],
    [
      'a workspace not yet counted as active is counted with weight 1',
      12,
      'new',
      [
        ['a', 1],
        ['b', 1],
      ],
      4,
    ],
  ])('%s', (_name, globalLimit, workspace, weights, expected) => {
    expect(fairShare({ globalLimit, workspace, activeWeights: new Map(weights) })).toBe(expected);
  });

  it.each([
    [16, 0, 15],
    [16, 2, 14],
    [16, 9, 12],
    [8, 1, 7],
  ])(
    'global %i with %i recently idle workspaces: a flooder alone may hold %i',
    (globalLimit, recentlyIdle, expected) => {
      expect(
        fairShare({ globalLimit, workspace: 'a', activeWeights: new Map([['a', 1]]), recentlyIdle }),
      ).toBe(expected);
    },
  );
});

describe('admit', () => {
  it.each<[number, number, number, ReturnType<typeof admit>]>([
    [0, 10, 0, { accepted: true, position: 1 }],
    [9, 10, 0, { accepted: true, position: 10 }],
    [10, 10, 0, { accepted: false, retryAfterMs: 5000, reason: expect.stringContaining('budget is 10') }],
    [12, 10, 2, { accepted: false, retryAfterMs: 1500, reason: expect.any(String) }],
    [10_000, 10, 0.001, { accepted: false, retryAfterMs: 300_000, reason: expect.any(String) }],
  ])('in flight %i, budget %i, finishing %f/s', (inFlight, budget, rate, expected) => {
    expect(admit(inFlight, budget, rate)).toEqual(expected);
  });
});

describe('percentile', () => {
  it.each([
    [[], 50, 0],
    [[5], 95, 5],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50, 5],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95, 10],
    [[10, 1, 5], 50, 5],
  ])('%j p%i = %i', (values, p, expected) => {
    expect(percentile(values, p)).toBe(expected);
  });
});

describe('pool limits from configuration', () => {
  it('takes each SERAPHIM_POOL_* setting over its default, and kind=limit pairs per agent kind', () => {
    const limits = poolLimitsFromConfig(
      envConfig({
        SERAPHIM_POOL_GLOBAL: '64',
        SERAPHIM_POOL_PER_USE_CASE: '8',
        SERAPHIM_POOL_DEFAULT_PER_AGENT_KIND: '12',
        SERAPHIM_POOL_PER_AGENT_KIND: ' llm=4, vision-model = 2 ',
      }),
    );
    expect(limits).toEqual({
      global: 64,
      perUseCase: 8,
      defaultPerAgentKind: 12,
      perAgentKind: { ...DEFAULT_POOL_LIMITS.perAgentKind, llm: 4, 'vision-model': 2 },
    });
    expect(poolLimitsFromConfig(envConfig({}))).toEqual(DEFAULT_POOL_LIMITS);
  });

  it.each([
    ['SERAPHIM_POOL_GLOBAL', '0'],
    ['SERAPHIM_POOL_GLOBAL', 'lots'],
    ['SERAPHIM_POOL_PER_AGENT_KIND', 'llm:4'],
    ['SERAPHIM_POOL_PER_AGENT_KIND', 'llm=0'],
  ])('refuses %s=%s, naming the setting', (name, value) => {
    const error = (() => {
      try {
        poolLimitsFromConfig(envConfig({ [name]: value }));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).fields.map((f) => f.path.split('.').slice(0, 2).join('.'))).toEqual([
      `config.${name}`,
    ]);
  });
});

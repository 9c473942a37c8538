import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../platform/clock.js';
import { PermanentError } from '../../../platform/errors.js';
import { call, configIssues, runAgent, T0 } from '../../../test-support/agent-call.js';
import { expressionScope } from './expression.js';
import { applyRules, RulesConfigSchema, rulesAgent } from './rules.js';

/** The expression scope of a call at `now`. */
const at = (now: number) => expressionScope(call({}, {}, new ManualClock(now)));

/** Fraud screening: hard rules decide outright, soft rules add up to a band. */
const screening = {
  rules: [
    {
      id: 'sanctioned',
      when: 'customer.country in ["KP", "IR"]',
      decision: 'reject',
      reason: 'sanctioned country',
    },
    { id: 'large', when: 'tx.amount >= 10000', score: 40, reason: 'large amount' },
    { id: 'new-account', when: 'customer.ageDays < 30', score: 30 },
    { id: 'night', when: '$number($substring(tx.at, 11, 2)) < 6', score: 15, reason: 'night-time' },
    { id: 'trusted', when: 'customer.vip = true', score: -50, reason: 'VIP customer' },
  ],
  thresholds: [
    { minScore: 40, decision: 'review' },
    { minScore: 70, decision: 'block' },
  ],
  defaultDecision: 'approve',
};

const tx = (amount: number, at = '2026-01-01T12:00:00Z') => ({ amount, at });
const customer = (over: Record<string, unknown> = {}) => ({
  country: 'FR',
  ageDays: 400,
  vip: false,
  ...over,
});

describe('rules agent', () => {
  it.each([
    [
      'nothing matches: default',
      { tx: tx(50), customer: customer() },
      { score: 0, decision: 'approve', matched: [], reasons: [] },
    ],
    [
      'one soft rule: below every band',
      { tx: tx(50, '2026-01-01T03:00:00Z'), customer: customer() },
      { score: 15, decision: 'approve', matched: ['night'], reasons: ['night-time'] },
    ],
    [
      'exactly on a band edge',
      { tx: tx(10000), customer: customer() },
      { score: 40, decision: 'review', matched: ['large'], reasons: ['large amount'] },
    ],
    [
      'the highest band reached wins, whatever the table order',
      { tx: tx(20000), customer: customer({ ageDays: 3 }) },
      {
        score: 70,
        decision: 'block',
        matched: ['large', 'new-account'],
        reasons: ['large amount', 'new-account'],
      },
    ],
    [
      'negative scores subtract',
      { tx: tx(20000), customer: customer({ ageDays: 3, vip: true }) },
      {
        score: 20,
        decision: 'approve',
        matched: ['large', 'new-account', 'trusted'],
        reasons: ['large amount', 'new-account', 'VIP customer'],
      },
    ],
    [
      'a hard rule decides over the score',
      { tx: tx(20000), customer: customer({ country: 'KP' }) },
      {
        score: 40,
        decision: 'reject',
        matched: ['sanctioned', 'large'],
        reasons: ['sanctioned country', 'large amount'],
      },
    ],
    [
      'missing data does not match',
      { tx: {}, customer: {} },
      { score: 0, decision: 'approve', matched: [], reasons: [] },
    ],
  ])('sum: %s', async (_name, inputs, output) => {
    expect(await runAgent(rulesAgent, screening, inputs)).toEqual({ status: 'succeeded', output });
  });

  it.each([
    [
      'the first match alone counts',
      { tx: tx(20000), customer: customer({ ageDays: 3 }) },
      { score: 40, decision: 'review', matched: ['large'], reasons: ['large amount'] },
    ],
    [
      'a hard first match',
      { tx: tx(20000), customer: customer({ country: 'IR' }) },
      { score: 0, decision: 'reject', matched: ['sanctioned'], reasons: ['sanctioned country'] },
    ],
    [
      'no match',
      { tx: tx(1), customer: customer() },
      { score: 0, decision: 'approve', matched: [], reasons: [] },
    ],
  ])('first-match: %s', async (_name, inputs, output) => {
    expect(await runAgent(rulesAgent, { ...screening, strategy: 'first-match' }, inputs)).toEqual({
      status: 'succeeded',
      output,
    });
  });

  it('is deterministic: the same inputs give the same output, run after run', async () => {
    const config = RulesConfigSchema.parse(screening);
    const inputs = { tx: tx(15000, '2026-01-01T02:00:00Z'), customer: customer({ ageDays: 10 }) };
    const outputs = await Promise.all(Array.from({ length: 20 }, () => applyRules(config, inputs, at(T0))));
    for (const output of outputs) expect(output).toEqual(outputs[0]);
    expect(outputs[0]).toEqual({
      score: 85,
      decision: 'block',
      matched: ['large', 'new-account', 'night'],
      reasons: ['large amount', 'new-account', 'night-time'],
    });
  });

  it('reads time from the clock it is given, so a time rule is reproducible', async () => {
    const config = RulesConfigSchema.parse({
      rules: [{ id: 'stale', when: '$millis() - $toMillis(sentAt) > 86400000', score: 1 }],
      thresholds: [{ minScore: 1, decision: 'expired' }],
      defaultDecision: 'fresh',
    });
    const sentAt = '2025-12-31T12:00:00Z';
    expect((await applyRules(config, { sentAt }, at(T0))).decision).toBe('fresh');
    expect((await applyRules(config, { sentAt }, at(T0 + 12 * 3600_000 + 1))).decision).toBe('expired');
  });

  it('fails permanently, naming the rule, when a condition is not a boolean', async () => {
    const error = await runAgent(
      rulesAgent,
      { rules: [{ id: 'amount-only', when: 'tx.amount' }], defaultDecision: 'ok' },
      { tx: tx(5) },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toBe(
      'rule "amount-only": Condition "tx.amount" must give true or false, not number 5',
    );
  });

  it.each([
    [
      'a `when` that does not compile',
      { rules: [{ id: 'a', when: 'x >' }], defaultDecision: 'ok' },
      'rules.0.when',
      'Invalid expression',
    ],
    [
      'a second bad `when`',
      {
        rules: [
          { id: 'a', when: 'x' },
          { id: 'b', when: '$eval("1")' },
        ],
        defaultDecision: 'ok',
      },
      'rules.1.when',
      '$eval is disabled',
    ],
    [
      'duplicate rule ids',
      {
        rules: [
          { id: 'a', when: 'x' },
          { id: 'a', when: 'y' },
        ],
        defaultDecision: 'ok',
      },
      'rules.1.id',
      'duplicate rule id "a" (also rules/0)',
    ],
    ['no rules', { rules: [], defaultDecision: 'ok' }, 'rules', 'Too small'],
    ['no default decision', { rules: [{ id: 'a', when: 'x' }] }, 'defaultDecision', 'expected string'],
    [
      'an unknown strategy',
      { rules: [{ id: 'a', when: 'x' }], defaultDecision: 'ok', strategy: 'max' },
      'strategy',
      'Invalid option',
    ],
    [
      'a non-finite score',
      { rules: [{ id: 'a', when: 'x', score: Number.POSITIVE_INFINITY }], defaultDecision: 'ok' },
      'rules.0.score',
      'expected number',
    ],
  ])('rejects a config with %s', (_name, config, path, message) => {
    expect(configIssues(rulesAgent, config)).toContainEqual({
      path,
      message: expect.stringContaining(message),
    });
  });
});

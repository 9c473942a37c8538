/**
 * The `rules` agent: deterministic scoring and decisions from a rule table.
 *
 * Each rule has a JSONata condition over the inputs. Rules are evaluated in
 * table order, one at a time, so the same inputs (and clock, for conditions
 * that use `$now()`) always give the same output.
 * - `sum` (default): every matching rule adds its score;
 * - `first-match`: the first matching rule alone counts.
 * The decision is the first matching rule's own `decision` if any (a hard
 * rule, e.g. a sanctions hit), else the first threshold the score reaches
 * (highest `minScore` first), else `defaultDecision`.
 */
import { z } from 'zod';
import { type ExpressionScope, ExpressionSource, evaluateConditions, expressionScope } from './expression.js';
import { defineAgent } from './types.js';

export const RuleSchema = z.strictObject({
  id: z.string().min(1),
  /** JSONata giving true or false (no result counts as false). @example `amount > 10000` */
  when: ExpressionSource,
  /** Added to the score when the rule matches. @default 0 */
  score: z.number().finite().optional(),
  /** Decides outright when the rule matches, ahead of the thresholds. */
  decision: z.string().min(1).optional(),
  /** Why, for the output's `reasons`. @default the rule id */
  reason: z.string().min(1).optional(),
});

export const RulesConfigSchema = z
  .strictObject({
    rules: z.array(RuleSchema).min(1).max(500),
    /** @default 'sum' */
    strategy: z.enum(['first-match', 'sum']).default('sum'),
    /** Score bands; any order, applied highest `minScore` first. */
    thresholds: z
      .array(z.strictObject({ minScore: z.number().finite(), decision: z.string().min(1) }))
      .default([]),
    defaultDecision: z.string().min(1),
  })
  .superRefine((config, ctx) => {
    const seen = new Map<string, number>();
    config.rules.forEach((rule, i) => {
      const first = seen.get(rule.id);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'id'],
          message: `duplicate rule id "${rule.id}" (also rules/${first})`,
        });
      } else seen.set(rule.id, i);
    });
  });
export type RulesConfig = z.output<typeof RulesConfigSchema>;

export interface RulesOutput {
  score: number;
  decision: string;
  /** Ids of the rules that matched, in table order. */
  matched: string[];
  /** One per matched rule: its `reason`, or its id. */
  reasons: string[];
}

export const rulesAgent = defineAgent<RulesConfig>({
  kind: 'rules',
  description: 'Scores and decides from a rule table of JSONata conditions; deterministic.',
  config: RulesConfigSchema,
  async run(call) {
    return {
      status: 'succeeded',
      output: await applyRules(call.config, { ...call.inputs }, expressionScope(call)),
    };
  },
});

/** The rule table over one input: pure apart from the expression time budget. */
export async function applyRules(
  config: RulesConfig,
  data: unknown,
  scope: ExpressionScope,
): Promise<RulesOutput> {
  const holds = await evaluateConditions(
    config.rules.map((rule) => ({ source: rule.when, label: `rule "${rule.id}"` })),
    data,
    scope,
    { untilTrue: config.strategy === 'first-match' },
  );
  const matched = config.rules.filter((_, i) => holds[i]);
  const score = matched.reduce((sum, rule) => sum + (rule.score ?? 0), 0);
  const band = [...config.thresholds]
    .sort((a, b) => b.minScore - a.minScore)
    .find((t) => score >= t.minScore);
  const decision =
    matched.find((rule) => rule.decision !== undefined)?.decision ?? band?.decision ?? config.defaultDecision;
  return {
    score,
    decision,
    matched: matched.map((rule) => rule.id),
    reasons: matched.map((rule) => rule.reason ?? rule.id),
  };
}

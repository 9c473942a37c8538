/**
 * The `branch` agent: conditional edges. Its cases name the steps that run
 * when a JSONata condition over the inputs holds; the steps of the cases not
 * taken are skipped. `first` takes the first case that holds, `all` every
 * one; when none holds, `otherwise` runs (nothing, if it is not given).
 */
import { z } from 'zod';
import { ExpressionSource, evaluateConditions, expressionScope } from './expression.js';
import { defineAgent } from './types.js';

export const BranchConfigSchema = z.strictObject({
  cases: z
    .array(
      z.strictObject({
        /** JSONata giving true or false (no result counts as false). @example `score >= 70` */
        when: ExpressionSource,
        /** Step ids to run when it holds. */
        then: z.array(z.string().min(1)).min(1),
      }),
    )
    .min(1)
    .max(100),
  /** Step ids to run when no case holds. @default [] */
  otherwise: z.array(z.string().min(1)).default([]),
  /** @default 'first' */
  mode: z.enum(['first', 'all']).default('first'),
});
export type BranchConfig = z.output<typeof BranchConfigSchema>;

export interface BranchOutput {
  /** The first case that held, or null. */
  matched: number | null;
  /** Every case that held (one at most in `first` mode). */
  cases: number[];
  /** The step ids the route selects. */
  selected: string[];
}

export const branchAgent = defineAgent<BranchConfig>({
  kind: 'branch',
  description: 'Chooses which of its target steps run, from JSONata conditions over its inputs.',
  config: BranchConfigSchema,
  targets: (config) => unique([...config.cases.flatMap((c) => c.then), ...config.otherwise]),
  // Every route is one of these or, in `all` mode, within the union of the cases.
  outcomes: (config) => [
    ...config.cases.map((c) => unique(c.then)),
    ...(config.mode === 'all' && config.cases.length > 1
      ? [unique(config.cases.flatMap((c) => c.then))]
      : []),
    unique(config.otherwise),
  ],
  async run(call) {
    const { config, inputs } = call;
    const holds = await evaluateConditions(
      config.cases.map((c, i) => ({ source: c.when, label: `case ${i}` })),
      { ...inputs },
      expressionScope(call),
      { untilTrue: config.mode === 'first' },
    );
    const held = holds.flatMap((h, i) => (h ? [i] : []));
    const selected =
      held.length === 0 ? unique(config.otherwise) : unique(held.flatMap((i) => config.cases[i]?.then ?? []));
    const output: BranchOutput = { matched: held[0] ?? null, cases: held, selected };
    return { status: 'succeeded', output, route: selected };
  },
});

function unique(ids: string[]): string[] {
  return [...new Set(ids)];
}

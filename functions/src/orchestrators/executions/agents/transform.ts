/**
 * The `transform` agent: reshapes its inputs with JSONata expressions, either
 * one expression for the whole output or one per output field. The data an
 * expression sees is the step's inputs by their local names, and nothing else.
 */
import { z } from 'zod';
import { ExpressionSource, evaluate, evaluateAll, expressionScope } from './expression.js';
import { defineAgent } from './types.js';

// One object with a refinement rather than a union: a bad expression is then
// reported at its own path with its own message, not as "no union member matched".
export const TransformConfigSchema = z
  .strictObject({
    /** The whole output. @example `{ "total": $sum(items.price), "currency": currency }` */
    expression: ExpressionSource.optional(),
    /** Output field → expression. @example `{ "total": "$sum(items.price)" }` */
    fields: z
      .record(z.string().min(1), ExpressionSource)
      .refine((f) => Object.keys(f).length > 0, { message: 'name at least one field' })
      .optional(),
  })
  .refine((c) => (c.expression === undefined) !== (c.fields === undefined), {
    message: 'give exactly one of "expression" and "fields"',
  });
export type TransformConfig = z.output<typeof TransformConfigSchema>;

export const transformAgent = defineAgent<TransformConfig>({
  kind: 'transform',
  description: 'Reshapes inputs with JSONata expressions (no code, no I/O).',
  config: TransformConfigSchema,
  async run(call) {
    const { config, inputs } = call;
    const data = { ...inputs };
    const scope = expressionScope(call);
    if (config.expression !== undefined) {
      return { status: 'succeeded', output: await evaluate(config.expression, data, scope) };
    }
    const fields = Object.entries(config.fields ?? {});
    const values = await evaluateAll(
      fields.map(([field, source]) => ({ source, label: `field "${field}"` })),
      data,
      scope,
    );
    return {
      status: 'succeeded',
      output: Object.fromEntries(fields.map(([field], i) => [field, values[i]])),
    };
  },
});

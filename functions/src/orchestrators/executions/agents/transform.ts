/**
 * The `transform` agent: reshapes its inputs with JSONata expressions, either
 * one expression for the whole output or one per output field. The data an
 * expression sees is the step's inputs by their local names, and nothing else.
 */
import { z } from 'zod';
import { compileExpression, ExpressionSource, evaluate, type JsonValue } from './expression.js';
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
  async run({ config, inputs, ctx }) {
    const data = { ...inputs };
    const opts = { now: ctx.clock.now() };
    if (config.expression !== undefined) {
      return {
        status: 'succeeded',
        output: await evaluate(compileExpression(config.expression), data, opts),
      };
    }
    const output: Record<string, JsonValue> = {};
    for (const [field, source] of Object.entries(config.fields ?? {})) {
      output[field] = await evaluate(compileExpression(source), data, opts);
    }
    return { status: 'succeeded', output };
  },
});

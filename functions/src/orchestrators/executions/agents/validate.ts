/**
 * The `validate` agent: checks inputs against a JSON Schema. In `fail` mode a
 * violation fails the step (retrying cannot fix the data); in `report` mode the
 * step succeeds with the violations, so a later branch can route on them.
 */
import { z } from 'zod';
import { PermanentError, type ProblemField } from '../../../platform/errors.js';
import { schemaFor } from '../expressions/schema-check.js';
import { checkSchema, expressionScope } from './expression.js';
import { defineAgent } from './types.js';

export const ValidateConfigSchema = z
  .strictObject({
    /** A JSON Schema (draft 2020-12 or 7), turned into a zod schema with `z.fromJSONSchema`. */
    schema: z.record(z.string(), z.unknown()),
    /** The input to check. @default all inputs, as one object */
    input: z.string().min(1).optional(),
    /** @default 'fail' */
    mode: z.enum(['fail', 'report']).default('fail'),
  })
  .superRefine((config, ctx) => {
    try {
      schemaFor(config.schema);
    } catch (error) {
      ctx.addIssue({
        code: 'custom',
        path: ['schema'],
        message: `not a usable JSON Schema: ${error instanceof Error ? error.message : String(error)}`,
      });
    }
  });
export type ValidateConfig = z.output<typeof ValidateConfigSchema>;

export type ValidateOutput = { valid: true; value: unknown } | { valid: false; errors: ProblemField[] };

export const validateAgent = defineAgent<ValidateConfig>({
  kind: 'validate',
  description: 'Checks inputs against a JSON Schema; fails the step, or reports the violations.',
  config: ValidateConfigSchema,
  async run(call) {
    const { config, inputs } = call;
    if (config.input !== undefined && !Object.hasOwn(inputs, config.input)) {
      throw new PermanentError(
        `validate: "${config.input}" is not one of the step's inputs (${Object.keys(inputs).join(', ') || 'none'})`,
      );
    }
    const value = config.input === undefined ? { ...inputs } : inputs[config.input];
    // In a worker: the schema's patterns are backtracking regular expressions.
    const result = await checkSchema(config.schema, value, expressionScope(call));
    if (result.valid) return { status: 'succeeded', output: result satisfies ValidateOutput };
    const errors = result.issues.map((issue) => ({
      path: [config.input ?? '', ...issue.path].filter(Boolean).join('.') || '(root)',
      message: issue.message,
    }));
    if (config.mode === 'report')
      return { status: 'succeeded', output: { valid: false, errors } satisfies ValidateOutput };
    throw new PermanentError(
      `validate: ${errors.length} violation${errors.length === 1 ? '' : 's'}: ${errors
        .map((e) => `${e.path}: ${e.message}`)
        .join('; ')}`,
      { details: { errors } },
    );
  },
});

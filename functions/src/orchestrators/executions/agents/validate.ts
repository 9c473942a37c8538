/**
 * The `validate` agent: checks inputs against a JSON Schema. In `fail` mode a
 * violation fails the step (retrying cannot fix the data); in `report` mode the
 * step succeeds with the violations, so a later branch can route on them.
 */
import { z } from 'zod';
import { PermanentError, type ProblemField } from '../../../platform/errors.js';
import { zodFields } from '../../../platform/problem.js';
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
  async run({ config, inputs }) {
    if (config.input !== undefined && !Object.hasOwn(inputs, config.input)) {
      throw new PermanentError(
        `validate: "${config.input}" is not one of the step's inputs (${Object.keys(inputs).join(', ') || 'none'})`,
      );
    }
    const value = config.input === undefined ? { ...inputs } : inputs[config.input];
    const result = schemaFor(config.schema).safeParse(value);
    if (result.success)
      return { status: 'succeeded', output: { valid: true, value: result.data } satisfies ValidateOutput };
    const errors = zodFields(result.error, config.input ?? '').map((f) => ({
      path: f.path || '(root)',
      message: f.message,
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

// The same schema comes back on every run of a step: convert it once.
const CACHE_SIZE = 128;
const schemas = new Map<string, z.ZodType>();

function schemaFor(jsonSchema: Record<string, unknown>): z.ZodType {
  const key = JSON.stringify(jsonSchema);
  let schema = schemas.get(key);
  if (!schema) {
    schema = z.fromJSONSchema(jsonSchema as Parameters<typeof z.fromJSONSchema>[0]);
    schemas.set(key, schema);
    if (schemas.size > CACHE_SIZE) schemas.delete(schemas.keys().next().value as string);
  }
  return schema;
}

/**
 * A value checked against a user's JSON Schema, in an expression worker: the
 * schema's `pattern` and `patternProperties` become JavaScript regular
 * expressions (z.fromJSONSchema), whose backtracking on a hostile value could
 * hold a thread for minutes. Here the worker's deadline bounds it.
 */
import { z } from 'zod';
import type { SchemaCheck } from './protocol.ts';

// The same schema comes with every run of a step: convert it once.
const CACHE_SIZE = 128;
const schemas = new Map<string, z.ZodType>();

/** Converts a JSON Schema (draft 2020-12 or 7) to zod; throws when it cannot. Cached by its JSON. */
export function schemaFor(jsonSchema: Record<string, unknown>): z.ZodType {
  const key = JSON.stringify(jsonSchema);
  let schema = schemas.get(key);
  if (!schema) {
    schema = z.fromJSONSchema(jsonSchema as Parameters<typeof z.fromJSONSchema>[0]);
    schemas.set(key, schema);
    if (schemas.size > CACHE_SIZE) schemas.delete(schemas.keys().next().value as string);
  }
  return schema;
}

export function checkAgainstSchema(jsonSchema: Record<string, unknown>, value: unknown): SchemaCheck {
  const result = schemaFor(jsonSchema).safeParse(value);
  if (result.success) return { valid: true, value: result.data };
  return {
    valid: false,
    issues: result.error.issues.map((issue) => ({ path: issue.path.map(String), message: issue.message })),
  };
}

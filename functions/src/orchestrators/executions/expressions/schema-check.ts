/**
 * A value checked against a user's JSON Schema, in an expression worker: the
 * schema's `pattern` and `patternProperties` become JavaScript regular
 * expressions (z.fromJSONSchema), whose backtracking on a hostile value could
 * hold a thread for minutes. Here the worker's deadline bounds it.
 */
import { z } from 'zod';
import type { SchemaCheck } from './protocol.ts';

/** Issues a check returns, and the length of each message (an enum's values are repeated in it). */
const MAX_ISSUES = 100;
const MAX_MESSAGE = 300;

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
  // Objects without a prototype: zod reads a property the schema names, and a plain object would
  // answer `valueOf` or `constructor` with what it inherits.
  const result = schemaFor(jsonSchema).safeParse(withoutPrototypes(value));
  if (result.success) return { valid: true, value: result.data };
  return {
    valid: false,
    // A value can fail a schema many thousands of times over: what crosses back to the pool is bounded.
    issues: result.error.issues.slice(0, MAX_ISSUES).map((issue) => ({
      path: issue.path.map(String),
      message: issue.message.length > MAX_MESSAGE ? `${issue.message.slice(0, MAX_MESSAGE)}…` : issue.message,
    })),
  };
}

function withoutPrototypes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutPrototypes);
  if (typeof value !== 'object' || value === null) return value;
  const copy: Record<string, unknown> = Object.create(null);
  for (const [key, item] of Object.entries(value)) copy[key] = withoutPrototypes(item);
  return copy;
}

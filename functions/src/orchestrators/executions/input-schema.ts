/**
 * A use case's `inputSchema` (JSON Schema) as the check an execution's input passes when the run
 * starts: a 400 naming the field, before anything is stored or enqueued.
 *
 * The schema is converted to zod (`z.fromJSONSchema`) once, when the workflow is compiled (so a
 * schema that cannot be used is refused when the use case is saved, with its pointer). A stored
 * schema is author input, and its check runs on the event loop, so two guards come first:
 * - Size: at most MAX_NODES schema objects, MAX_DEPTH deep.
 * - Regular expressions: zod would test `pattern` with JavaScript's backtracking RegExp, which one
 *   pattern and one input can hold for minutes (issue 9, item 1). So patterns are taken out before
 *   the conversion and matched here on RE2 (linear time), unanchored as JSON Schema says. A pattern
 *   is followed where `properties`, `items` and `prefixItems` lead; anywhere else (under `anyOf`, a
 *   `$ref`, `patternProperties`, `propertyNames`…) it is refused, since its value could not be found.
 */
import { RE2JS } from 're2js';
import { z } from 'zod';
import type { ProblemField } from '../../platform/errors.js';

export const MAX_NODES = 2_000;
export const MAX_DEPTH = 32;
/** A refused input names at most this many fields. */
const MAX_REPORTED = 20;

/** A problem in the schema itself, at a JSON pointer inside it. */
export interface SchemaProblem {
  pointer: string;
  message: string;
}

export interface CompiledInputSchema {
  problems: SchemaProblem[];
  /** The fields of `input` that do not match (paths `body.input.…`), none when it does. */
  check(input: unknown): ProblemField[];
}

/** A step on the way from the input's root to a value: a property name, an array index, or any item. */
type Segment = { key: string } | { index: number } | { anyItem: true };

interface PatternRule {
  at: Segment[];
  pattern: string;
  re2: RE2JS;
}

/** Keywords holding one subschema, a list of them, or a map of them (`items` and `prefixItems` are followed). */
const ONE = new Set([
  'additionalProperties',
  'additionalItems',
  'contains',
  'not',
  'if',
  'then',
  'else',
  'propertyNames',
  'unevaluatedItems',
  'unevaluatedProperties',
  'contentSchema',
]);
const LIST = new Set(['anyOf', 'oneOf', 'allOf']);
const MAP = new Set(['properties', '$defs', 'definitions', 'dependentSchemas', 'dependencies']);

const pointerToken = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

export function compileInputSchema(schema: Record<string, unknown>): CompiledInputSchema {
  const problems: SchemaProblem[] = [];
  const rules: PatternRule[] = [];
  let nodes = 0;

  /**
   * Walks a schema and returns a copy without the patterns it took out. `at`: the path its values are
   * found at from the input's root, or null where they cannot be followed.
   */
  const walk = (node: unknown, pointer: string, at: Segment[] | null, depth: number): unknown => {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return node;
    if (++nodes > MAX_NODES) {
      if (nodes === MAX_NODES + 1)
        problems.push({ pointer, message: `the schema has over ${MAX_NODES} parts` });
      return {};
    }
    if (depth > MAX_DEPTH) {
      problems.push({ pointer, message: `the schema is nested over ${MAX_DEPTH} deep` });
      return {};
    }
    const copy: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      const here = `${pointer}/${pointerToken(key)}`;
      const inner = (sub: unknown, subPointer: string, subAt: Segment[] | null) =>
        walk(sub, subPointer, subAt, depth + 1);
      if (key === 'pattern') {
        rule(value, here, at);
        continue; // matched here, never by zod
      }
      if (key === 'patternProperties') {
        problems.push({
          pointer: here,
          message: 'patternProperties is not supported: its patterns would run on a backtracking engine',
        });
        continue;
      }
      const follow = at !== null && (key === 'properties' || key === 'items' || key === 'prefixItems');
      if (MAP.has(key) && isRecord(value)) {
        copy[key] = Object.fromEntries(
          Object.entries(value).map(([name, sub]) => [
            name,
            inner(sub, `${here}/${pointerToken(name)}`, follow && at ? [...at, { key: name }] : null),
          ]),
        );
      } else if ((LIST.has(key) || key === 'items' || key === 'prefixItems') && Array.isArray(value)) {
        // anyOf and friends; prefixItems, and draft-7's tuple form of items, item by item
        copy[key] = value.map((sub, i) =>
          inner(sub, `${here}/${i}`, follow && at ? [...at, { index: i }] : null),
        );
      } else if (key === 'items') {
        copy[key] = inner(value, here, follow && at ? [...at, { anyItem: true }] : null);
      } else if (ONE.has(key)) {
        copy[key] = inner(value, here, null);
      } else copy[key] = value;
    }
    return copy;
  };

  const rule = (value: unknown, pointer: string, at: Segment[] | null) => {
    if (typeof value !== 'string') problems.push({ pointer, message: 'a pattern is a string' });
    else if (at === null)
      problems.push({
        pointer,
        message: 'a pattern is supported only where properties, items and prefixItems lead',
      });
    else {
      const re2 = linear(value);
      if (typeof re2 === 'string') problems.push({ pointer, message: re2 });
      else rules.push({ at, pattern: value, re2 });
    }
  };

  const stripped = walk(schema, '', [], 0);
  // Whatever keyword hid it, no pattern may reach zod's backtracking RegExp.
  const left = patternLeft(stripped, '');
  if (left !== null) problems.push({ pointer: left, message: 'a pattern is not supported here' });
  let validator: z.ZodType | undefined;
  if (problems.length === 0) {
    try {
      validator = z.fromJSONSchema(stripped as Parameters<typeof z.fromJSONSchema>[0]);
    } catch (error) {
      problems.push({ pointer: '', message: error instanceof Error ? error.message : String(error) });
    }
  }

  return {
    problems,
    check(input) {
      if (!validator) return [];
      const found: ProblemField[] = [];
      const result = validator.safeParse(input);
      if (!result.success) {
        for (const issue of result.error.issues) {
          found.push({ path: fieldPath(issue.path), message: readable(issue.message) });
        }
      }
      for (const rule of rules) {
        for (const { value, path } of valuesAt(input, rule.at)) {
          if (typeof value === 'string' && !rule.re2.matcher(value).find()) {
            found.push({ path: fieldPath(path), message: `does not match the pattern ${rule.pattern}` });
          }
        }
      }
      return found.slice(0, MAX_REPORTED);
    },
  };
}

/** The pointer of a `pattern` string (or a `patternProperties`) still in `node`, or null. */
function patternLeft(node: unknown, pointer: string): string | null {
  if (typeof node !== 'object' || node === null) return null;
  for (const [key, value] of Object.entries(node)) {
    const here = `${pointer}/${pointerToken(key)}`;
    if ((key === 'pattern' && typeof value === 'string') || key === 'patternProperties') return here;
    const inner = patternLeft(value, here);
    if (inner !== null) return inner;
  }
  return null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The pattern on RE2, or why it cannot run there (not a regular expression; a backreference, a lookaround). */
function linear(pattern: string): RE2JS | string {
  let js: RegExp;
  try {
    js = new RegExp(pattern, 'u');
  } catch (error) {
    return `not a regular expression: ${error instanceof Error ? error.message : String(error)}`;
  }
  try {
    return RE2JS.compile(RE2JS.translateRegExp(js));
  } catch (error) {
    return `this pattern needs a backtracking engine, which could run for minutes on one input (${error instanceof Error ? error.message : String(error)}); write it without backreferences and lookarounds`;
  }
}

/** The values a rule's path reaches in `input`, with their paths (every item where it says any). */
function valuesAt(input: unknown, at: Segment[]): Array<{ value: unknown; path: PropertyKey[] }> {
  let found: Array<{ value: unknown; path: PropertyKey[] }> = [{ value: input, path: [] }];
  for (const segment of at) {
    const next: typeof found = [];
    for (const { value, path } of found) {
      if ('key' in segment) {
        if (
          typeof value === 'object' &&
          value !== null &&
          !Array.isArray(value) &&
          Object.hasOwn(value, segment.key)
        )
          next.push({ value: (value as Record<string, unknown>)[segment.key], path: [...path, segment.key] });
      } else if ('index' in segment) {
        if (Array.isArray(value) && segment.index < value.length)
          next.push({ value: value[segment.index], path: [...path, segment.index] });
      } else if (Array.isArray(value)) {
        value.forEach((item, i) => {
          next.push({ value: item, path: [...path, i] });
        });
      }
    }
    found = next;
  }
  return found;
}

/** zod says a missing field is of the wrong type: "expected number, received undefined". */
function readable(message: string): string {
  const missing = /expected (.+), received undefined$/.exec(message);
  return missing ? `required (${missing[1]})` : message;
}

function fieldPath(path: readonly PropertyKey[]): string {
  return ['body.input', ...path.map(String)].join('.');
}

/**
 * A use case's `inputSchema` (JSON Schema) as the check an execution's input passes when the run
 * starts: a 400 naming the field, before anything is stored or enqueued.
 *
 * The schema is converted to zod (`z.fromJSONSchema`) once, when the workflow is compiled, so a schema
 * that cannot be used is refused when the use case is saved, with the pointer of each problem. A
 * stored schema is author input and its check runs on the event loop, so only a plain subset of JSON
 * Schema is accepted, checked keyword by keyword before zod sees anything (an attacker's review found
 * the holes a blacklist left):
 * - Keywords: `type`, `properties`, `required`, `additionalProperties`, `items`, `prefixItems`,
 *   `enum`, `const`, `pattern`, `format` (a safe list), the numeric and length bounds, `uniqueItems`,
 *   and annotations. Anything else is refused: `$ref` and `$defs` (a cycle sent zod into endless
 *   recursion; a `$ref` could carry a pattern past RE2), and `anyOf`, `oneOf` and `allOf` (zod
 *   keeps every branch's issues for every value: 20 branches over a 50,000-item array ran it out
 *   of memory). A nullable field is a type list: `["string", "null"]`.
 * - Input: one with over MAX_INPUT_VALUES values is refused before the check, which is then linear.
 * - Size: at most MAX_NODES schema objects, MAX_DEPTH deep; an `enum` of at most MAX_ENUM plain
 *   values; a `type` list only of scalar types (each object or array type would convert, and be
 *   tried, once more for every level below it).
 * - Regular expressions: zod would test `pattern` with JavaScript's backtracking RegExp, which one
 *   pattern and one input can hold for minutes (issue 9, item 1). So patterns are taken out and
 *   matched here on RE2 (linear time), unanchored as JSON Schema says; only where `properties`,
 *   `items` and `prefixItems` lead, since elsewhere (under `additionalProperties`) their value cannot
 *   be found.
 */
import { RE2JS } from 're2js';
import { z } from 'zod';
import type { ProblemField } from '../../platform/errors.js';

export const MAX_NODES = 2_000;
export const MAX_DEPTH = 32;
export const MAX_ENUM = 200;
/** An input with more values than this is refused before its check (zod reports an issue per value). */
export const MAX_INPUT_VALUES = 20_000;
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

const TYPES = new Set(['object', 'array', 'string', 'number', 'integer', 'boolean', 'null']);
const SCALAR_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null']);
/** zod's own validators for these formats (no user regular expression). */
const FORMATS = new Set(['email', 'uri', 'uuid', 'date-time', 'date', 'time', 'ipv4', 'ipv6']);
const BOUNDS = new Set([
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
]);
/** Kept for zod (a default applies; a title and a description are what a form shows). */
const KEPT_ANNOTATIONS = new Set(['title', 'description', 'default']);
/** Dropped before zod: `$id` and `id` would register each schema in zod's global registry, for good. */
const DROPPED_ANNOTATIONS = new Set([
  '$schema',
  '$id',
  'id',
  '$comment',
  'examples',
  'deprecated',
  'readOnly',
  'writeOnly',
]);

const pointerToken = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

export function compileInputSchema(schema: Record<string, unknown>): CompiledInputSchema {
  const problems: SchemaProblem[] = [];
  const rules: PatternRule[] = [];
  let nodes = 0;

  const problem = (pointer: string, message: string) => {
    problems.push({ pointer, message });
  };

  /**
   * Checks a schema keyword by keyword and returns the copy zod converts (patterns and dropped
   * annotations out). `at`: the path its values are found at from the input's root, or null where
   * they cannot be followed.
   */
  const walk = (node: unknown, pointer: string, at: Segment[] | null, depth: number): unknown => {
    if (!isRecord(node)) {
      problem(pointer, 'a schema here is an object');
      return {};
    }
    if (++nodes > MAX_NODES) {
      if (nodes === MAX_NODES + 1) problem(pointer, `the schema has over ${MAX_NODES} parts`);
      return {};
    }
    if (depth > MAX_DEPTH) {
      problem(pointer, `the schema is nested over ${MAX_DEPTH} deep`);
      return {};
    }
    const copy: Record<string, unknown> = {};
    const inner = (sub: unknown, subPointer: string, subAt: Segment[] | null) =>
      walk(sub, subPointer, subAt, depth + 1);
    for (const [key, value] of Object.entries(node)) {
      const here = `${pointer}/${pointerToken(key)}`;
      if (key === 'pattern')
        rule(value, here, at); // matched here, never by zod
      else if (key === 'type') {
        if (typeCheck(value, here)) copy[key] = value;
      } else if (key === 'properties') {
        if (!isRecord(value)) problem(here, 'properties is an object of schemas');
        else
          copy[key] = Object.fromEntries(
            Object.entries(value).map(([name, sub]) => [
              name,
              inner(sub, `${here}/${pointerToken(name)}`, at ? [...at, { key: name }] : null),
            ]),
          );
      } else if (key === 'items') {
        if (Array.isArray(value)) problem(here, 'items is one schema (a tuple is prefixItems)');
        else copy[key] = inner(value, here, at ? [...at, { anyItem: true }] : null);
      } else if (key === 'prefixItems') {
        if (!Array.isArray(value) || value.length > 100)
          problem(here, 'prefixItems is a list of at most 100 schemas');
        else copy[key] = value.map((sub, i) => inner(sub, `${here}/${i}`, at ? [...at, { index: i }] : null));
      } else if (key === 'additionalProperties') {
        copy[key] = typeof value === 'boolean' ? value : inner(value, here, null);
      } else if (key === 'required') {
        if (!Array.isArray(value) || value.length > 1000 || !value.every((v) => typeof v === 'string'))
          problem(here, 'required is a list of property names');
        else copy[key] = value;
      } else if (key === 'enum') {
        if (!Array.isArray(value) || value.length === 0 || value.length > MAX_ENUM || !value.every(isScalar))
          problem(here, `enum is a list of 1 to ${MAX_ENUM} strings, numbers, booleans or nulls`);
        else copy[key] = value;
      } else if (key === 'const') {
        if (!isScalar(value)) problem(here, 'const is a string, a number, a boolean or null');
        else copy[key] = value;
      } else if (key === 'format') {
        if (typeof value !== 'string' || !FORMATS.has(value))
          problem(here, `format is one of ${[...FORMATS].join(', ')}`);
        else copy[key] = value;
      } else if (BOUNDS.has(key)) {
        if (typeof value !== 'number' || !Number.isFinite(value) || (key === 'multipleOf' && value <= 0))
          problem(here, `${key} is a finite number${key === 'multipleOf' ? ' above 0' : ''}`);
        else copy[key] = value;
      } else if (key === 'uniqueItems') {
        if (typeof value !== 'boolean') problem(here, 'uniqueItems is true or false');
        else copy[key] = value;
      } else if (KEPT_ANNOTATIONS.has(key)) copy[key] = value;
      else if (DROPPED_ANNOTATIONS.has(key) || key.startsWith('x-')) continue;
      else
        problem(
          here,
          key === '$ref' || key === '$defs' || key === 'definitions'
            ? `${key} is not supported in an input schema: write the schema it names in place`
            : `"${key}" is not supported in an input schema`,
        );
    }
    return copy;
  };

  const typeCheck = (value: unknown, pointer: string): boolean => {
    if (typeof value === 'string' && TYPES.has(value)) return true;
    if (
      Array.isArray(value) &&
      value.length > 0 &&
      value.length <= SCALAR_TYPES.size &&
      new Set(value).size === value.length &&
      value.every((t) => typeof t === 'string' && SCALAR_TYPES.has(t))
    )
      return true;
    problem(
      pointer,
      `type is one of ${[...TYPES].join(', ')}, or a list of the scalar ones (string, number, integer, boolean, null)`,
    );
    return false;
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
  let validator: z.ZodType | undefined;
  if (problems.length === 0) {
    try {
      // Its own registry: zod's global one would keep every schema converted, for good.
      validator = z.fromJSONSchema(stripped as Parameters<typeof z.fromJSONSchema>[0], {
        registry: z.registry(),
      });
    } catch (error) {
      problems.push({ pointer: '', message: error instanceof Error ? error.message : String(error) });
    }
  }

  return {
    problems,
    check(input) {
      if (!validator) return [];
      if (!withinValues(input, MAX_INPUT_VALUES))
        return [
          {
            path: 'body.input',
            message: `has over ${MAX_INPUT_VALUES} values, more than its inputSchema is checked against: pass a reference`,
          },
        ];
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

/** Whether `input` holds at most `limit` JSON values (counted without recursion, stopping past the limit). */
function withinValues(input: unknown, limit: number): boolean {
  const stack: unknown[] = [input];
  let count = 0;
  while (stack.length > 0) {
    const value = stack.pop();
    if (++count > limit) return false;
    if (Array.isArray(value)) for (const item of value) stack.push(item);
    else if (typeof value === 'object' && value !== null)
      for (const item of Object.values(value)) stack.push(item);
  }
  return true;
}

function isScalar(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
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

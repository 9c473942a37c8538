/**
 * A use case's `inputSchema` (JSON Schema) as the check an execution's input passes when the run
 * starts: a 400 naming the field, before anything is stored or enqueued.
 *
 * The check itself runs in the expression workers (`checkSchema`, the `validate` agent's), under their
 * deadline and memory cap, never on the thread that serves requests: its cost is the schema's size
 * times the input's, a `pattern` runs on JavaScript's backtracking RegExp, and zod builds an issue
 * for every value that fails, so two reviews found schemas well inside any size limit that held the
 * thread for 20 s or ran it out of memory. What runs here, when the workflow compiles (so a use case
 * is refused when it is saved, with the pointer of each problem), is a walk that accepts only a plain
 * subset of JSON Schema, so that what a form shows and what the check does stay simple:
 * - Keywords: `type`, `properties`, `required`, `additionalProperties`, `items`, `prefixItems`,
 *   `enum`, `const`, `pattern`, `format` (a safe list), the numeric and length bounds, `uniqueItems`,
 *   and annotations. Anything else is refused: `$ref` and `$defs` (a cycle sent zod into endless
 *   recursion; a `$ref` could carry a pattern past this walk), and `anyOf`, `oneOf` and `allOf` (zod
 *   keeps every branch's issues for every value: 20 branches over a 50,000-item array ran it out
 *   of memory). A nullable field is a type list: `["string", "null"]`.
 * - `required` names only what `properties` lists (zod's conversion ignores any other name), and no
 *   property is named `__proto__` (the store refuses that key, so no input could have it).
 * - Input: one with over MAX_INPUT_VALUES values is refused before it is sent to a worker.
 * - Size: at most MAX_NODES schema objects, MAX_DEPTH deep; an `enum` of at most MAX_ENUM plain
 *   values; a `type` list only of scalar types (each object or array type would convert, and be
 *   tried, once more for every level below it).
 */
import { pointerToken } from '../../platform/document-rules.js';
import {
  ExpressionTimeoutError,
  InvalidInputError,
  PermanentError,
  type ProblemField,
} from '../../platform/errors.js';
import type { Context } from '../../platform/orchestrator.js';
import { checkSchema, requestScope } from './agents/expression.js';
import type { SchemaCheck } from './expressions/protocol.js';

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
  /** What the workers check inputs against: the schema without the annotations zod would keep. */
  schema: Record<string, unknown>;
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

export function compileInputSchema(schema: Record<string, unknown>): CompiledInputSchema {
  const problems: SchemaProblem[] = [];
  let nodes = 0;

  const problem = (pointer: string, message: string) => {
    problems.push({ pointer, message });
  };

  /** Checks a schema keyword by keyword and returns the copy zod converts (dropped annotations out). */
  const walk = (node: unknown, pointer: string, depth: number): unknown => {
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
    const inner = (sub: unknown, subPointer: string) => walk(sub, subPointer, depth + 1);
    for (const [key, value] of Object.entries(node)) {
      const here = `${pointer}/${pointerToken(key)}`;
      if (key === 'pattern') {
        const why = patternProblem(value);
        if (why) problem(here, why);
        else copy[key] = value;
      } else if (key === 'type') {
        if (typeCheck(value, here)) copy[key] = value;
      } else if (key === 'properties') {
        if (!isRecord(value)) problem(here, 'properties is an object of schemas');
        else
          copy[key] = Object.fromEntries(
            Object.entries(value).map(([name, sub]) => {
              const named = `${here}/${pointerToken(name)}`;
              // No input can hold it (the store refuses the key), so a schema requiring it refuses every input.
              if (name === '__proto__') problem(named, '"__proto__" cannot be a property name');
              return [name, inner(sub, named)];
            }),
          );
      } else if (key === 'items') {
        if (Array.isArray(value)) problem(here, 'items is one schema (a tuple is prefixItems)');
        else copy[key] = inner(value, here);
      } else if (key === 'prefixItems') {
        if (!Array.isArray(value) || value.length > 100)
          problem(here, 'prefixItems is a list of at most 100 schemas');
        else copy[key] = value.map((sub, i) => inner(sub, `${here}/${i}`));
      } else if (key === 'additionalProperties') {
        copy[key] = typeof value === 'boolean' ? value : inner(value, here);
      } else if (key === 'required') {
        if (!Array.isArray(value) || value.length > 1000 || !value.every((v) => typeof v === 'string'))
          problem(here, 'required is a list of property names');
        else {
          // zod's conversion ignores a required name its properties do not list: it would never be checked.
          const listed = isRecord(node.properties) ? node.properties : {};
          const unlisted = value.filter((name) => !Object.hasOwn(listed, name));
          if (unlisted.length > 0)
            problem(
              here,
              `required names ${unlisted.map((n) => JSON.stringify(n)).join(', ')}, which properties does not list`,
            );
          else copy[key] = value;
        }
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

  const stripped = walk(schema, '', 0) as Record<string, unknown>;
  return { problems, schema: stripped };
}

/** The check's answer as the fields of a refused input (paths `body.input.…`), at most MAX_REPORTED. */
export function inputProblems(
  issues: ReadonlyArray<{ path: readonly string[]; message: string }>,
): ProblemField[] {
  return issues.slice(0, MAX_REPORTED).map((issue) => ({
    path: ['body.input', ...issue.path].join('.'),
    message: readable(issue.message),
  }));
}

/** Why a pattern cannot be used (not a JavaScript regular expression), or null. */
function patternProblem(value: unknown): string | null {
  if (typeof value !== 'string') return 'a pattern is a string';
  try {
    new RegExp(value);
    return null;
  } catch (error) {
    return `not a regular expression: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** Whether `input` holds at most `limit` JSON values (counted without recursion, stopping past the limit). */
export function withinValues(input: unknown, limit = MAX_INPUT_VALUES): boolean {
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

/** zod says a missing field is of the wrong type: "expected number, received undefined". */
function readable(message: string): string {
  const missing = /expected (.+), received undefined$/.exec(message);
  return missing ? `required (${missing[1]})` : message;
}

/** How long a start may wait for an expression worker to check its input (busy with agents' jobs). */
const INPUT_CHECK_WAIT_MS = 30_000;

/**
 * An execution's input against its use case's inputSchema, in the expression workers (input-schema.ts):
 * a 400 naming each field it refuses, or saying why it could not be checked.
 */
export async function checkInputAtTheDoor(
  ctx: Context,
  useCaseId: string,
  schema: Record<string, unknown>,
  input: unknown,
): Promise<void> {
  const refuse = (why: string, fields: ProblemField[] = []): never => {
    throw new InvalidInputError(
      `The input does not match use case ${useCaseId}'s inputSchema: ${why}`,
      fields,
    );
  };
  if (!withinValues(input)) {
    refuse(
      `it has over ${MAX_INPUT_VALUES} values, more than is checked against a schema: pass a reference`,
      [{ path: 'body.input', message: `over ${MAX_INPUT_VALUES} values` }],
    );
  }
  let check: SchemaCheck;
  try {
    check = await checkSchema(
      schema,
      input,
      requestScope((name) => ctx.config.get(name), ctx.clock.now(), 'input', INPUT_CHECK_WAIT_MS),
    );
  } catch (error) {
    // Too slow or too big to check (the worker was stopped), or a schema zod cannot convert.
    if (error instanceof ExpressionTimeoutError || error instanceof PermanentError) {
      // The pool names the work as a step's: here it is the door's.
      const why = error.message.replace(/^Step "input": /, '');
      refuse(`it could not be checked: ${why}`, [{ path: 'body.input', message: why }]);
    }
    throw error;
  }
  if (!check.valid) {
    const fields = inputProblems(check.issues);
    refuse(fields.map((f) => `${f.path}: ${f.message}`).join('; '), fields);
  }
}

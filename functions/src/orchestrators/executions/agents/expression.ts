/**
 * The one expression language of the agents: JSONata, a JSON query and
 * transformation language interpreted over data. It is never `eval`: an
 * expression reaches only the data it is given and JSONata's own functions,
 * which have no access to JS globals (`$process`, `$require` are unbound
 * names) or to prototypes (field lookups are own-property only).
 *
 * Runaway expressions are bounded in layers, because no single check covers
 * them all and the evaluation shares the process with the engine:
 * - time and depth: JSONata's guardrails (`timeout`, `stack` options) are
 *   checked on entry to every node of the evaluation, so a loop or a deep
 *   recursion fails with D1012 / D1011 after `timeoutMs` / `maxDepth`;
 * - size: an exit hook measures every intermediate value (memoised by
 *   identity, so a value built by sharing, `{"a": $x, "b": $x}` doubled 40
 *   times, counts at its unshared size) and fails once one passes
 *   `maxValueSize`; sequences are capped at MAX_SEQUENCE items;
 * - single built-in calls that could do unbounded work at once are replaced
 *   (`$pad`, `$join`) or rejected at compile time (regular expressions with
 *   nested quantifiers, the classic catastrophic backtracking shape).
 * What is left: a built-in's one call on values within the size budget
 * (e.g. `$replace` multiplying a string), and backtracking by regular
 * expressions with overlapping alternatives. Both are bounded by the size
 * of the data, not by the expression.
 *
 * Evaluations are deterministic functions of their data and the caller's
 * clock: `$now()`/`$millis()` return the `now` the caller passes, and
 * `$random`, `$shuffle` and `$eval` (which would evaluate a string built at
 * run time past these checks) are disabled.
 */
import jsonata from 'jsonata';
import { z } from 'zod';
import { InvalidInputError, PermanentError } from '../../../platform/errors.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface EvaluateOptions {
  /** Wall-clock budget of one evaluation. @default 1000 */
  timeoutMs?: number;
  /** Deepest nesting of node evaluations (recursion included). @default 1000 */
  maxDepth?: number;
  /** Largest value an evaluation may build: one per array/object node plus string lengths. @default 10_000_000 */
  maxValueSize?: number;
  /** What `$now()` and `$millis()` return, ms since the epoch (pass the agent's clock). @default Date.now() */
  now?: number;
  /** Names the expression in error messages, e.g. `rule "large-amount"`. */
  label?: string;
}

export interface CompiledExpression {
  readonly source: string;
  /** One JSONata instance per distinct limits: its guardrail settings are fixed when it is made. */
  readonly instances: Map<string, jsonata.Expression>;
}

export const MAX_EXPRESSION_LENGTH = 10_000;
const MAX_SEQUENCE = 1_000_000;
/** Nesting levels of a result (Firestore allows 20 in a document). */
const MAX_NESTING = 64;
const MAX_PAD = 100_000;
const DISABLED = ['eval', 'random', 'shuffle'] as const;
const DEFAULTS = { timeoutMs: 1000, maxDepth: 1000, maxValueSize: 10_000_000 };
/** A binding name no expression can write or shadow: JSONata names cannot contain a space. */
const NOW_BINDING = 'seraphim now';
const EXIT_HOOK = Symbol.for('jsonata.__evaluate_exit');

const CACHE_SIZE = 256;
const cache = new Map<string, CompiledExpression>();

/** Parses and vets an expression; throws InvalidInputError with the position. Compiled expressions are cached. */
export function compileExpression(source: string): CompiledExpression {
  const hit = cache.get(source);
  if (hit) {
    cache.delete(source);
    cache.set(source, hit);
    return hit;
  }
  if (source.length > MAX_EXPRESSION_LENGTH) {
    throw new InvalidInputError(`Invalid expression: longer than ${MAX_EXPRESSION_LENGTH} characters`);
  }
  const limits = DEFAULTS;
  let instance: jsonata.Expression;
  try {
    instance = instantiate(source, limits);
  } catch (error) {
    const { message, position } = jsonataError(error);
    throw new InvalidInputError(`Invalid expression: ${message}${where(source, position)}`);
  }
  vet(instance.ast(), source);
  const compiled: CompiledExpression = { source, instances: new Map([[limitsKey(limits), instance]]) };
  cache.set(source, compiled);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  return compiled;
}

/** For workflow validation: the error message of an expression that does not compile, or null. */
export function checkExpression(source: string): string | null {
  try {
    compileExpression(source);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** A config field holding an expression: rejected at config time when it does not compile. */
export const ExpressionSource = z
  .string()
  .min(1)
  .superRefine((source, ctx) => {
    const problem = checkExpression(source);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/**
 * Evaluates over `data` and returns plain JSON: sequences become arrays and
 * "no result" becomes null. Failures (type errors, limits) are PermanentError:
 * the same data fails the same way on every retry.
 */
export async function evaluate(
  compiled: CompiledExpression,
  data: unknown,
  opts: EvaluateOptions = {},
): Promise<JsonValue> {
  const limits = {
    timeoutMs: opts.timeoutMs ?? DEFAULTS.timeoutMs,
    maxDepth: opts.maxDepth ?? DEFAULTS.maxDepth,
    maxValueSize: opts.maxValueSize ?? DEFAULTS.maxValueSize,
  };
  const key = limitsKey(limits);
  let instance = compiled.instances.get(key);
  if (!instance) {
    instance = instantiate(compiled.source, limits);
    if (compiled.instances.size < 8) compiled.instances.set(key, instance);
  }
  let result: unknown;
  try {
    result = await instance.evaluate(data, { [NOW_BINDING]: opts.now ?? Date.now() });
  } catch (error) {
    const { message, position, code } = jsonataError(error);
    throw new PermanentError(
      `${prefix(opts)}Expression failed: ${message}${where(compiled.source, position)}`,
      {
        details: { code, position, expression: compiled.source },
      },
    );
  }
  return toJson(result, compiled.source, opts);
}

/** Evaluates a condition: true, or false for false and "no result"; anything else is a PermanentError. */
export async function evaluateCondition(
  compiled: CompiledExpression,
  data: unknown,
  opts: EvaluateOptions = {},
): Promise<boolean> {
  const value = await evaluate(compiled, data, opts);
  if (value === true) return true;
  if (value === false || value === null) return false;
  throw new PermanentError(
    `${prefix(opts)}Condition ${JSON.stringify(compiled.source)} must give true or false, not ${describe(value)}`,
  );
}

// ---------------------------------------------------------------- internals

function prefix(opts: EvaluateOptions): string {
  return opts.label ? `${opts.label}: ` : '';
}

function limitsKey(limits: typeof DEFAULTS): string {
  return `${limits.timeoutMs}:${limits.maxDepth}:${limits.maxValueSize}`;
}

function instantiate(source: string, limits: typeof DEFAULTS): jsonata.Expression {
  const expr = jsonata(source, { timeout: limits.timeoutMs, stack: limits.maxDepth, sequence: MAX_SEQUENCE });
  for (const name of DISABLED) {
    expr.registerFunction(name, () =>
      fail('disabled-function', `$${name} is disabled in Seraphim expressions`),
    );
  }
  expr.registerFunction(
    'millis',
    function (this: jsonata.Focus) {
      return now(this);
    },
    '<:n>',
  );
  expr.registerFunction(
    'now',
    function (this: jsonata.Focus, picture?: string, timezone?: string) {
      // JSONata's own formatter, for pictures and time zones
      const fromMillis = this.environment.lookup('fromMillis') as
        | { implementation?: (this: jsonata.Focus, ...args: unknown[]) => string }
        | undefined;
      if (typeof fromMillis?.implementation !== 'function') return new Date(now(this)).toISOString();
      return fromMillis.implementation.call(this, now(this), picture, timezone);
    },
    '<s?s?:s>',
  );
  expr.registerFunction('pad', boundedPad, '<s-ns?:s>');
  expr.registerFunction(
    'join',
    (strings: string[] | undefined, separator = '') => {
      if (strings === undefined) return undefined;
      const list = Array.isArray(strings) ? strings : [strings];
      const size = list.reduce((sum, s) => sum + s.length + separator.length, 0);
      if (size > limits.maxValueSize) tooLarge(limits.maxValueSize);
      return list.join(separator);
    },
    '<a<s>s?:s>',
  );
  // Measure what every node returns; memo per evaluation, keyed by its root environment.
  const memos = new WeakMap<object, WeakMap<object, number>>();
  expr.assign(
    EXIT_HOOK as unknown as string,
    (_node: unknown, _input: unknown, env: Env, result: unknown) => {
      if (result === null || typeof result !== 'object') {
        if (typeof result === 'string' && result.length > limits.maxValueSize) tooLarge(limits.maxValueSize);
        return;
      }
      let memo = memos.get(env.base);
      if (!memo) {
        memo = new WeakMap();
        memos.set(env.base, memo);
      }
      measure(result, memo, limits.maxValueSize, 0);
    },
  );
  return expr;
}

interface Env {
  base: object;
}

function now(focus: jsonata.Focus): number {
  return focus.environment.lookup(NOW_BINDING) as number;
}

/** `$pad` without the unbounded width: padding is built with `repeat`, not a loop. */
function boundedPad(str: string | undefined, width: number, char?: string): string | undefined {
  if (str === undefined) return undefined;
  if (Math.abs(width) > MAX_PAD) fail('value-too-large', `$pad width is limited to ${MAX_PAD}`);
  const fill = char === undefined || char === '' ? ' ' : char;
  const missing = Math.abs(width) - [...str].length; // code points, as JSONata counts them
  if (missing <= 0) return str;
  const padding = [...fill.repeat(Math.ceil(missing / [...fill].length))].slice(0, missing).join('');
  return width > 0 ? str + padding : padding + str;
}

function isFunctionValue(value: object): boolean {
  return (
    typeof value === 'function' ||
    '_jsonata_lambda' in value ||
    '_jsonata_function' in value ||
    '_jsonata_partial' in value
  );
}

/** The unshared size of a value: one per array or object node plus string lengths. */
function measure(value: object, memo: WeakMap<object, number>, budget: number, depth: number): number {
  const known = memo.get(value);
  if (known !== undefined) return known;
  if (isFunctionValue(value)) return 1;
  if (depth > MAX_NESTING) fail('too-deep', `a value nested more than ${MAX_NESTING} levels deep`);
  let size = 1;
  const children = Array.isArray(value) ? value : Object.values(value);
  for (const child of children) {
    if (typeof child === 'string') size += child.length;
    else if (child !== null && typeof child === 'object') size += measure(child, memo, budget, depth + 1);
    else size += 1;
    if (size > budget) tooLarge(budget);
  }
  memo.set(value, size);
  return size;
}

function tooLarge(budget: number): never {
  return fail('value-too-large', `a value grew past the size limit of ${budget}`);
}

/** Throws in JSONata's error shape, so it gets the position of the call. */
function fail(code: string, message: string): never {
  throw { code, message };
}

function toJson(value: unknown, source: string, opts: EvaluateOptions, depth = 0): JsonValue {
  const gave = () => `${prefix(opts)}Expression ${JSON.stringify(source)} gave`;
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
    throw new PermanentError(`${gave()} a number JSON cannot hold: ${value}`);
  }
  if (typeof value === 'object' && !isFunctionValue(value)) {
    if (depth > MAX_NESTING) {
      throw new PermanentError(`${gave()} a value nested more than ${MAX_NESTING} levels deep`);
    }
    if (Array.isArray(value)) {
      return value.filter((v) => v !== undefined).map((v) => toJson(v, source, opts, depth + 1));
    }
    const out: Record<string, JsonValue> = {};
    for (const [k, v] of Object.entries(value))
      if (v !== undefined) out[k] = toJson(v, source, opts, depth + 1);
    return out;
  }
  throw new PermanentError(`${gave()} a function, not a JSON value`);
}

function describe(value: JsonValue): string {
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

function jsonataError(error: unknown): { message: string; position?: number; code?: string } {
  if (error !== null && typeof error === 'object') {
    const e = error as { message?: unknown; position?: unknown; code?: unknown };
    return {
      message: typeof e.message === 'string' ? e.message : String(error),
      ...(typeof e.position === 'number' ? { position: e.position } : {}),
      ...(typeof e.code === 'string' ? { code: e.code } : {}),
    };
  }
  return { message: String(error) };
}

/** ` at position 12 (near "a.b + "c)`: where in the source, for authors. */
function where(source: string, position: number | undefined): string {
  if (position === undefined) return '';
  const excerpt = source.slice(Math.max(0, position - 12), position + 4);
  return ` at position ${position} (near ${JSON.stringify(excerpt)})`;
}

/** Compile-time checks on the parsed tree: disabled functions, dangerous regular expressions. */
function vet(ast: jsonata.ExprNode, source: string): void {
  const seen = new Set<object>();
  const visit = (node: unknown): void => {
    if (node === null || typeof node !== 'object' || seen.has(node) || node instanceof RegExp) return;
    seen.add(node);
    if (Array.isArray(node)) {
      for (const child of node) visit(child);
      return;
    }
    const n = node as { type?: unknown; value?: unknown; position?: unknown };
    const position = typeof n.position === 'number' ? n.position : undefined;
    if (n.type === 'variable' && (DISABLED as readonly unknown[]).includes(n.value)) {
      throw new InvalidInputError(
        `Invalid expression: $${String(n.value)} is disabled in Seraphim expressions${where(source, position)}`,
      );
    }
    if (n.type === 'regex' && n.value instanceof RegExp && hasNestedQuantifier(n.value.source)) {
      throw new InvalidInputError(
        `Invalid expression: the regular expression /${n.value.source}/ repeats a group that itself repeats, which can take exponential time${where(source, position)}`,
      );
    }
    for (const child of Object.values(node)) visit(child);
  };
  visit(ast);
}

/**
 * True when a group containing a repeating quantifier is itself repeated
 * (`(a+)+`, `(\w*x)*`, `(?:a{2,})+`): star height above one. Escapes and
 * character classes are skipped; `?` and `{n}` do not repeat without bound.
 */
export function hasNestedQuantifier(pattern: string): boolean {
  const repeats = (at: number) => {
    const c = pattern[at];
    return c === '*' || c === '+' || (c === '{' && /^\{\d*,\d*\}/.test(pattern.slice(at)));
  };
  const enclosing: boolean[] = [];
  let repeatedInside = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      i++;
    } else if (c === '[') {
      for (i++; i < pattern.length && pattern[i] !== ']'; i++) if (pattern[i] === '\\') i++;
    } else if (c === '(') {
      enclosing.push(repeatedInside);
      repeatedInside = false;
    } else if (c === ')') {
      if (repeatedInside && repeats(i + 1)) return true;
      repeatedInside = (enclosing.pop() ?? false) || repeatedInside;
    } else if (repeats(i)) {
      repeatedInside = true;
    }
  }
  return false;
}

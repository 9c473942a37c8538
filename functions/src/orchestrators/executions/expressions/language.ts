/**
 * The one expression language of the agents: JSONata, a JSON query and
 * transformation language interpreted over data. It is never `eval`: an
 * expression reaches only the data it is given and JSONata's own functions,
 * which have no access to JS globals (`$process`, `$require` are unbound
 * names) or to prototypes (field lookups are own-property only).
 *
 * Expressions are evaluated in worker threads (pool.ts), never on the thread
 * that serves the API and dispatches tasks; this module is what a worker runs,
 * and what the main thread uses to check an expression when it is saved. It
 * imports no platform module: the worker loads it alone (see worker.ts).
 *
 * Runaway expressions are bounded in layers:
 * - time: the worker is terminated at the deadline (pool.ts); before that, an
 *   exit hook checks the deadline after every node, so most runaways end
 *   without losing the worker;
 * - depth: JSONata's `stack` guardrail fails a deep recursion (D1011);
 * - size: the exit hook measures every intermediate value (memoised by
 *   identity, so a value built by sharing, `{"a": $x, "b": $x}` doubled 40
 *   times, counts at its unshared size) and fails once one passes
 *   `maxValueSize`; sequences are capped at MAX_SEQUENCE items;
 * - single built-in calls: `$pad` and `$join` are replaced by bounded ones,
 *   and regular expressions run on RE2, in linear time (linear-regexp.ts).
 *
 * Evaluations are deterministic functions of their data and the caller's
 * clock: `$now()`/`$millis()` return the `now` the caller passes, and
 * `$random`, `$shuffle` and `$eval` (which would evaluate a string built at
 * run time past these checks) are disabled.
 */
import jsonata from 'jsonata';
// `.ts` specifiers in the files a worker loads: Node runs them from src by stripping types (tests),
// and tsc rewrites them to `.js` in lib (rewriteRelativeImportExtensions).
import { LinearRegExp, linearRegExpProblem } from './linear-regexp.ts';
import type { ExpressionJob, JobOutcome } from './protocol.ts';

export const MAX_EXPRESSION_LENGTH = 10_000;
export const DEFAULT_LIMITS = { maxDepth: 1000, maxValueSize: 10_000_000 };
export type Limits = typeof DEFAULT_LIMITS;

const MAX_SEQUENCE = 1_000_000;
/** Nesting levels of a result (Firestore allows 20 in a document). */
const MAX_NESTING = 64;
const MAX_PAD = 100_000;
const DISABLED = ['eval', 'random', 'shuffle'] as const;
/** Binding names no expression can write or shadow: JSONata names cannot contain a space. */
const NOW_BINDING = 'seraphim now';
const DEADLINE_BINDING = 'seraphim deadline';
const EXIT_HOOK = Symbol.for('jsonata.__evaluate_exit');
/** The code of a failure by the deadline, in the worker's answer and in the step's error. */
export const TIMEOUT_CODE = 'expression-timeout';

/** Why an expression does not compile, for authors: `Invalid expression: … at position 3 (near "a +")`; null when it does. */
export function compileProblem(source: string): string | null {
  try {
    compile(source, DEFAULT_LIMITS);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Parses and vets an expression into a JSONata instance with these limits; throws an Error for authors. */
function compile(source: string, limits: Limits): jsonata.Expression {
  if (source.length > MAX_EXPRESSION_LENGTH) {
    throw new Error(`Invalid expression: longer than ${MAX_EXPRESSION_LENGTH} characters`);
  }
  let instance: jsonata.Expression;
  try {
    instance = instantiate(source, limits);
  } catch (error) {
    const { message, position } = jsonataError(error);
    throw new Error(`Invalid expression: ${message}${where(source, position)}`);
  }
  vet(instance.ast(), source);
  return instance;
}

/**
 * Evaluates a worker's job: its expressions in order over one copy of the
 * data, each result as plain JSON (sequences become arrays, "no result"
 * becomes null; a condition gives true or false). The first failure ends it.
 */
export class ExpressionRunner {
  readonly #cache = new Map<string, jsonata.Expression>();
  readonly #cacheSize: number;

  constructor(cacheSize = 256) {
    this.#cacheSize = cacheSize;
  }

  async run(job: ExpressionJob): Promise<JobOutcome> {
    const limits = { maxDepth: job.maxDepth, maxValueSize: job.maxValueSize };
    const deadline = performance.now() + job.budgetMs;
    const values: unknown[] = [];
    for (const [index, { source, label, condition }] of job.expressions.entries()) {
      const prefix = label ? `${label}: ` : '';
      let instance: jsonata.Expression;
      try {
        instance = this.#instance(source, limits);
      } catch (error) {
        return { ok: false, index, code: 'invalid-expression', message: `${prefix}${errorText(error)}` };
      }
      let result: unknown;
      try {
        result = await instance.evaluate(job.data, { [NOW_BINDING]: job.now, [DEADLINE_BINDING]: deadline });
      } catch (error) {
        const { message, position, code } = jsonataError(error);
        return {
          ok: false,
          index,
          code: code ?? 'expression-failed',
          message: `${prefix}Expression failed: ${message}${where(source, position)}`,
          ...(position === undefined ? {} : { position }),
        };
      }
      const value = toJson(result, source, prefix);
      if (value instanceof NotJson) return { ok: false, index, code: 'not-json', message: value.message };
      if (!condition) {
        values.push(value.value);
        continue;
      }
      if (value.value !== true && value.value !== false && value.value !== null) {
        const message = `${prefix}Condition ${JSON.stringify(source)} must give true or false, not ${describe(value.value)}`;
        return { ok: false, index, code: 'not-boolean', message };
      }
      values.push(value.value === true);
      if (value.value === true && job.untilTrue) break;
    }
    return { ok: true, values };
  }

  /** Compile once per expression text (and limits), least recently used out first. */
  #instance(source: string, limits: Limits): jsonata.Expression {
    const key = `${limits.maxDepth}:${limits.maxValueSize}:${source}`;
    let instance = this.#cache.get(key);
    if (instance) this.#cache.delete(key);
    else instance = compile(source, limits);
    this.#cache.set(key, instance);
    if (this.#cache.size > this.#cacheSize) this.#cache.delete(this.#cache.keys().next().value as string);
    return instance;
  }
}

// ---------------------------------------------------------------- internals

function instantiate(source: string, limits: Limits): jsonata.Expression {
  const expr = jsonata(source, {
    stack: limits.maxDepth,
    sequence: MAX_SEQUENCE,
    // JSONata constructs it with `new` and calls only `exec`/`lastIndex`; its typing asks for all of RegExp.
    RegexEngine: LinearRegExp as unknown as RegExpConstructor,
  });
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
  // After every node: the deadline, and the size of what it returned (memo per evaluation, keyed by its root).
  const evaluations = new WeakMap<object, { memo: WeakMap<object, number>; deadline: number }>();
  expr.assign(
    EXIT_HOOK as unknown as string,
    (_node: unknown, _input: unknown, env: Env, result: unknown) => {
      let evaluation = evaluations.get(env.base);
      if (!evaluation) {
        const deadline = env.base.lookup(DEADLINE_BINDING);
        evaluation = { memo: new WeakMap(), deadline: typeof deadline === 'number' ? deadline : Infinity };
        evaluations.set(env.base, evaluation);
      }
      if (performance.now() > evaluation.deadline) fail(TIMEOUT_CODE, 'the deadline passed');
      if (result === null || typeof result !== 'object') {
        if (typeof result === 'string' && result.length > limits.maxValueSize) tooLarge(limits.maxValueSize);
        return;
      }
      measure(result, evaluation.memo, limits.maxValueSize, 0);
    },
  );
  return expr;
}

interface Env {
  base: { lookup(name: string): unknown };
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

/** Why a result cannot be JSON: `…Expression "$sum" gave a function, not a JSON value`. */
class NotJson extends Error {}

/** The result as plain JSON, or why it cannot be one. */
function toJson(value: unknown, source: string, prefix: string): { ok: true; value: unknown } | NotJson {
  const gave = (what: string) => new NotJson(`${prefix}Expression ${JSON.stringify(source)} gave ${what}`);
  const convert = (v: unknown, depth: number): unknown => {
    if (v === undefined || v === null) return null;
    if (typeof v === 'string' || typeof v === 'boolean') return v;
    if (typeof v === 'number') {
      if (Number.isFinite(v)) return v;
      throw gave(`a number JSON cannot hold: ${v}`);
    }
    if (typeof v === 'object' && !isFunctionValue(v)) {
      if (depth > MAX_NESTING) throw gave(`a value nested more than ${MAX_NESTING} levels deep`);
      if (Array.isArray(v))
        return v.filter((item) => item !== undefined).map((item) => convert(item, depth + 1));
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) if (item !== undefined) out[k] = convert(item, depth + 1);
      return out;
    }
    throw gave('a function, not a JSON value');
  };
  try {
    return { ok: true, value: convert(value, 0) };
  } catch (error) {
    if (error instanceof NotJson) return error;
    throw error;
  }
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
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

/** Compile-time checks on the parsed tree: disabled functions, regular expressions RE2 cannot run. */
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
      throw new Error(
        `Invalid expression: $${String(n.value)} is disabled in Seraphim expressions${where(source, position)}`,
      );
    }
    if (n.type === 'regex' && n.value instanceof RegExp) {
      const problem = linearRegExpProblem(n.value);
      if (problem) {
        throw new Error(
          `Invalid expression: the regular expression /${n.value.source}/ is not supported (${problem}); backreferences and lookaround are not available${where(source, position)}`,
        );
      }
    }
    for (const child of Object.values(node)) visit(child);
  };
  visit(ast);
}

/**
 * What the agents use of the expression language (JSONata, see
 * ../expressions/language.ts): a check when a config is parsed, and
 * evaluation in the expression workers (../expressions/pool.ts), never on
 * this thread. One agent call's expressions go as one job, over one copy of
 * its data, with one deadline: the step's remaining time, capped by
 * `SERAPHIM_EXPRESSION_TIMEOUT_MS`.
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { ExpressionTimeoutError, PermanentError } from '../../../platform/errors.js';
import { compileProblem, DEFAULT_LIMITS } from '../expressions/language.js';
import { ExpressionPool, type JobRun } from '../expressions/pool.js';
import { type SchemaCheck, SchemaCheckSchema } from '../expressions/protocol.js';
import type { AgentCall } from './types.js';

export { MAX_EXPRESSION_LENGTH } from '../expressions/language.js';

/** An expression of a config, with the name its errors give it (`rule "large-amount"`). */
export interface ExpressionCall {
  source: string;
  label?: string;
}

/** Where and how long one agent call's expressions run. */
export interface ExpressionScope {
  pool: ExpressionPool;
  /** The step, named in a timeout. */
  step: string;
  /** What `$now()` and `$millis()` return (the agent's clock). */
  now: number;
  /** The longest the job may run once a worker has it. */
  capMs: number;
  /** What is left of the step's time (less a margin); waiting for a worker counts against it. */
  stepLeftMs: number;
  signal?: AbortSignal;
  /** Deepest nesting of node evaluations (recursion included). @default 1000 */
  maxDepth?: number;
  /** Largest value an evaluation may build: one per array/object node plus string lengths. @default 10_000_000 */
  maxValueSize?: number;
}

/**
 * Settings, read at call time:
 * - `SERAPHIM_EXPRESSION_WORKERS`: worker threads. @default the CPU count, 2 to 8
 * - `SERAPHIM_EXPRESSION_TIMEOUT_MS`: the longest one agent call's expressions may run. @default 1000
 */
export const EXPRESSION_SETTINGS = {
  workers: 'SERAPHIM_EXPRESSION_WORKERS',
  timeoutMs: 'SERAPHIM_EXPRESSION_TIMEOUT_MS',
};
const DEFAULT_TIMEOUT_MS = 1000;
/** The job ends this long before the step's own timeout, so the step fails with the expression's error. */
const STEP_MARGIN_MS = 100;

/** The scope of an agent call: its step, clock, settings, and what is left of the step's timeout. */
export function expressionScope(call: Pick<AgentCall<unknown>, 'ctx' | 'step'>): ExpressionScope {
  const { ctx, step } = call;
  const { pool, capMs } = poolSettings(ctx.setting);
  return {
    pool,
    step: step.id,
    now: ctx.clock.now(),
    capMs,
    stepLeftMs: ctx.timeLeftMs() - STEP_MARGIN_MS,
    signal: ctx.signal,
  };
}

/**
 * The scope of a check outside any step (an execution's input at the door): `label` names it in a
 * timeout; the job itself has the settings' cap, and waiting for a worker may take up to `waitMs` more.
 */
export function requestScope(
  read: (name: string) => string | undefined,
  now: number,
  label: string,
  waitMs: number,
): ExpressionScope {
  const { pool, capMs } = poolSettings(read);
  return { pool, step: label, now, capMs, stepLeftMs: capMs + waitMs };
}

function poolSettings(read: (name: string) => string | undefined): { pool: ExpressionPool; capMs: number } {
  const workers = setting(read, EXPRESSION_SETTINGS.workers, 1, 64) ?? defaultWorkers();
  const capMs = setting(read, EXPRESSION_SETTINGS.timeoutMs, 1, 3_600_000) ?? DEFAULT_TIMEOUT_MS;
  return { pool: sharedPool(workers), capMs };
}

/** Evaluates expressions in order over `data`; their values as plain JSON ("no result" is null). */
export async function evaluateAll(
  expressions: readonly ExpressionCall[],
  data: unknown,
  scope: ExpressionScope,
): Promise<unknown[]> {
  return run(
    expressions.map((e) => ({ ...e, condition: false })),
    data,
    scope,
    false,
  );
}

export async function evaluate(
  source: string,
  data: unknown,
  scope: ExpressionScope,
  label?: string,
): Promise<unknown> {
  const [value] = await evaluateAll([{ source, ...(label ? { label } : {}) }], data, scope);
  return value;
}

/**
 * Evaluates conditions in order: true, or false for false and "no result";
 * anything else fails the step. With `untilTrue`, stops after the first that
 * holds (the answer is then shorter than the conditions).
 */
export async function evaluateConditions(
  conditions: readonly ExpressionCall[],
  data: unknown,
  scope: ExpressionScope,
  opts: { untilTrue: boolean },
): Promise<boolean[]> {
  const values = await run(
    conditions.map((c) => ({ ...c, condition: true })),
    data,
    scope,
    opts.untilTrue,
  );
  return values.map((v) => v === true);
}

/**
 * Checks a value against a user's JSON Schema in the workers, under the same
 * deadline: its `pattern`s run on JavaScript's backtracking RegExp.
 */
export async function checkSchema(
  schema: Record<string, unknown>,
  value: unknown,
  scope: ExpressionScope,
): Promise<SchemaCheck> {
  if (scope.stepLeftMs <= 0) {
    throw new ExpressionTimeoutError(`Step "${scope.step}": no time was left to check its schema`);
  }
  const [check] = await scope.pool.run(
    { kind: 'schema', schema, value, budgetMs: Math.min(scope.capMs, scope.stepLeftMs) },
    runOf(scope),
  );
  return SchemaCheckSchema.parse(check);
}

/** For workflow validation: the error message of an expression that does not compile, or null. Cached. */
export function checkExpression(source: string): string | null {
  const hit = checked.get(source);
  if (hit !== undefined) return hit;
  const problem = compileProblem(source);
  checked.set(source, problem);
  if (checked.size > CHECKED_SIZE) checked.delete(checked.keys().next().value as string);
  return problem;
}

/** A config field holding an expression: rejected at config time when it does not compile. */
export const ExpressionSource = z
  .string()
  .min(1)
  .superRefine((source, ctx) => {
    const problem = checkExpression(source);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

// ---------------------------------------------------------------- internals

// Configs are parsed on every step run: their expressions are checked once.
const CHECKED_SIZE = 1024;
const checked = new Map<string, string | null>();

let shared: ExpressionPool | undefined;

/** The process's pool: the agents of every runtime in it share the workers. */
function sharedPool(size: number): ExpressionPool {
  if (!shared) shared = new ExpressionPool({ size });
  else shared.resize(size);
  return shared;
}

function defaultWorkers(): number {
  return Math.min(8, Math.max(2, availableParallelism()));
}

function setting(
  read: (name: string) => string | undefined,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const raw = read(name);
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new PermanentError(
      `${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

async function run(
  expressions: Array<ExpressionCall & { condition: boolean }>,
  data: unknown,
  scope: ExpressionScope,
  untilTrue: boolean,
): Promise<unknown[]> {
  for (const { source } of expressions) {
    const problem = checkExpression(source);
    if (problem) throw new PermanentError(problem);
  }
  if (expressions.length === 0) return [];
  if (scope.stepLeftMs <= 0) {
    throw new ExpressionTimeoutError(`Step "${scope.step}": no time was left for its expressions`);
  }
  return scope.pool.run(
    {
      kind: 'expressions',
      expressions,
      data,
      now: scope.now,
      untilTrue,
      budgetMs: Math.min(scope.capMs, scope.stepLeftMs),
      maxDepth: scope.maxDepth ?? DEFAULT_LIMITS.maxDepth,
      maxValueSize: scope.maxValueSize ?? DEFAULT_LIMITS.maxValueSize,
    },
    runOf(scope),
  );
}

function runOf(scope: ExpressionScope): JobRun {
  return {
    step: scope.step,
    capMs: scope.capMs,
    stepLeftMs: scope.stepLeftMs,
    ...(scope.signal ? { signal: scope.signal } : {}),
  };
}

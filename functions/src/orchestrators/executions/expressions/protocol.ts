/**
 * What crosses the thread boundary between the pool and an expression worker,
 * as structured clones: one job in, one outcome out. Both sides parse what
 * they receive.
 */
import { z } from 'zod';

/** The worker's own deadline, from when it starts the job; the pool terminates it a little after. */
const BudgetMs = z.number().positive();

export const ExpressionJobSchema = z.strictObject({
  kind: z.literal('expressions'),
  expressions: z.array(
    z.strictObject({
      source: z.string(),
      /** Names the expression in error messages, e.g. `rule "large-amount"`. */
      label: z.string().optional(),
      /** A condition gives true or false (no result counts as false); anything else fails. */
      condition: z.boolean(),
    }),
  ),
  /** The one copy of the data every expression of the job reads. */
  data: z.unknown(),
  /** What `$now()` and `$millis()` return, ms since the epoch. */
  now: z.number(),
  /** Stop after the first condition that holds (a rule table's first match, a branch's first case). */
  untilTrue: z.boolean(),
  budgetMs: BudgetMs,
  maxDepth: z.number().int().positive(),
  maxValueSize: z.number().int().positive(),
});
export type ExpressionJob = z.infer<typeof ExpressionJobSchema>;

/** A value checked against a user's JSON Schema, whose `pattern`s are regular expressions. */
export const SchemaJobSchema = z.strictObject({
  kind: z.literal('schema'),
  schema: z.record(z.string(), z.unknown()),
  value: z.unknown(),
  budgetMs: BudgetMs,
});
export type SchemaJob = z.infer<typeof SchemaJobSchema>;

export const WorkerJobSchema = z.discriminatedUnion('kind', [ExpressionJobSchema, SchemaJobSchema]);
export type WorkerJob = z.infer<typeof WorkerJobSchema>;

/** A schema job's one value. */
export const SchemaCheckSchema = z.discriminatedUnion('valid', [
  z.strictObject({ valid: z.literal(true), value: z.unknown() }),
  z.strictObject({
    valid: z.literal(false),
    issues: z.array(z.strictObject({ path: z.array(z.string()), message: z.string() })),
  }),
]);
export type SchemaCheck = z.infer<typeof SchemaCheckSchema>;

export const JobOutcomeSchema = z.discriminatedUnion('ok', [
  /** One value per expression evaluated, in order (fewer than asked when `untilTrue` stopped early); a schema job's SchemaCheck. */
  z.strictObject({ ok: z.literal(true), values: z.array(z.unknown()) }),
  z.strictObject({
    ok: z.literal(false),
    /** The expression that failed, by its place in the job. */
    index: z.number().int().min(0),
    /** JSONata's error code (`T2001`, `D1011`…) or ours (`expression-timeout`, `value-too-large`…). */
    code: z.string(),
    /** For authors, prefixed with the expression's label. */
    message: z.string(),
    position: z.number().optional(),
  }),
]);
export type JobOutcome = z.infer<typeof JobOutcomeSchema>;

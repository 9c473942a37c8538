/**
 * What the executions API answers with besides the stored documents: a list
 * row of an execution, a timeline entry, a checkpoint and a checkpoint's
 * reference. The routes and the OpenAPI document share these schemas.
 */
import { z } from 'zod';
import { type Execution, ExecutionSchema, SETTLED_STEP, STEP_STATUSES } from './model.js';

/** @default 80 */
export const INPUT_PREVIEW_CHARS = 80;

/**
 * The start of an input's compact JSON, cut to `max` characters (an ellipsis
 * included), so a list row says which run it is without carrying the input.
 * @example inputPreview({ claimId: 'C-1', amount: 420 }) // '{"claimId":"C-1","amount":420}'
 */
export function inputPreview(input: unknown, max = INPUT_PREVIEW_CHARS): string {
  let json: string;
  try {
    json = JSON.stringify(input) ?? '';
  } catch {
    return '';
  }
  // Code points, not UTF-16 units: the cut never splits an emoji or an accented letter's pair.
  const chars = Array.from(json);
  return chars.length <= max ? json : `${chars.slice(0, Math.max(0, max - 1)).join('')}…`;
}

export const ExecutionSummarySchema = ExecutionSchema.pick({
  id: true,
  useCaseId: true,
  useCaseVersion: true,
  status: true,
  paused: true,
  createdAt: true,
  updatedAt: true,
  endedAt: true,
  parentId: true,
}).extend({
  steps: z.object({ total: z.number(), settled: z.number(), failed: z.number(), waiting: z.number() }),
  error: z.string().nullable(),
  inputPreview: z
    .string()
    .describe(`The start of the input's compact JSON, at most ${INPUT_PREVIEW_CHARS} characters`),
});
export type ExecutionSummary = z.infer<typeof ExecutionSummarySchema>;

export function summarize(e: Execution): ExecutionSummary {
  const steps = Object.values(e.steps);
  return {
    id: e.id,
    useCaseId: e.useCaseId,
    useCaseVersion: e.useCaseVersion,
    status: e.status,
    paused: e.paused,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
    endedAt: e.endedAt,
    parentId: e.parentId,
    steps: {
      total: steps.length,
      settled: steps.filter((s) => SETTLED_STEP.includes(s.status)).length,
      failed: steps.filter((s) => s.status === 'failed').length,
      waiting: steps.filter((s) => s.status === 'waiting').length,
    },
    error: e.error?.message ?? null,
    inputPreview: inputPreview(e.input),
  };
}

export const TimelineEntrySchema = z.object({
  stepId: z.string(),
  agent: z.string().nullable().describe('The agent kind'),
  status: z.enum(STEP_STATUSES),
  attempts: z.number(),
  queuedAt: z.number().nullable(),
  startedAt: z.number().nullable(),
  endedAt: z.number().nullable(),
  durationMs: z.number().nullable(),
  cacheHit: z.boolean(),
  error: z.string().nullable(),
  waitingFor: z.string().nullable(),
  prompt: z.string().nullable().describe('What a human step asks'),
  resumeAt: z
    .number()
    .nullable()
    .describe("When a waiting timer or a retry backoff resumes, or a human step's deadline"),
  deadline: z
    .number()
    .nullable()
    .describe('A human step’s decision deadline; past it the step fails with human-timeout'),
  tokens: z.object({ model: z.string(), prompt: z.number(), completion: z.number() }).nullable(),
  checkpoints: z.array(z.number()),
  inputs: z.record(z.string(), z.unknown()).nullable(),
  output: z.unknown(),
});

const CheckpointHeadSchema = z.object({
  n: z.number(),
  at: z.number(),
  stepId: z.string(),
  attempt: z.number(),
  status: z.string(),
});

/** A checkpoint without its context and step states: what a list of them shows (from 1: 0 is no step's). */
export const CheckpointRefSchema = CheckpointHeadSchema.meta({ id: 'CheckpointRef' });

export const CheckpointSchema = CheckpointHeadSchema.extend({
  stepId: z
    .string()
    .nullable()
    .describe('The step whose settling wrote it; null at 0, the start (for a fork: what it inherited)'),
  status: z.string().nullable().describe("That step's status then; null at 0"),
  inputs: z.record(z.string(), z.unknown()),
  context: z.record(z.string(), z.unknown()),
  steps: z.record(z.string(), z.unknown()),
}).meta({ id: 'Checkpoint' });

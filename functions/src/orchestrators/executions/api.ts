/**
 * The executions API's contract: use cases, executions, operator controls
 * and the debugging tools. Routes implement it (routes.ts); the typed client
 * and Mission Control call it. Imports only zod and schema modules.
 */
import { z } from 'zod';
import { defineContract } from '../../platform/contract.js';
import { UseCaseIdSchema } from '../use-cases/model.js';
import { EXECUTION_STATUSES, ExecutionSchema } from './model.js';
import {
  CheckpointRefSchema,
  CheckpointSchema,
  ExecutionSummarySchema,
  TimelineEntrySchema,
} from './responses.js';

const Ws = z.object({ workspace: z.string() });
const WsExec = Ws.extend({ id: z.string().regex(/^[0-9A-Z]{26}$/, 'must be an execution id') });
const WsExecStep = WsExec.extend({ stepId: z.string() });
const Page = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().optional(),
});
/** An agent's answer (agents/types.ts AgentResult), as a re-run reports it. */
const AgentResultSchema = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('succeeded'),
    output: z.unknown(),
    usage: z.object({ model: z.string(), promptTokens: z.number(), completionTokens: z.number() }).optional(),
    route: z.array(z.string()).optional(),
  }),
  z.object({
    status: z.literal('waiting'),
    reason: z.enum(['human', 'timer']),
    until: z.number().optional(),
    prompt: z.string().optional(),
  }),
]);
const base = '/workspaces/:workspace';
const exec = `${base}/executions/:id`;

/** An agent kind as it describes itself: its `config` as JSON Schema, converted from its zod schema. */
export const AgentKindSchema = z
  .object({
    kind: z.string(),
    description: z.string(),
    /** Calls out of the process (an API, a model): its latency and 429s feed the adaptive limits. */
    upstream: z.boolean(),
    /** JSON Schema (draft 2020-12) of a step's `config` for this kind. */
    config: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'AgentKind' });

export const executionsApi = {
  listAgents: defineContract({
    method: 'GET',
    path: '/agents',
    access: 'signed-in',
    summary: "The agent kinds a step may name, each with its config's JSON Schema",
    response: z.object({ agents: z.array(AgentKindSchema) }),
  }),
  start: defineContract({
    method: 'POST',
    path: `${base}/executions`,
    access: 'operator',
    summary: 'Run a use case over one input',
    problems: [429], // past the workspace's admission budget
    params: Ws,
    body: z.object({ useCaseId: UseCaseIdSchema, input: z.unknown().default({}) }),
    status: 202,
    response: ExecutionSchema.extend({
      queuePosition: z.number().int().optional().describe("Place in the workspace's admission budget"),
    }),
  }),
  list: defineContract({
    method: 'GET',
    path: `${base}/executions`,
    access: 'viewer',
    summary: 'Executions, newest first, filtered by use case and status',
    description:
      'With `updatedAfter`, only the executions changed since then, most recently updated first: ' +
      'poll with the largest `updatedAt` seen, following `nextCursor` to the end.',
    params: Ws,
    query: Page.extend({
      useCase: z.string().optional(),
      status: z.enum(EXECUTION_STATUSES).optional(),
      updatedAfter: z.coerce
        .number()
        .int()
        .min(0)
        .optional()
        .describe('ms since epoch: only executions updated after it'),
    }),
    response: z.object({ executions: z.array(ExecutionSummarySchema), nextCursor: z.string().optional() }),
  }),
  get: defineContract({
    method: 'GET',
    path: exec,
    access: 'viewer',
    summary: 'One execution: state, context and steps',
    params: WsExec,
    response: ExecutionSchema,
  }),
  timeline: defineContract({
    method: 'GET',
    path: `${exec}/timeline`,
    access: 'viewer',
    summary: 'Steps, attempts, durations, inputs and outputs, errors and cache hits',
    params: WsExec,
    response: z.object({ execution: ExecutionSummarySchema, timeline: z.array(TimelineEntrySchema) }),
  }),
  checkpoints: defineContract({
    method: 'GET',
    path: `${exec}/checkpoints`,
    access: 'viewer',
    summary: 'Checkpoints in the order they were written: number, step, attempt, status and time',
    params: WsExec,
    query: Page,
    response: z.object({ checkpoints: z.array(CheckpointRefSchema), nextCursor: z.string().optional() }),
  }),
  checkpoint: defineContract({
    method: 'GET',
    path: `${exec}/checkpoints/:n`,
    access: 'viewer',
    summary: 'One checkpoint: the context and step states after a step settled (0 is the start)',
    params: WsExec.extend({ n: z.coerce.number().int().min(0) }),
    response: CheckpointSchema,
  }),
  value: defineContract({
    method: 'GET',
    path: `${exec}/values/:sha256`,
    access: 'viewer',
    summary: 'A value the execution keeps by reference ({"$blob": {path, bytes, sha256}} in its context)',
    params: WsExec.extend({ sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 in hex') }),
    response: z.unknown(),
  }),
  diff: defineContract({
    method: 'GET',
    path: `${exec}/diff`,
    access: 'viewer',
    summary: 'What changed between two checkpoints (0 is the start)',
    params: WsExec,
    query: z.object({ from: z.coerce.number().int().min(0), to: z.coerce.number().int().min(0) }),
    response: z.object({
      context: z.array(
        z.object({ key: z.string(), change: z.string(), before: z.unknown(), after: z.unknown() }),
      ),
      steps: z.array(
        z.object({ stepId: z.string(), before: z.string().nullable(), after: z.string().nullable() }),
      ),
    }),
  }),
  control: defineContract({
    method: 'POST',
    path: `${exec}/control`,
    access: 'operator',
    summary: 'Pause, resume or cancel an execution',
    problems: [409], // the machine refuses the input in the current state
    params: WsExec,
    body: z.object({
      action: z.enum(['pause', 'resume', 'cancel']),
      reason: z.string().max(500).optional(),
    }),
    response: ExecutionSchema,
  }),
  retry: defineContract({
    method: 'POST',
    path: `${exec}/steps/:stepId/retry`,
    access: 'operator',
    summary: 'Retry a failed step with a fresh retry budget',
    problems: [409], // the machine refuses the input in the current state
    params: WsExecStep,
    response: ExecutionSchema,
  }),
  reschedule: defineContract({
    method: 'POST',
    path: `${exec}/steps/:stepId/reschedule`,
    access: 'operator',
    summary: "Move the time a waiting step resumes, or a human step's decision deadline",
    problems: [409], // the machine refuses the input in the current state
    params: WsExecStep,
    body: z.object({ at: z.number().int().positive().describe('ms since epoch') }),
    response: ExecutionSchema,
  }),
  decide: defineContract({
    method: 'POST',
    path: `${exec}/steps/:stepId/decision`,
    access: 'operator',
    summary: 'Approve or reject a step waiting for a person',
    problems: [409], // the machine refuses the input in the current state
    params: WsExecStep,
    body: z.object({
      decision: z.enum(['approved', 'rejected']),
      comment: z.string().max(2000).optional(),
    }),
    response: ExecutionSchema,
  }),
  rerun: defineContract({
    method: 'POST',
    path: `${exec}/steps/:stepId/rerun`,
    access: 'operator',
    summary: 'Debug: run one step again on the inputs it recorded; the execution is not changed',
    description:
      'A step a fork inherited re-runs on the inputs its parent recorded. 404 for a step the workflow ' +
      'lacks, 409 for one that has not run yet.',
    problems: [409], // the step has not run yet
    params: WsExecStep,
    response: z.object({
      inputs: z.record(z.string(), z.unknown()),
      result: AgentResultSchema.nullable().describe(
        'What the agent answered; null when it threw (see `error`)',
      ),
      error: z.object({ message: z.string(), code: z.string(), retryable: z.boolean() }).nullable(),
      durationMs: z.number(),
    }),
  }),
  fork: defineContract({
    method: 'POST',
    path: `${exec}/fork`,
    access: 'operator',
    summary: 'Start a new execution from a checkpoint, with edited input; linked to its parent',
    problems: [429], // admission, as for a new execution
    params: WsExec,
    body: z.object({ checkpoint: z.number().int().min(0), input: z.unknown().optional() }),
    status: 202,
    response: ExecutionSchema,
  }),
};

/**
 * The executions API: use cases, executions, operator controls and the
 * debugging tools. Thin: parse with zod, call the engine or the store.
 */
import { z } from 'zod';
import { ConflictError } from '../../platform/errors.js';
import { type Context, defineRoute, type RouteDefinition } from '../../platform/orchestrator.js';
import { diffCheckpoints, timeline } from './debug.js';
import type { ExecutionEngine } from './engine.js';
import type { MachineInput } from './machine.js';
import {
  EXECUTION_STATUSES,
  type Execution,
  ExecutionSchema,
  UseCaseBodySchema,
  UseCaseSchema,
} from './model.js';
import {
  CheckpointRefSchema,
  CheckpointSchema,
  ExecutionSummarySchema,
  summarize,
  TimelineEntrySchema,
} from './responses.js';
import {
  getCheckpoint,
  getExecution,
  getUseCase,
  lastCheckpointOf,
  listCheckpoints,
  listExecutions,
  listUseCases,
  saveUseCase,
} from './store.js';

const Ws = z.object({ workspace: z.string() });
const WsUseCase = Ws.extend({ useCase: z.string() });
const WsExec = Ws.extend({ id: z.string().regex(/^[0-9A-Z]{26}$/, 'must be an execution id') });
const WsExecStep = WsExec.extend({ stepId: z.string() });
const Page = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().optional(),
});

/** Applies an operator input; 409 with the machine's reason when it does not apply now. */
async function operate(
  engine: ExecutionEngine,
  ctx: Context,
  workspace: string,
  id: string,
  input: MachineInput,
) {
  await getExecution(ctx.documents, workspace, id); // 404 before anything else
  const decision = await engine.apply(ctx, workspace, id, () => input);
  if (!decision?.accepted)
    throw new ConflictError(decision?.reason ?? 'not applicable now', { executionId: id });
  return decision.state;
}

export function executionRoutes(engine: ExecutionEngine): RouteDefinition[] {
  const base = '/workspaces/:workspace';
  const exec = `${base}/executions/:id`;
  return [
    defineRoute({
      method: 'POST',
      path: `${base}/use-cases`,
      access: 'admin',
      summary: 'Create a use case, or save a new version of it; the workflow is validated first',
      params: Ws,
      body: UseCaseBodySchema,
      status: 201,
      response: UseCaseSchema,
      async handler(req, ctx) {
        engine.compile({
          ...req.body,
          workspace: req.params.workspace,
          version: 0,
          createdAt: 0,
          updatedAt: 0,
        });
        return (await saveUseCase(ctx.documents, req.params.workspace, req.body, ctx.clock.now())).useCase;
      },
    }),
    defineRoute({
      method: 'GET',
      path: `${base}/use-cases`,
      access: 'viewer',
      summary: 'Use cases of a workspace',
      params: Ws,
      query: Page,
      response: z.object({ useCases: z.array(UseCaseSchema), nextCursor: z.string().optional() }),
      async handler(req, ctx) {
        const page = await listUseCases(
          ctx.documents,
          req.params.workspace,
          req.query.limit,
          req.query.cursor,
        );
        return {
          useCases: page.docs.map((d) => d.data),
          ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
        };
      },
    }),
    defineRoute({
      method: 'GET',
      path: `${base}/use-cases/:useCase`,
      access: 'viewer',
      summary: 'One use case: the latest version, or the one named by ?version=',
      params: WsUseCase,
      query: z.object({ version: z.coerce.number().int().min(1).optional() }),
      response: UseCaseSchema,
      handler: async (req, ctx) =>
        getUseCase(ctx.documents, req.params.workspace, req.params.useCase, req.query.version),
    }),
    defineRoute({
      method: 'POST',
      path: `${base}/executions`,
      access: 'operator',
      summary: 'Run a use case over one input',
      params: Ws,
      body: z.object({ useCaseId: z.string(), input: z.unknown().default({}) }),
      status: 202,
      response: ExecutionSchema.extend({
        queuePosition: z.number().int().optional().describe("Place in the workspace's admission budget"),
      }),
      async handler(req, ctx) {
        const useCase = await getUseCase(ctx.documents, req.params.workspace, req.body.useCaseId);
        return engine.start(ctx, req.params.workspace, useCase, req.body.input);
      },
    }),
    defineRoute({
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
      async handler(req, ctx) {
        const page = await listExecutions(ctx.documents, req.params.workspace, {
          useCaseId: req.query.useCase,
          status: req.query.status,
          updatedAfter: req.query.updatedAfter,
          limit: req.query.limit,
          cursor: req.query.cursor,
        });
        return {
          executions: page.docs.map((d) => summarize(d.data)),
          ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
        };
      },
    }),
    defineRoute({
      method: 'GET',
      path: exec,
      access: 'viewer',
      summary: 'One execution: state, context and steps',
      params: WsExec,
      response: ExecutionSchema,
      handler: async (req, ctx) =>
        (await getExecution(ctx.documents, req.params.workspace, req.params.id)).data,
    }),
    defineRoute({
      method: 'GET',
      path: `${exec}/timeline`,
      access: 'viewer',
      summary: 'Steps, attempts, durations, inputs and outputs, errors and cache hits',
      params: WsExec,
      response: z.object({ execution: ExecutionSummarySchema, timeline: z.array(TimelineEntrySchema) }),
      async handler(req, ctx) {
        const { data } = await getExecution(ctx.documents, req.params.workspace, req.params.id);
        const useCase = await getUseCase(
          ctx.documents,
          req.params.workspace,
          data.useCaseId,
          data.useCaseVersion,
        );
        const checkpoints = await listCheckpoints(ctx.documents, req.params.workspace, req.params.id, 1000);
        return {
          execution: summarize(data),
          timeline: timeline(
            data,
            useCase.workflow.steps,
            checkpoints.docs.map((d) => d.data),
          ),
        };
      },
    }),
    defineRoute({
      method: 'GET',
      path: `${exec}/checkpoints`,
      access: 'viewer',
      summary: 'Checkpoints in the order they were written: number, step, attempt, status and time',
      params: WsExec,
      query: Page,
      response: z.object({ checkpoints: z.array(CheckpointRefSchema), nextCursor: z.string().optional() }),
      async handler(req, ctx) {
        const { workspace, id } = req.params;
        await getExecution(ctx.documents, workspace, id); // 404 for an unknown execution, not an empty list
        const page = await listCheckpoints(ctx.documents, workspace, id, req.query.limit, req.query.cursor);
        return {
          checkpoints: page.docs.map(({ data: { n, at, stepId, attempt, status } }) => ({
            n,
            at,
            stepId,
            attempt,
            status,
          })),
          ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
        };
      },
    }),
    defineRoute({
      method: 'GET',
      path: `${exec}/checkpoints/:n`,
      access: 'viewer',
      summary: 'One checkpoint: the context and step states after a step settled',
      params: WsExec.extend({ n: z.coerce.number().int().min(0) }),
      response: CheckpointSchema,
      handler: async (req, ctx) =>
        getCheckpoint(ctx.documents, req.params.workspace, req.params.id, req.params.n),
    }),
    defineRoute({
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
      async handler(req, ctx) {
        const { data } = await getExecution(ctx.documents, req.params.workspace, req.params.id);
        const at = async (n: number) =>
          n === 0
            ? { context: { input: data.input, vars: data.context.vars }, steps: {} }
            : getCheckpoint(ctx.documents, req.params.workspace, req.params.id, n);
        return diffCheckpoints(await at(req.query.from), await at(req.query.to));
      },
    }),
    defineRoute({
      method: 'POST',
      path: `${exec}/control`,
      access: 'operator',
      summary: 'Pause, resume or cancel an execution',
      params: WsExec,
      body: z.object({
        action: z.enum(['pause', 'resume', 'cancel']),
        reason: z.string().max(500).optional(),
      }),
      response: ExecutionSchema,
      async handler(req, ctx) {
        const at = ctx.clock.now();
        const input: MachineInput =
          req.body.action === 'cancel'
            ? { type: 'cancel', at, ...(req.body.reason ? { reason: req.body.reason } : {}) }
            : { type: req.body.action, at };
        return operate(engine, ctx, req.params.workspace, req.params.id, input);
      },
    }),
    defineRoute({
      method: 'POST',
      path: `${exec}/steps/:stepId/retry`,
      access: 'operator',
      summary: 'Retry a failed step with a fresh retry budget',
      params: WsExecStep,
      response: ExecutionSchema,
      handler: async (req, ctx) =>
        operate(engine, ctx, req.params.workspace, req.params.id, {
          type: 'retryStep',
          stepId: req.params.stepId,
          at: ctx.clock.now(),
        }),
    }),
    defineRoute({
      method: 'POST',
      path: `${exec}/steps/:stepId/reschedule`,
      access: 'operator',
      summary: "Move the time a waiting step resumes, or a human step's decision deadline",
      params: WsExecStep,
      body: z.object({ at: z.number().int().positive().describe('ms since epoch') }),
      response: ExecutionSchema,
      handler: async (req, ctx) =>
        operate(engine, ctx, req.params.workspace, req.params.id, {
          type: 'rescheduleStep',
          stepId: req.params.stepId,
          resumeAt: req.body.at,
          at: ctx.clock.now(),
        }),
    }),
    defineRoute({
      method: 'POST',
      path: `${exec}/steps/:stepId/decision`,
      access: 'operator',
      summary: 'Approve or reject a step waiting for a person',
      params: WsExecStep,
      body: z.object({
        decision: z.enum(['approved', 'rejected']),
        comment: z.string().max(2000).optional(),
      }),
      response: ExecutionSchema,
      handler: async (req, ctx) =>
        operate(engine, ctx, req.params.workspace, req.params.id, {
          type: 'decision',
          stepId: req.params.stepId,
          decision: req.body.decision,
          by: req.identity?.uid ?? 'unknown',
          ...(req.body.comment ? { comment: req.body.comment } : {}),
          at: ctx.clock.now(),
        }),
    }),
    defineRoute({
      method: 'POST',
      path: `${exec}/steps/:stepId/rerun`,
      access: 'operator',
      summary: 'Debug: run one step again on the inputs it recorded; the execution is not changed',
      params: WsExecStep,
      response: z.object({
        inputs: z.record(z.string(), z.unknown()),
        result: z.unknown(),
        error: z.object({ message: z.string(), code: z.string(), retryable: z.boolean() }).nullable(),
        durationMs: z.number(),
      }),
      async handler(req, ctx) {
        const { workspace, id, stepId } = req.params;
        const { data } = await getExecution(ctx.documents, workspace, id);
        const recorded = await lastCheckpointOf(ctx.documents, workspace, id, stepId);
        if (!recorded)
          throw new ConflictError(
            `Step ${stepId} has not run yet: there are no recorded inputs to re-run it on`,
          );
        const run = await engine.rerunStep(ctx, data, stepId, recorded?.inputs ?? null);
        return {
          ...run,
          error: run.error
            ? { message: run.error.message, code: run.error.code, retryable: run.error.retryable }
            : null,
        };
      },
    }),
    defineRoute({
      method: 'POST',
      path: `${exec}/fork`,
      access: 'operator',
      summary: 'Start a new execution from a checkpoint, with edited input; linked to its parent',
      params: WsExec,
      body: z.object({ checkpoint: z.number().int().min(0), input: z.unknown().optional() }),
      status: 202,
      response: ExecutionSchema,
      async handler(req, ctx) {
        const { workspace, id } = req.params;
        const { data: parent } = await getExecution(ctx.documents, workspace, id);
        const useCase = await getUseCase(ctx.documents, workspace, parent.useCaseId, parent.useCaseVersion);
        const point =
          req.body.checkpoint === 0
            ? { context: {}, steps: {} }
            : await getCheckpoint(ctx.documents, workspace, id, req.body.checkpoint);
        const input = req.body.input === undefined ? parent.input : req.body.input;
        return engine.start(ctx, workspace, useCase, input, {
          id,
          checkpoint: req.body.checkpoint,
          context: point.context,
          steps: point.steps as Execution['steps'],
          // Edited input re-runs every step that depends on it; unchanged input keeps all finished work.
          inputChanged: JSON.stringify(input) !== JSON.stringify(parent.input),
        });
      },
    }),
  ];
}

/**
 * The executions API: executions, operator controls and the
 * debugging tools. Thin: each implements its contract (api.ts) by calling the
 * engine or the store.
 */
import { ConflictError, NotFoundError } from '../../platform/errors.js';
import { type Context, implement, type RouteDefinition } from '../../platform/orchestrator.js';
import { resolveUseCase } from '../use-cases/resolve.js';
import { type AgentDescription, describeAgents } from './agents/registry.js';
import { executionsApi } from './api.js';
import { diffCheckpoints, timeline } from './debug.js';
import type { ExecutionEngine } from './engine.js';
import type { MachineInput } from './machine.js';
import { summarize } from './responses.js';
import { getCheckpoint, getExecution, listCheckpoints, listExecutions, recordedInputsOf } from './store.js';
import { loadValue, valuePath } from './values.js';

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
  let agents: AgentDescription[] | undefined;
  return [
    implement(executionsApi.listAgents, async () => {
      agents ??= describeAgents(engine.agents);
      return { agents };
    }),
    implement(executionsApi.start, async (req, ctx) => {
      const useCase = await resolveUseCase(ctx.documents, req.params.workspace, req.body.useCaseId);
      return engine.start(ctx, req.params.workspace, useCase, req.body.input);
    }),
    implement(executionsApi.list, async (req, ctx) => {
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
    }),
    implement(
      executionsApi.get,
      async (req, ctx) => (await getExecution(ctx.documents, req.params.workspace, req.params.id)).data,
    ),
    implement(executionsApi.timeline, async (req, ctx) => {
      const { data } = await getExecution(ctx.documents, req.params.workspace, req.params.id);
      const useCase = await engine.useCase(ctx, req.params.workspace, data.useCaseId, data.useCaseVersion);
      const checkpoints = await listCheckpoints(ctx.documents, req.params.workspace, req.params.id, 1000);
      return {
        execution: summarize(data),
        timeline: timeline(
          data,
          useCase.workflow.steps,
          checkpoints.docs.map((d) => d.data),
        ),
      };
    }),
    implement(executionsApi.checkpoints, async (req, ctx) => {
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
    }),
    implement(executionsApi.checkpoint, async (req, ctx) =>
      getCheckpoint(ctx.documents, req.params.workspace, req.params.id, req.params.n),
    ),
    implement(executionsApi.value, async (req, ctx) => {
      const { workspace, id, sha256 } = req.params;
      await getExecution(ctx.documents, workspace, id); // 404 for an execution that is not there
      const path = valuePath(workspace, id, sha256);
      const meta = await ctx.blobs.head(path);
      if (!meta) throw new NotFoundError(`Execution ${id} keeps no value ${sha256}`);
      return loadValue(ctx, { $blob: { path, bytes: meta.size, sha256 } });
    }),
    implement(executionsApi.diff, async (req, ctx) => {
      const { workspace, id } = req.params;
      const at = (n: number) => getCheckpoint(ctx.documents, workspace, id, n);
      return diffCheckpoints(await at(req.query.from), await at(req.query.to));
    }),
    implement(executionsApi.control, async (req, ctx) => {
      const at = ctx.clock.now();
      const input: MachineInput =
        req.body.action === 'cancel'
          ? { type: 'cancel', at, ...(req.body.reason ? { reason: req.body.reason } : {}) }
          : { type: req.body.action, at };
      return operate(engine, ctx, req.params.workspace, req.params.id, input);
    }),
    implement(executionsApi.retry, async (req, ctx) =>
      operate(engine, ctx, req.params.workspace, req.params.id, {
        type: 'retryStep',
        stepId: req.params.stepId,
        at: ctx.clock.now(),
      }),
    ),
    implement(executionsApi.reschedule, async (req, ctx) =>
      operate(engine, ctx, req.params.workspace, req.params.id, {
        type: 'rescheduleStep',
        stepId: req.params.stepId,
        resumeAt: req.body.at,
        at: ctx.clock.now(),
      }),
    ),
    implement(executionsApi.decide, async (req, ctx) =>
      operate(engine, ctx, req.params.workspace, req.params.id, {
        type: 'decision',
        stepId: req.params.stepId,
        decision: req.body.decision,
        by: req.identity?.uid ?? 'unknown',
        ...(req.body.comment ? { comment: req.body.comment } : {}),
        at: ctx.clock.now(),
      }),
    ),
    implement(executionsApi.rerun, async (req, ctx) => {
      const { workspace, id, stepId } = req.params;
      const { data } = await getExecution(ctx.documents, workspace, id);
      if (!(stepId in data.steps)) throw new NotFoundError(`Step ${stepId} not found in execution ${id}`);
      const recorded = await recordedInputsOf(ctx.documents, data, stepId);
      // An inherited step whose parent is gone re-runs on the fork's context, which holds what it read.
      if (!recorded && !data.origin?.steps[stepId])
        throw new ConflictError(
          `Step ${stepId} has not run yet: there are no recorded inputs to re-run it on`,
        );
      const run = await engine.rerunStep(ctx, data, stepId, recorded);
      return {
        ...run,
        error: run.error
          ? { message: run.error.message, code: run.error.code, retryable: run.error.retryable }
          : null,
      };
    }),
    implement(executionsApi.fork, async (req, ctx) => {
      const { workspace, id } = req.params;
      const { data: parent } = await getExecution(ctx.documents, workspace, id);
      const useCase = await engine.useCase(ctx, workspace, parent.useCaseId, parent.useCaseVersion);
      const point = await getCheckpoint(ctx.documents, workspace, id, req.body.checkpoint);
      const input = req.body.input === undefined ? parent.input : req.body.input;
      return engine.start(ctx, workspace, useCase, input, {
        id,
        checkpoint: req.body.checkpoint,
        context: point.context,
        steps: point.steps,
        // Edited input re-runs every step that depends on it; unchanged input keeps all finished work.
        inputChanged: JSON.stringify(input) !== JSON.stringify(parent.input),
      });
    }),
  ];
}

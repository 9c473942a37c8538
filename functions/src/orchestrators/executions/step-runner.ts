/**
 * The step runner: one step attempt, from its task to the machine input that
 * reports it. It reads only the step's declared inputs, runs the agent (or
 * takes a cached result), checks the output against its contract, and says
 * what happened, and what the upstream did, for the adaptive limits. It
 * decides nothing about the execution (the engine commits what it reports),
 * and knows nothing of the pool: the step queues' declared flow control
 * (queues.ts) holds its slots around the whole attempt.
 */
import {
  errorMessage,
  isRetryable,
  NotFoundError,
  PermanentError,
  RetryAfterError,
  RetryableError,
  SeraphimError,
} from '../../platform/errors.js';
import type { Context } from '../../platform/orchestrator.js';
import type { TaskInfo } from '../../platform/ports.js';
import type { UseCase } from '../use-cases/model.js';
import { checkSchema, expressionScope } from './agents/expression.js';
import type { AgentContext, AgentDefinition, AgentResult } from './agents/types.js';
import { byteSize, cacheKeyOf, checkOutput } from './contract.js';
import type { MachineInput } from './machine.js';
import { type Execution, type StepError, TERMINAL_EXECUTION } from './model.js';
import type { StepTask } from './queues.js';
import { getExecution, type RecordedInputs } from './store.js';
import { traceAgentCall } from './tracing.js';
import {
  CONTEXT_INLINE_BUDGET,
  INLINE_VALUE_BYTES,
  isOwnRef,
  keepable,
  resolvePath,
  resolveRefs,
} from './values.js';
import type { AgentCatalog, CompiledStep, CompiledWorkflow } from './workflow.js';

export interface AgentRegistry extends AgentCatalog {
  get(kind: string): AgentDefinition | undefined;
}

/** Where the runner finds the use case version an execution runs, compiled (the engine caches both). */
export interface WorkflowSource {
  useCase(ctx: Context, workspace: string, id: string, version: number): Promise<UseCase>;
  compile(useCase: UseCase): CompiledWorkflow;
}

/** What one attempt reported: the machine input to commit, with the inputs it read (for its checkpoint). */
export interface StepReport {
  input: MachineInput;
  inputs: Record<string, unknown>;
}

/**
 * The values a step reads, its declared inputs and nothing else of the
 * context, loaded through any reference they pass (values.ts); and the same
 * as its checkpoint records them, each kept small (a big one by reference).
 */
export async function readInputs(
  ctx: Context,
  node: CompiledStep,
  execution: Pick<Execution, 'workspace' | 'id' | 'context'>,
): Promise<{ values: Record<string, unknown>; recorded: Record<string, unknown> }> {
  const entries = await Promise.all(
    Object.entries(node.step.inputs).map(async ([name, path]) => {
      const raw = execution.context[path];
      const value = await resolvePath(ctx, execution, execution.context, path);
      // A whole output kept by reference is recorded as its reference; anything else big is stored once.
      const recorded = isOwnRef(raw, execution) ? raw : await keepable(ctx, execution, value);
      return { name, value, recorded };
    }),
  );
  return {
    values: Object.fromEntries(entries.map((e) => [e.name, e.value])),
    recorded: Object.fromEntries(entries.map((e) => [e.name, e.recorded])),
  };
}

export function toStepError(error: unknown): StepError {
  return {
    message: errorMessage(error).slice(0, 2000),
    code: error instanceof SeraphimError ? error.code : 'internal',
    retryable: isRetryable(error),
    ...(error instanceof SeraphimError && 'retryAfterMs' in error
      ? { retryAfterMs: Number(error.retryAfterMs) }
      : {}),
  };
}

type RunResult = AgentResult & { cacheHit?: boolean };

/** What a debugging re-run of one step found: the inputs it used and the agent's answer or error. */
export interface StepRerun {
  inputs: Record<string, unknown>;
  result: AgentResult | null;
  error: StepError | null;
  durationMs: number;
}

export class StepRunner {
  readonly #agents: AgentRegistry;
  readonly #source: WorkflowSource;

  constructor(agents: AgentRegistry, source: WorkflowSource) {
    this.#agents = agents;
    this.#source = source;
  }

  /**
   * Runs one step attempt. Null when this delivery has nothing to do (a
   * redelivery, or an attempt the execution has moved past). What the agent's
   * upstream did goes to `info.reportUpstream` (the adaptive limits).
   */
  async run(
    ctx: Context,
    task: StepTask,
    info?: Pick<TaskInfo, 'reportUpstream'>,
  ): Promise<StepReport | null> {
    const { data: execution } = await getExecution(ctx.documents, task.workspace, task.executionId);
    const state = execution.steps[task.stepId];
    if (
      !state ||
      state.attempts !== task.attempt ||
      !['queued', 'running'].includes(state.status) ||
      TERMINAL_EXECUTION.includes(execution.status)
    ) {
      return null;
    }
    const useCase = await this.#source.useCase(
      ctx,
      task.workspace,
      execution.useCaseId,
      execution.useCaseVersion,
    );
    const node = this.#source.compile(useCase).steps.get(task.stepId);
    if (!node)
      throw new PermanentError(`Step ${task.stepId} is not in use case ${useCase.id} v${useCase.version}`);
    const { values: inputs, recorded } = await readInputs(ctx, node, execution);
    const startedAt = ctx.clock.now();
    const result = await traceAgentCall(ctx, node.step.agent, () =>
      this.#runAgent(ctx, useCase, execution, task, inputs),
    ).catch((error: unknown) => error);
    // Auto-scaling: the agent kind's limit and the queue's dispatch rate follow latency and the upstream's
    // 429s; an in-process kind has no upstream, and a cache hit or a wait says nothing about one.
    const says =
      this.#agents.get(node.step.agent)?.upstream === true &&
      !(isResult(result) && (result.cacheHit || result.status === 'waiting'));
    info?.reportUpstream?.(
      says
        ? { latencyMs: ctx.clock.now() - startedAt, rateLimited: result instanceof RetryAfterError }
        : null,
    );
    const kept = await keepOutput(ctx, execution, result);
    return { input: report(task, kept, startedAt, ctx.clock.now(), ctx), inputs: recorded };
  }

  /**
   * Debugging: runs one step's agent again on the inputs its last checkpoint
   * recorded (or on the current context), without changing the execution.
   * Cache is bypassed; the contract is checked. Recorded references are read
   * from the execution that recorded them: a fork's parent, for a step it inherited.
   */
  async rerun(
    ctx: Context,
    execution: Execution,
    stepId: string,
    recorded: RecordedInputs | null,
  ): Promise<StepRerun> {
    const useCase = await this.#source.useCase(
      ctx,
      execution.workspace,
      execution.useCaseId,
      execution.useCaseVersion,
    );
    const node = this.#source.compile(useCase).steps.get(stepId);
    if (!node) throw new NotFoundError(`Step ${stepId} not found in execution ${execution.id}`);
    const inputs = recorded
      ? await resolveRefs(ctx, recorded.owner, recorded.inputs)
      : (await readInputs(ctx, node, execution)).values;
    const started = performance.now();
    const task = { workspace: execution.workspace, executionId: execution.id, stepId, attempt: 0 };
    try {
      const result = await this.#runAgent(ctx, useCase, execution, task, inputs, { useCache: false });
      return { inputs, result, error: null, durationMs: performance.now() - started };
    } catch (error) {
      return { inputs, result: null, error: toStepError(error), durationMs: performance.now() - started };
    }
  }

  async #runAgent(
    ctx: Context,
    useCase: UseCase,
    execution: Execution,
    task: StepTask,
    inputs: Record<string, unknown>,
    opts: { useCache: boolean } = { useCache: true },
  ): Promise<RunResult> {
    const node = this.#source.compile(useCase).steps.get(task.stepId);
    const step = node?.step;
    const agent = step ? this.#agents.get(step.agent) : undefined;
    if (!step || !agent) throw new PermanentError(`No agent for step ${task.stepId}`);
    const config = agent.config.parse(step.config);
    const cacheKey =
      step.cache && opts.useCache
        ? cacheKeyOf(execution.workspace, step.agent, step.config, step.cache.key, inputs)
        : null;
    if (cacheKey) {
      const hit = await ctx.kv.get(cacheKey);
      if (hit !== null) return { status: 'succeeded', output: JSON.parse(hit) as unknown, cacheHit: true };
    }
    const signal = AbortSignal.timeout(step.timeoutSeconds * 1000);
    const endsAt = performance.now() + step.timeoutSeconds * 1000;
    const agentCtx: AgentContext = {
      clock: ctx.clock,
      logger: ctx.logger.child({ executionId: execution.id, stepId: task.stepId, agent: step.agent }),
      secret: (name) => {
        if (!useCase.secrets.includes(name)) {
          throw new PermanentError(`Secret ${name} is not declared by use case ${useCase.id}`);
        }
        // Checked again at run time: a scope may have narrowed since the use case was saved.
        return ctx.config.useCaseSecrets.read(name, execution.workspace);
      },
      providerKey: (name) => ctx.config.secret(name),
      setting: (name) => ctx.config.get(name),
      fetch: globalThis.fetch,
      signal,
      timeLeftMs: () => endsAt - performance.now(),
    };
    const result = await Promise.race([
      agent.run({
        config,
        inputs,
        step: { id: task.stepId, attempt: task.attempt },
        execution: {
          id: execution.id,
          workspace: execution.workspace,
          correlationId: execution.correlationId,
        },
        ctx: agentCtx,
      }),
      new Promise<never>((_, reject) =>
        signal.addEventListener(
          'abort',
          () => reject(new RetryableError(`Step timed out after ${step.timeoutSeconds} s`)),
          { once: true },
        ),
      ),
    ]);
    if (result.status === 'succeeded') {
      await checkOutput(step.id, step.outputSchema, result.output, (schema, value) =>
        checkSchema(
          schema,
          value,
          expressionScope({ ctx: agentCtx, step: { id: step.id, attempt: task.attempt } }),
        ),
      );
      const json = JSON.stringify(result.output ?? null);
      // A big output is not cached: kv values stay small, and its blob belongs to this execution.
      if (cacheKey && step.cache && Buffer.byteLength(json) <= INLINE_VALUE_BYTES) {
        await ctx.kv.set(cacheKey, json, { ttlMs: step.cache.ttlSeconds * 1000 });
      }
    }
    return result;
  }
}

/**
 * A succeeded result with its output as the execution may keep it: by
 * reference when it is big, or when the context has no room left for it.
 * A failure to store it is the attempt's failure (retried like any other).
 */
async function keepOutput(ctx: Context, execution: Execution, result: unknown): Promise<unknown> {
  if (!isResult(result) || result.status !== 'succeeded') return result;
  try {
    const room = CONTEXT_INLINE_BUDGET - byteSize(execution.context);
    return { ...result, output: await keepable(ctx, execution, result.output, room) };
  } catch (error) {
    return error;
  }
}

function isResult(value: unknown): value is RunResult {
  return typeof value === 'object' && value !== null && 'status' in value;
}

/** What an attempt's result (or the error it threw) tells the machine. */
function report(task: StepTask, result: unknown, startedAt: number, at: number, ctx: Context): MachineInput {
  const { stepId, attempt } = task;
  if (result instanceof Error || !isResult(result)) {
    const error = toStepError(result);
    ctx.logger.warn('step attempt failed', {
      executionId: task.executionId,
      stepId,
      attempt,
      error: error.message,
      retryable: error.retryable,
    });
    return { type: 'stepFailed', stepId, attempt, error, startedAt, at };
  }
  if (result.status === 'waiting') {
    return {
      type: 'stepWaiting',
      stepId,
      attempt,
      reason: result.reason,
      until: result.until,
      prompt: result.prompt,
      startedAt,
      at,
    };
  }
  return {
    type: 'stepSucceeded',
    stepId,
    attempt,
    output: result.output,
    startedAt,
    route: result.route,
    usage: result.usage,
    cacheHit: result.cacheHit,
    at,
  };
}

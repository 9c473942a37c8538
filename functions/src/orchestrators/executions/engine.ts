/**
 * The execution engine: carries out what the machine decides. It commits each
 * decision (store.ts), then enqueues the steps to run, the timers to set and
 * the events to publish. A step runs as one task: it reads only its declared
 * inputs, runs its agent (or takes a cached result), checks the output against
 * its contract and reports back to the machine. Task ids are keyed on
 * execution, step and attempt, so a redelivered task finds its attempt
 * already settled and does nothing.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  DeferError,
  errorMessage,
  isRetryable,
  NotFoundError,
  PayloadTooLargeError,
  PermanentError,
  RetryAfterError,
  RetryableError,
  SeraphimError,
} from '../../platform/errors.js';
import {
  type Context,
  functionName,
  type PriorityClass,
  priorityQueueKey,
  type RateLimits,
} from '../../platform/orchestrator.js';
import type { PoolManager } from '../pool/manager.js';
import type { AgentContext, AgentDefinition, AgentResult } from './agents/types.js';
import { type Decision, decide, type Effect, type MachineInput, newExecution } from './machine.js';
import { type Execution, type StepError, TERMINAL_EXECUTION, type UseCase } from './model.js';
import { commitDecision, createExecution, getExecution, getUseCase } from './store.js';
import { traceAgentCall, traceStep } from './tracing.js';
import { type AgentCatalog, type CompiledWorkflow, compileWorkflow } from './workflow.js';

export const ORCHESTRATOR = 'executions';
export const TIMER_TASK = 'timer';
export const FINISHED_TOPIC = 'execution.finished';
/** Inputs and outputs above this go by reference: the execution document must stay far below Firestore's 1 MiB. */
export const MAX_VALUE_BYTES = 256 * 1024;

export const StepTaskSchema = z.object({
  workspace: z.string(),
  executionId: z.string(),
  stepId: z.string(),
  attempt: z.number().int().min(1),
});
export type StepTask = z.infer<typeof StepTaskSchema>;
export const TimerTaskSchema = StepTaskSchema.extend({ at: z.number() });

/** The step queues' declared limits, one queue per priority class; the pool's AIMD scales them down and back. */
export const STEP_QUEUE_LIMITS: Record<PriorityClass, Required<RateLimits>> = {
  high: { maxConcurrentDispatches: 32, maxDispatchesPerSecond: 500 },
  normal: { maxConcurrentDispatches: 16, maxDispatchesPerSecond: 200 },
  low: { maxConcurrentDispatches: 8, maxDispatchesPerSecond: 100 },
  batch: { maxConcurrentDispatches: 4, maxDispatchesPerSecond: 50 },
};

export const stepQueue = (priority: PriorityClass) =>
  functionName(ORCHESTRATOR, priorityQueueKey('step', priority));

export interface AgentRegistry extends AgentCatalog {
  get(kind: string): AgentDefinition | undefined;
}

export function byteSize(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value ?? null));
}

/** Reads a dotted context path (`claim.amount`) with no access beyond plain data. */
export function readContextPath(context: Record<string, unknown>, path: string): unknown {
  let value: unknown = context;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return null;
    value = (value as Record<string, unknown>)[key];
  }
  return value ?? null;
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

export class ExecutionEngine {
  readonly #agents: AgentRegistry;
  readonly #compiled = new Map<string, CompiledWorkflow>();

  readonly #pool: PoolManager | undefined;
  /** Per document store: one engine may serve several stores (tests), and versions are immutable only within one. */
  readonly #useCases = new WeakMap<object, Map<string, UseCase>>();

  /** Without a pool, steps run as fast as their queues dispatch them (tests of the engine alone). */
  constructor(agents: AgentRegistry, pool?: PoolManager) {
    this.#agents = agents;
    this.#pool = pool;
  }

  /**
   * A use case version is immutable once saved (versions are never rewritten or
   * deleted), so each is read once per process: a step then reads one document
   * besides its execution.
   */
  async useCase(ctx: Context, workspace: string, id: string, version: number): Promise<UseCase> {
    const key = `${workspace}/${id}@${version}`;
    let cache = this.#useCases.get(ctx.documents);
    if (!cache) {
      cache = new Map();
      this.#useCases.set(ctx.documents, cache);
    }
    let found = cache.get(key);
    if (!found) {
      found = await getUseCase(ctx.documents, workspace, id, version);
      if (cache.size >= 500) cache.delete(cache.keys().next().value as string);
      cache.set(key, found);
    }
    return found;
  }

  get pool(): PoolManager | undefined {
    return this.#pool;
  }

  get agents(): AgentRegistry {
    return this.#agents;
  }

  /**
   * Compiled workflows, cached by content (bounded): a version number alone is not
   * enough, since a use case deleted and created again starts at version 1.
   */
  compile(useCase: UseCase): CompiledWorkflow {
    const key = createHash('sha256').update(JSON.stringify(useCase.workflow)).digest('base64url');
    let wf = this.#compiled.get(key);
    if (!wf) {
      wf = compileWorkflow(useCase.workflow, this.#agents);
      if (this.#compiled.size > 500) this.#compiled.delete(this.#compiled.keys().next().value as string);
      this.#compiled.set(key, wf);
    }
    return wf;
  }

  async start(
    ctx: Context,
    workspace: string,
    useCase: UseCase,
    input: unknown,
    parent?: Parameters<typeof newExecution>[0]['parent'],
  ): Promise<Execution & { queuePosition?: number }> {
    const size = byteSize(input);
    if (size > MAX_VALUE_BYTES) {
      throw new PayloadTooLargeError(
        `Execution input is ${size} bytes; the limit is ${MAX_VALUE_BYTES}. Pass a reference.`,
      );
    }
    const wf = this.compile(useCase);
    const now = ctx.clock.now();
    const execution = newExecution({
      id: ctx.ids.next(),
      workspace,
      useCase,
      wf,
      input,
      correlationId: ctx.correlationId,
      at: now,
      ...(parent ? { parent } : {}),
    });
    // Admission: counted in before it exists, so a burst cannot overrun the budget.
    const admission = this.#pool ? await this.#pool.admit(ctx, workspace) : undefined;
    if (admission && !admission.accepted) throw new RetryAfterError(admission.reason, admission.retryAfterMs);
    // The start decision is taken before the document exists, so starting costs one write.
    const started = decide(wf, execution, { type: 'start', at: now });
    try {
      await createExecution(ctx.documents, started.state);
    } catch (error) {
      if (this.#pool) await this.#pool.finished(ctx, workspace);
      throw error;
    }
    await this.carryOut(ctx, started.state, started.effects);
    return { ...started.state, ...(admission?.accepted ? { queuePosition: admission.position } : {}) };
  }

  /** Commits one machine input and carries out its effects. */
  async apply(
    ctx: Context,
    workspace: string,
    executionId: string,
    input: (execution: Execution) => MachineInput,
    inputs?: Record<string, unknown>,
  ): Promise<Decision | null> {
    let useCase: UseCase | undefined;
    const decision = await commitDecision(ctx.documents, workspace, executionId, async (execution) => {
      useCase ??= await this.useCase(ctx, workspace, execution.useCaseId, execution.useCaseVersion);
      return { ...decide(this.compile(useCase), execution, input(execution)), ...(inputs ? { inputs } : {}) };
    });
    if (decision?.accepted) await this.carryOut(ctx, decision.state, decision.effects);
    return decision;
  }

  async carryOut(ctx: Context, execution: Execution, effects: Effect[]): Promise<void> {
    const base = { workspace: execution.workspace, executionId: execution.id };
    for (const effect of effects) {
      if (effect.type === 'dispatchStep') {
        // Workspaces take turns at dispatch (fair queuing), by the weight their pool settings give them.
        const fairness = this.#pool ? await this.#pool.fairness(ctx, execution.workspace) : {};
        await ctx.tasks.enqueue(
          stepQueue(effect.priority as PriorityClass),
          { ...base, stepId: effect.stepId, attempt: effect.attempt },
          {
            id: `${execution.id}-${effect.stepId}-a${effect.attempt}`,
            scheduleTime: effect.runAt,
            fairness: { key: execution.workspace, ...fairness },
          },
        );
      } else if (effect.type === 'scheduleTimer') {
        await ctx.tasks.enqueue(
          functionName(ORCHESTRATOR, TIMER_TASK),
          { ...base, stepId: effect.stepId, attempt: effect.attempt, at: effect.at },
          {
            id: `${execution.id}-${effect.stepId}-a${effect.attempt}-t${effect.at}`,
            scheduleTime: effect.at,
          },
        );
      } else if (effect.type === 'finished') {
        if (this.#pool) await this.#pool.finished(ctx, execution.workspace);
        await ctx.events.publish(
          FINISHED_TOPIC,
          { ...base, useCaseId: execution.useCaseId, status: effect.status },
          { orderingKey: execution.id, attributes: { correlationId: execution.correlationId } },
        );
      }
    }
  }

  /** Runs one step attempt: the task handler of every step queue. */
  async runStep(ctx: Context, task: StepTask): Promise<void> {
    return traceStep(ctx, task, () => this.#runStep(ctx, task));
  }

  async #runStep(ctx: Context, task: StepTask): Promise<void> {
    const { data: execution } = await getExecution(ctx.documents, task.workspace, task.executionId);
    const state = execution.steps[task.stepId];
    if (
      !state ||
      state.attempts !== task.attempt ||
      !['queued', 'running'].includes(state.status) ||
      TERMINAL_EXECUTION.includes(execution.status)
    ) {
      return; // a redelivery, or an attempt the execution has moved past
    }
    const useCase = await this.useCase(ctx, task.workspace, execution.useCaseId, execution.useCaseVersion);
    const node = this.compile(useCase).steps.get(task.stepId);
    if (!node)
      throw new PermanentError(`Step ${task.stepId} is not in use case ${useCase.id} v${useCase.version}`);
    const inputs = Object.fromEntries(
      Object.entries(node.step.inputs).map(([name, path]) => [
        name,
        readContextPath(execution.context, path),
      ]),
    );
    const log = ctx.logger.child({ executionId: execution.id, stepId: task.stepId, attempt: task.attempt });
    const lease = this.#pool
      ? await this.#pool.acquire(ctx, {
          workspace: task.workspace,
          useCaseId: execution.useCaseId,
          agentKind: node.step.agent,
          holder: `${task.executionId}/${task.stepId}/${task.attempt}`,
          ttlMs: node.step.timeoutSeconds * 1000 + 60_000,
        })
      : undefined;
    if (lease && !lease.ok) {
      // The pool is full in one dimension: the task waits its turn on that dimension, without spending an attempt.
      throw new DeferError(`The pool is full (${lease.dimension}); step ${task.stepId} waits for a slot`, {
        gate: lease.gate,
        delayMs: 0,
      });
    }
    const startedAt = ctx.clock.now();
    const result = await traceAgentCall(ctx, node.step.agent, () =>
      this.#runAgent(ctx, useCase, execution, task, inputs),
    )
      .catch((error: unknown) => error)
      .finally(() => (lease?.ok ? lease.release() : undefined));
    if (this.#pool && !(isResult(result) && (result.cacheHit || result.status === 'waiting'))) {
      // Auto-scaling: the agent kind's limit and the queue's dispatch rate follow latency and the upstream's 429s.
      const seen = { latencyMs: ctx.clock.now() - startedAt, rateLimited: result instanceof RetryAfterError };
      await this.#pool.observe(ctx, node.step.agent, seen);
      const priority = node.step.priority;
      await this.#pool.observeQueue(ctx, stepQueue(priority), STEP_QUEUE_LIMITS[priority], seen);
    }
    const at = ctx.clock.now();
    let input: MachineInput;
    if (result instanceof Error || !isResult(result)) {
      const error = toStepError(result);
      log.warn('step attempt failed', { error: error.message, retryable: error.retryable });
      input = { type: 'stepFailed', stepId: task.stepId, attempt: task.attempt, error, startedAt, at };
    } else if (result.status === 'waiting') {
      input = {
        type: 'stepWaiting',
        stepId: task.stepId,
        attempt: task.attempt,
        reason: result.reason,
        until: result.until,
        prompt: result.prompt,
        startedAt,
        at,
      };
    } else {
      input = {
        type: 'stepSucceeded',
        stepId: task.stepId,
        attempt: task.attempt,
        output: result.output,
        startedAt,
        route: result.route,
        usage: result.usage,
        cacheHit: result.cacheHit,
        at,
      };
    }
    const decision = await this.apply(ctx, task.workspace, task.executionId, () => input, inputs);
    const after = decision?.state.steps[task.stepId];
    if (decision?.accepted && after?.status === 'failed') {
      // The step is out of attempts or failed for good: the task goes to the dead-letter place too.
      throw new PermanentError(
        `Step ${task.stepId} of execution ${task.executionId} failed: ${after.error?.message ?? ''}`,
      );
    }
  }

  async #runAgent(
    ctx: Context,
    useCase: UseCase,
    execution: Execution,
    task: StepTask,
    inputs: Record<string, unknown>,
    opts: { useCache: boolean } = { useCache: true },
  ): Promise<AgentResult & { cacheHit?: boolean }> {
    const node = this.compile(useCase).steps.get(task.stepId);
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
    const timeoutMs = step.timeoutSeconds * 1000;
    const signal = AbortSignal.timeout(timeoutMs);
    const agentCtx: AgentContext = {
      clock: ctx.clock,
      logger: ctx.logger.child({ executionId: execution.id, stepId: task.stepId, agent: step.agent }),
      secret: (name) => {
        if (!useCase.secrets.includes(name)) {
          throw new PermanentError(`Secret ${name} is not declared by use case ${useCase.id}`);
        }
        return ctx.config.secret(name);
      },
      setting: (name) => ctx.config.get(name),
      fetch: globalThis.fetch,
      signal,
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
          {
            once: true,
          },
        ),
      ),
    ]);
    if (result.status === 'succeeded') {
      checkOutput(step.id, step.outputSchema, result.output);
      if (cacheKey && step.cache) {
        await ctx.kv.set(cacheKey, JSON.stringify(result.output ?? null), {
          ttlMs: step.cache.ttlSeconds * 1000,
        });
      }
    }
    return result;
  }

  /**
   * Re-enqueues the current attempt of every step queued before `stalledBefore`
   * and every waiting timer. Keyed on the attempt, so a task that still exists
   * is not duplicated; one lost in a crash runs. Returns how many were sent.
   */
  async recover(ctx: Context, execution: Execution, stalledBefore: number): Promise<number> {
    const useCase = await this.useCase(
      ctx,
      execution.workspace,
      execution.useCaseId,
      execution.useCaseVersion,
    );
    const wf = this.compile(useCase);
    const effects: Effect[] = [];
    for (const [stepId, s] of Object.entries(execution.steps)) {
      const node = wf.steps.get(stepId);
      if (!node) continue;
      const since = s.resumeAt ?? s.queuedAt;
      if ((s.status === 'queued' || s.status === 'running') && since !== null && since < stalledBefore) {
        effects.push({
          type: 'dispatchStep',
          stepId,
          attempt: s.attempts,
          priority: node.step.priority,
          runAt: since,
        });
      } else if (s.status === 'waiting' && s.resumeAt !== null) {
        effects.push({ type: 'scheduleTimer', stepId, attempt: s.attempts, at: s.resumeAt });
      }
    }
    await this.carryOut(ctx, execution, effects);
    return effects.length;
  }

  /**
   * Debugging: runs one step's agent again on the inputs its last checkpoint
   * recorded (or on the current context), without changing the execution.
   * Cache is bypassed; the contract is checked.
   */
  async rerunStep(
    ctx: Context,
    execution: Execution,
    stepId: string,
    recordedInputs: Record<string, unknown> | null,
  ): Promise<{
    inputs: Record<string, unknown>;
    result: AgentResult | null;
    error: StepError | null;
    durationMs: number;
  }> {
    const useCase = await this.useCase(
      ctx,
      execution.workspace,
      execution.useCaseId,
      execution.useCaseVersion,
    );
    const node = this.compile(useCase).steps.get(stepId);
    if (!node) throw new NotFoundError(`Step ${stepId} not found in execution ${execution.id}`);
    const inputs =
      recordedInputs ??
      Object.fromEntries(
        Object.entries(node.step.inputs).map(([name, path]) => [
          name,
          readContextPath(execution.context, path),
        ]),
      );
    const started = performance.now();
    const task = { workspace: execution.workspace, executionId: execution.id, stepId, attempt: 0 };
    try {
      const result = await this.#runAgent(ctx, useCase, execution, task, inputs, { useCache: false });
      return { inputs, result, error: null, durationMs: performance.now() - started };
    } catch (error) {
      return { inputs, result: null, error: toStepError(error), durationMs: performance.now() - started };
    }
  }

  /** A timer task: resumes a waiting step when its time has come. */
  async fireTimer(ctx: Context, task: z.infer<typeof TimerTaskSchema>): Promise<void> {
    const at = Math.max(ctx.clock.now(), task.at);
    await this.apply(ctx, task.workspace, task.executionId, () => ({
      type: 'timerFired',
      stepId: task.stepId,
      attempt: task.attempt,
      at,
    }));
  }
}

function isResult(value: unknown): value is AgentResult & { cacheHit?: boolean } {
  return typeof value === 'object' && value !== null && 'status' in value;
}

/** The contract: output within the size limit and matching the step's declared JSON Schema. */
export function checkOutput(
  stepId: string,
  schema: Record<string, unknown> | undefined,
  output: unknown,
): void {
  const size = byteSize(output);
  if (size > MAX_VALUE_BYTES) {
    throw new PermanentError(
      `Output of step ${stepId} is ${size} bytes; the limit is ${MAX_VALUE_BYTES}. Store it by reference.`,
      {
        details: { contract: 'size' },
      },
    );
  }
  if (!schema) return;
  const parsed = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]).safeParse(output);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new PermanentError(
      `Contract violated: output of step ${stepId} does not match its schema: ${problems}`,
      {
        details: { contract: 'schema' },
      },
    );
  }
}

/** Cache keys: per workspace, agent kind and config, and the values of the inputs the policy names. */
export function cacheKeyOf(
  workspace: string,
  agent: string,
  config: unknown,
  keyInputs: string[],
  inputs: Record<string, unknown>,
): string {
  const material = JSON.stringify([agent, config, keyInputs.map((name) => inputs[name] ?? null)]);
  return `cache:${workspace}:${createHash('sha256').update(material).digest('base64url')}`;
}

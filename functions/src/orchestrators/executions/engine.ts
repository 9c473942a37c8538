/**
 * The execution engine: the wiring of its three jobs. The machine decides
 * (machine.ts), the store commits each decision (store.ts), the effect
 * interpreter carries it out (effects.ts), and the step runner runs one step
 * attempt and reports it (step-runner.ts). The engine also keeps the two
 * read-mostly caches they share: use case versions and compiled workflows.
 */
import { createHash } from 'node:crypto';
import { PermanentError, RetryAfterError } from '../../platform/errors.js';
import type { Context } from '../../platform/orchestrator.js';
import { poolOf } from '../../platform/pool/store.js';
import type { TaskInfo } from '../../platform/ports.js';
import type { UseCase } from '../use-cases/model.js';
import { resolveUseCase } from '../use-cases/resolve.js';
import { checkInput } from './contract.js';
import { carryOut } from './effects.js';
import { type ForkParent, forkFrom } from './fork.js';
import { checkInputAtTheDoor } from './input-schema.js';
import { type Decision, decide, type Effect, type MachineInput, newExecution } from './machine.js';
import type { Execution } from './model.js';
import type { StepTask, TimerTask } from './queues.js';
import { dueSince, expiredLeases, leaseKey } from './recovery.js';
import { type AgentRegistry, type StepRerun, StepRunner, type WorkflowSource } from './step-runner.js';
import { commitDecision, commitRecoveryLook, createExecution, type RecordedInputs } from './store.js';
import { traceStep } from './tracing.js';
import { adoptValues } from './values.js';
import { type CompiledWorkflow, compileWorkflow } from './workflow.js';

export type { AgentRegistry } from './step-runner.js';

export class ExecutionEngine implements WorkflowSource {
  readonly #agents: AgentRegistry;
  readonly #runner: StepRunner;
  readonly #compiled = new Map<string, CompiledWorkflow>();
  readonly #compiledFor = new WeakMap<object, CompiledWorkflow>();
  /** Per document store: one engine may serve several stores (tests), and versions are immutable only within one. */
  readonly #useCases = new WeakMap<object, Map<string, UseCase>>();

  constructor(agents: AgentRegistry) {
    this.#agents = agents;
    this.#runner = new StepRunner(agents, this);
  }

  get agents(): AgentRegistry {
    return this.#agents;
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
      found = await resolveUseCase(ctx.documents, workspace, id, { version });
      if (cache.size >= 500) cache.delete(cache.keys().next().value as string);
      cache.set(key, found);
    }
    return found;
  }

  /**
   * Compiled workflows, cached by content (bounded): a version number alone is not
   * enough, since a use case deleted and created again starts at version 1.
   */
  compile(useCase: UseCase): CompiledWorkflow {
    // Every step compiles its use case: the same object (use cases are cached, and immutable) is found
    // without hashing its workflow again.
    const known = this.#compiledFor.get(useCase.workflow);
    if (known) return known;
    const key = createHash('sha256').update(JSON.stringify(useCase.workflow)).digest('base64url');
    let wf = this.#compiled.get(key);
    if (!wf) {
      wf = compileWorkflow(useCase.workflow, this.#agents);
      if (this.#compiled.size > 500) this.#compiled.delete(this.#compiled.keys().next().value as string);
      this.#compiled.set(key, wf);
    }
    this.#compiledFor.set(useCase.workflow, wf);
    return wf;
  }

  /** Starts an execution of `useCase` on `input`; with `parent`, a fork of that execution's checkpoint. */
  async start(
    ctx: Context,
    workspace: string,
    useCase: UseCase,
    input: unknown,
    parent?: ForkParent,
  ): Promise<Execution & { queuePosition?: number }> {
    checkInput(input);
    const wf = this.compile(useCase);
    // At the door: nothing is stored, counted or enqueued for an input its use case refuses.
    if (wf.inputSchema) await checkInputAtTheDoor(ctx, useCase.id, wf.inputSchema, input);
    const now = ctx.clock.now();
    const fresh = newExecution({
      id: ctx.ids.next(),
      workspace,
      useCase,
      wf,
      input,
      correlationId: ctx.correlationId,
      at: now,
    });
    const execution = parent ? await this.#adopt(ctx, forkFrom(fresh, wf, parent)) : fresh;
    // Admission: counted in before it exists, so a burst cannot overrun the budget.
    const admission = await poolOf(ctx).admit(ctx, workspace);
    if (!admission.accepted) throw new RetryAfterError(admission.reason, admission.retryAfterMs);
    // The start decision is taken before the document exists, so starting costs one write.
    const started = decide(wf, execution, { type: 'start', at: now });
    try {
      await createExecution(ctx.documents, started.state);
    } catch (error) {
      await poolOf(ctx).finished(ctx, workspace);
      throw error;
    }
    await this.carryOut(ctx, started.state, started.effects);
    return { ...started.state, queuePosition: admission.position };
  }

  /** A fork keeps its own copies of the values it carried over by reference (values.ts). */
  async #adopt(ctx: Context, fork: Execution): Promise<Execution> {
    if (!fork.origin) return fork;
    // The values it carries are its parent's (forkFrom sets parentId).
    const parent = { workspace: fork.workspace, id: fork.parentId ?? fork.id };
    const carried = await adoptValues(ctx, fork, parent, fork.origin.context);
    return {
      ...fork,
      context: { ...fork.context, ...carried },
      origin: { ...fork.origin, context: carried },
    };
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

  carryOut(ctx: Context, execution: Execution, effects: Effect[]): Promise<void> {
    return carryOut(ctx, execution, effects);
  }

  /** Runs one step attempt: the task handler of every step queue. */
  async runStep(ctx: Context, task: StepTask, info?: Pick<TaskInfo, 'reportUpstream'>): Promise<void> {
    return traceStep(ctx, task, () => this.#runStep(ctx, task, info));
  }

  async #runStep(ctx: Context, task: StepTask, info?: Pick<TaskInfo, 'reportUpstream'>): Promise<void> {
    const report = await this.#runner.run(ctx, task, info);
    if (!report) return; // a redelivery, or an attempt the execution has moved past
    const decision = await this.apply(
      ctx,
      task.workspace,
      task.executionId,
      () => report.input,
      report.inputs,
    );
    const after = decision?.state.steps[task.stepId];
    if (decision?.accepted && after?.status === 'failed') {
      // The step is out of attempts or failed for good: the task goes to the dead-letter place too.
      throw new PermanentError(
        `Step ${task.stepId} of execution ${task.executionId} failed: ${after.error?.message ?? ''}`,
      );
    }
  }

  /**
   * The recovery sweep's look at one execution (recovery.ts): sends again the
   * current attempt of every step whose lease expired at `now`, and the timer
   * of every such waiting step, then moves its index on. Task ids are keyed on
   * the attempt, so a task that still exists is not duplicated; one lost in a
   * crash runs. Returns how many were sent.
   */
  async recover(ctx: Context, ref: { workspace: string; id: string }, now: number): Promise<number> {
    let count = 0;
    await commitRecoveryLook(ctx.documents, ref.workspace, ref.id, now, async (execution) => {
      const expired = expiredLeases(execution, now);
      if (expired.length === 0) return new Set();
      const useCase = await this.useCase(ctx, ref.workspace, execution.useCaseId, execution.useCaseVersion);
      const wf = this.compile(useCase);
      const effects: Effect[] = [];
      const sent = new Set<string>();
      for (const [stepId, s] of expired) {
        const node = wf.steps.get(stepId);
        const since = dueSince(s);
        if (!node || since === null) continue;
        sent.add(leaseKey(stepId, s));
        effects.push(
          s.status === 'waiting'
            ? { type: 'scheduleTimer', stepId, attempt: s.attempts, at: since }
            : {
                type: 'dispatchStep',
                stepId,
                attempt: s.attempts,
                priority: node.step.priority,
                agent: node.step.agent,
                runAt: since,
              },
        );
      }
      await this.carryOut(ctx, execution, effects);
      count = effects.length;
      return sent;
    });
    return count;
  }

  /** Debugging: runs one step's agent again without changing the execution (see StepRunner.rerun). */
  rerunStep(
    ctx: Context,
    execution: Execution,
    stepId: string,
    recorded: RecordedInputs | null,
  ): Promise<StepRerun> {
    return this.#runner.rerun(ctx, execution, stepId, recorded);
  }

  /** A timer task: resumes a waiting step when its time has come. */
  async fireTimer(ctx: Context, task: TimerTask): Promise<void> {
    const at = Math.max(ctx.clock.now(), task.at);
    await this.apply(ctx, task.workspace, task.executionId, () => ({
      type: 'timerFired',
      stepId: task.stepId,
      attempt: task.attempt,
      at,
    }));
  }
}

/**
 * The effect interpreter: carries out what the machine decided, after the
 * decision is committed. Steps to dispatch become tasks on the queue of
 * their priority class, timers become scheduled tasks, and a finished
 * execution leaves the pool's admission count and is announced. Task ids are
 * keyed on execution, step and attempt (and a timer's time), so carrying out
 * the same effects twice enqueues nothing new.
 */
import { errorMessage } from '../../platform/errors.js';
import type { Context, PriorityClass } from '../../platform/orchestrator.js';
import { poolOf } from '../../platform/pool/store.js';
import type { Effect } from './machine.js';
import type { Execution } from './model.js';
import { FINISHED_TOPIC, type StepTask, stepQueue, timerQueue } from './queues.js';

export async function carryOut(
  ctx: Context,
  execution: Execution,
  effects: readonly Effect[],
): Promise<void> {
  const base = { workspace: execution.workspace, executionId: execution.id };
  for (const effect of effects) {
    if (effect.type === 'dispatchStep') {
      // The step queues' declared flow control takes it from here (queues.ts STEP_FLOW_CONTROL).
      const task: StepTask = {
        ...base,
        stepId: effect.stepId,
        attempt: effect.attempt,
        useCaseId: execution.useCaseId,
        agentKind: effect.agent,
      };
      await ctx.tasks.enqueue(stepQueue(effect.priority as PriorityClass), task, {
        id: `${execution.id}-${effect.stepId}-a${effect.attempt}`,
        scheduleTime: effect.runAt,
        // Executions under way go before newer ones: a backlog drains depth-first, and completions flow.
        order: execution.createdAt,
      });
    } else if (effect.type === 'scheduleTimer') {
      await ctx.tasks.enqueue(
        timerQueue(),
        { ...base, stepId: effect.stepId, attempt: effect.attempt, at: effect.at },
        {
          id: `${execution.id}-${effect.stepId}-a${effect.attempt}-t${effect.at}`,
          scheduleTime: effect.at,
        },
      );
    } else if (effect.type === 'waiting') {
      await poolOf(ctx).waitingChanged(ctx, execution.workspace, effect.delta);
    } else if (effect.type === 'finished') {
      await poolOf(ctx).finished(ctx, execution.workspace);
      await announceFinished(ctx, execution, effect.status);
    }
  }
}

/**
 * Publishes `execution.finished`. The end is committed by now: a publish that
 * fails is logged as an error, and never fails the step that ended the
 * execution (which would dead-letter a settled step, or run it again).
 */
async function announceFinished(ctx: Context, execution: Execution, status: string): Promise<void> {
  try {
    await ctx.events.publish(
      FINISHED_TOPIC,
      { workspace: execution.workspace, executionId: execution.id, useCaseId: execution.useCaseId, status },
      { orderingKey: execution.id, attributes: { correlationId: execution.correlationId } },
    );
  } catch (error) {
    ctx.logger.error('The execution finished, but announcing it failed', {
      executionId: execution.id,
      workspace: execution.workspace,
      topic: FINISHED_TOPIC,
      error: errorMessage(error),
    });
  }
}

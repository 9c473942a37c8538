/**
 * The effect interpreter: carries out what the machine decided, after the
 * decision is committed. Steps to dispatch become tasks on the queue of
 * their priority class, timers become scheduled tasks, and a finished
 * execution leaves the pool's admission count and is announced. Task ids are
 * keyed on execution, step and attempt (and a timer's time), so carrying out
 * the same effects twice enqueues nothing new.
 */
import type { Context, PriorityClass } from '../../platform/orchestrator.js';
import type { PoolManager } from '../pool/manager.js';
import type { Effect } from './machine.js';
import type { Execution } from './model.js';
import { FINISHED_TOPIC, stepQueue, timerQueue } from './queues.js';

export async function carryOut(
  ctx: Context,
  execution: Execution,
  effects: readonly Effect[],
  pool: PoolManager | undefined,
): Promise<void> {
  const base = { workspace: execution.workspace, executionId: execution.id };
  for (const effect of effects) {
    if (effect.type === 'dispatchStep') {
      // Workspaces take turns at dispatch (fair queuing), by the weight their pool settings give them.
      const fairness = pool ? await pool.fairness(ctx, execution.workspace) : {};
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
        timerQueue(),
        { ...base, stepId: effect.stepId, attempt: effect.attempt, at: effect.at },
        {
          id: `${execution.id}-${effect.stepId}-a${effect.attempt}-t${effect.at}`,
          scheduleTime: effect.at,
        },
      );
    } else if (effect.type === 'finished') {
      if (pool) await pool.finished(ctx, execution.workspace);
      await ctx.events.publish(
        FINISHED_TOPIC,
        { ...base, useCaseId: execution.useCaseId, status: effect.status },
        { orderingKey: execution.id, attributes: { correlationId: execution.correlationId } },
      );
    }
  }
}

/**
 * The executions orchestrator's task queues: their names, their payloads and
 * their declared limits. The engine enqueues on them; index.ts declares them.
 */
import { z } from 'zod';
import type { RateLimits } from '../../platform/delivery.js';
import { functionName, type PriorityClass, priorityQueueKey } from '../../platform/orchestrator.js';

export const ORCHESTRATOR = 'executions';
export const TIMER_TASK = 'timer';
export const FINISHED_TOPIC = 'execution.finished';

export const StepTaskSchema = z.object({
  workspace: z.string(),
  executionId: z.string(),
  stepId: z.string(),
  attempt: z.number().int().min(1),
});
export type StepTask = z.infer<typeof StepTaskSchema>;
export const TimerTaskSchema = StepTaskSchema.extend({ at: z.number() });
export type TimerTask = z.infer<typeof TimerTaskSchema>;

/** The step queues' declared limits, one queue per priority class; the pool's AIMD scales them down and back. */
export const STEP_QUEUE_LIMITS: Record<PriorityClass, Required<RateLimits>> = {
  high: { maxConcurrentDispatches: 32, maxDispatchesPerSecond: 500 },
  normal: { maxConcurrentDispatches: 16, maxDispatchesPerSecond: 200 },
  low: { maxConcurrentDispatches: 8, maxDispatchesPerSecond: 100 },
  batch: { maxConcurrentDispatches: 4, maxDispatchesPerSecond: 50 },
};

export const stepQueue = (priority: PriorityClass) =>
  functionName(ORCHESTRATOR, priorityQueueKey('step', priority));

export const timerQueue = () => functionName(ORCHESTRATOR, TIMER_TASK);

/**
 * The executions orchestrator's task queues: their names, their payloads and
 * their declared limits. The engine enqueues on them; index.ts declares them.
 */
import { z } from 'zod';
import type { RateLimits } from '../../platform/delivery.js';
import type { FlowControlDeclaration } from '../../platform/flow-declaration.js';
import { functionName, type PriorityClass, priorityQueueKey } from '../../platform/orchestrator.js';

export const ORCHESTRATOR = 'executions';
export const TIMER_TASK = 'timer';
export const FINISHED_TOPIC = 'execution.finished';

const TaskTarget = z.object({
  workspace: z.string(),
  executionId: z.string(),
  stepId: z.string(),
  attempt: z.number().int().min(1),
});
/**
 * A step task names what its flow control is keyed by, beside what it runs:
 * its use case and agent kind. (Optional: a task enqueued before they were
 * carried is not limited by those two dimensions.)
 */
export const StepTaskSchema = TaskTarget.extend({
  useCaseId: z.string().min(1).optional(),
  agentKind: z.string().min(1).optional(),
});
export type StepTask = z.infer<typeof StepTaskSchema>;
export const TimerTaskSchema = TaskTarget.extend({ at: z.number() });
export type TimerTask = z.infer<typeof TimerTaskSchema>;

/** The step queues' declared limits, one queue per priority class; the pool's AIMD scales them down and back. */
export const STEP_QUEUE_LIMITS: Record<PriorityClass, Required<RateLimits>> = {
  high: { maxConcurrentDispatches: 32, maxDispatchesPerSecond: 500 },
  normal: { maxConcurrentDispatches: 16, maxDispatchesPerSecond: 200 },
  low: { maxConcurrentDispatches: 8, maxDispatchesPerSecond: 100 },
  batch: { maxConcurrentDispatches: 4, maxDispatchesPerSecond: 50 },
};

/**
 * How step tasks share the pool, declared (platform/flow-declaration.ts): the
 * workspace takes turns at dispatch by its weight and holds at most its fair
 * share of the global limit; the global, per-use-case and per-agent-kind
 * limits come from configuration; the agent kind's limit and the queue's
 * dispatch rate adapt to the upstream's latency and 429s. The workspace is
 * checked first, so a flooder over its share is turned back before it takes a
 * global slot.
 */
export const STEP_FLOW_CONTROL = {
  fairness: { key: 'workspace' },
  concurrency: [
    { name: 'workspace', key: ['workspace'], limit: 'fairShare' },
    { name: 'global', limit: 'global' },
    { name: 'useCase', key: ['workspace', 'useCaseId'], limit: 'perUseCase' },
    { name: 'agentKind', key: ['agentKind'], limit: 'perAgentKind', adaptive: true },
  ],
  adaptiveRate: true,
} satisfies FlowControlDeclaration;

export const stepQueue = (priority: PriorityClass) =>
  functionName(ORCHESTRATOR, priorityQueueKey('step', priority));

export const timerQueue = () => functionName(ORCHESTRATOR, TIMER_TASK);

/**
 * The `executions` orchestrator: use cases run as workflows of agent steps.
 * Each step is a task on the queue of its priority class; timers resume
 * waiting steps; a sweep re-sends lost dispatches and another deletes expired
 * contexts.
 */

import { defineOrchestrator, defineTask, tasksPerPriority } from '../../platform/orchestrator.js';
import { agentConfigSchemas, builtinAgents, createAgentRegistry } from './agents/registry.js';
import { ExecutionEngine } from './engine.js';
import { cleanupExpired, recoverStalled } from './maintenance.js';
import { STEP_FLOW_CONTROL, STEP_QUEUE_LIMITS, StepTaskSchema, TimerTaskSchema } from './queues.js';
import { executionRoutes } from './routes.js';

/** The orchestrator over a given agent registry; tests pass their own agents. */
export function createExecutionsOrchestrator(engine: ExecutionEngine) {
  const stepTask = defineTask({
    payload: StepTaskSchema,
    // Agent failures are retried by the machine as new attempts; these retries cover the
    // platform failing under the step (the document store unreachable, say).
    retry: { maxAttempts: 10, minBackoffSeconds: 1, maxBackoffSeconds: 60 },
    // Longer than the longest step timeout (29 min), so a lease outlives any agent call;
    // 30 min is the most Cloud Tasks allows.
    timeoutSeconds: 1800,
    flowControl: STEP_FLOW_CONTROL,
    handler: (payload, ctx, info) => engine.runStep(ctx, payload, info),
  });

  return defineOrchestrator({
    name: 'executions',
    description:
      'Use cases as workflows of agent steps: executions, checkpoints, operator controls and debugging',
    routes: executionRoutes(engine),
    apiSchemas: agentConfigSchemas(engine.agents),
    tasks: {
      ...tasksPerPriority('step', stepTask, STEP_QUEUE_LIMITS),
      timer: defineTask({
        payload: TimerTaskSchema,
        retry: { maxAttempts: 10, minBackoffSeconds: 1, maxBackoffSeconds: 60 },
        handler: (payload, ctx) => engine.fireTimer(ctx, payload),
      }),
    },
    schedules: {
      recoverStalled: {
        cron: '* * * * *',
        async handler(ctx) {
          const result = await recoverStalled(ctx, engine);
          if (result.redispatched > 0 || result.failed > 0)
            ctx.logger.warn('Re-sent stalled step dispatches', result);
        },
      },
      cleanupExpired: {
        cron: '*/15 * * * *',
        async handler(ctx) {
          const result = await cleanupExpired(ctx);
          ctx.logger.info('Expired execution contexts cleaned up', result);
        },
      },
    },
  });
}

export const engine = new ExecutionEngine(createAgentRegistry(builtinAgents));
export default createExecutionsOrchestrator(engine);

/**
 * The step runner's spans: one per step attempt, inside its task's span, and
 * one per agent call inside that. A model's token usage goes on the agent
 * span under OpenTelemetry's GenAI names, so a trace shows what each call
 * cost without opening the execution.
 */
import type { Context } from '../../platform/orchestrator.js';
import type { Attributes } from '../../platform/tracing.js';
import type { AgentResult } from './agents/types.js';

/** Runs one step attempt in its span. */
export function traceStep<T>(
  ctx: Context,
  task: { workspace: string; executionId: string; stepId: string; attempt: number },
  fn: () => Promise<T>,
): Promise<T> {
  return ctx.tracer.span(
    `step ${task.stepId}`,
    {
      attributes: {
        'seraphim.workspace': task.workspace,
        'seraphim.execution.id': task.executionId,
        'seraphim.step.id': task.stepId,
        'seraphim.step.attempt': task.attempt,
      },
    },
    fn,
  );
}

/** Runs one agent call in its span (GenAI's `invoke_agent`), and records what the result says it used. */
export function traceAgentCall<R extends AgentResult & { cacheHit?: boolean }>(
  ctx: Context,
  agent: string,
  fn: () => Promise<R>,
): Promise<R> {
  return ctx.tracer.span(
    `invoke_agent ${agent}`,
    { attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': agent } },
    async (span) => {
      const result = await fn();
      span.setAttributes(resultAttributes(result));
      return result;
    },
  );
}

export function resultAttributes(result: AgentResult & { cacheHit?: boolean }): Attributes {
  const attributes: Attributes = { 'seraphim.step.status': result.status };
  if (result.cacheHit) attributes['seraphim.cache.hit'] = true;
  if (result.status === 'succeeded' && result.usage) {
    const { model, promptTokens, completionTokens } = result.usage;
    // The model that answered (the agent records that one, not the one asked for).
    attributes['gen_ai.response.model'] = model;
    attributes['gen_ai.usage.input_tokens'] = promptTokens;
    attributes['gen_ai.usage.output_tokens'] = completionTokens;
  }
  return attributes;
}

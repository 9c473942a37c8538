/**
 * For agent tests: an AgentCall with a hand-moved clock, an in-memory log,
 * and no way out (secrets and fetch throw), so a pure agent that reaches for
 * the world fails its test.
 */
import { ManualClock } from '../../../platform/clock.js';
import type { MemorySink } from '../../../platform/logger.js';
import { testAgentContext } from '../../../test-support/agent-call.js';
import type { AgentCall, AgentDefinition, AgentResult } from './types.js';

/** 2026-01-01T00:00:00.000Z, the ManualClock's default start. */
export const T0 = Date.UTC(2026, 0, 1);

export interface TestCall<C> extends AgentCall<C> {
  clock: ManualClock;
  logs: MemorySink;
}

export function call<C>(
  config: C,
  inputs: Record<string, unknown> = {},
  clock = new ManualClock(T0),
): TestCall<C> {
  // No secrets and a fetch that throws: a pure agent that reaches for the world fails its test.
  const { ctx, logs } = testAgentContext({
    clock,
    fetch: async () => {
      throw new Error('test agents make no HTTP calls');
    },
  });
  return {
    config,
    inputs,
    step: { id: 'step1', attempt: 1 },
    execution: { id: 'exec1', workspace: 'ws1', correlationId: 'corr1' },
    ctx,
    clock,
    logs,
  };
}

/** Parses a raw config with the agent's own schema (as the engine does) and runs it. */
export async function runAgent<C>(
  agent: AgentDefinition<C>,
  rawConfig: unknown,
  inputs: Record<string, unknown> = {},
  clock?: ManualClock,
): Promise<AgentResult> {
  return agent.run(call(agent.config.parse(rawConfig), inputs, clock));
}

/** A raw config's problems as `{ path, message }`, the path dotted (`rules.0.when`). */
export function configIssues(
  agent: AgentDefinition<unknown>,
  rawConfig: unknown,
): Array<{ path: string; message: string }> {
  const issues = agent.config.safeParse(rawConfig).error?.issues ?? [];
  return issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
}

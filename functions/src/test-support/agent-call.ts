/**
 * Builds an `AgentCall` for testing one agent alone: config parsed through the
 * agent's own schema (so defaults apply as in the engine), secrets and
 * settings from plain objects, a memory log.
 *
 * Secrets resolved here are NOT registered with `redactValue`, unlike the
 * runtime's config source: a test then sees what the agent itself does with them.
 */

import type { AgentCall, AgentDefinition } from '../orchestrators/executions/agents/types.js';
import { type Clock, systemClock } from '../platform/clock.js';
import { PermanentError } from '../platform/errors.js';
import { createLogger, MemorySink } from '../platform/logger.js';

export interface TestAgentCallOptions {
  inputs?: Record<string, unknown>;
  secrets?: Record<string, string>;
  settings?: Record<string, string>;
  clock?: Clock;
  signal?: AbortSignal;
  fetch?: typeof fetch;
  step?: { id: string; attempt: number };
}

export interface TestAgentCall<C> {
  call: AgentCall<C>;
  logs: MemorySink;
  /** Names of the secrets the agent asked for, in order. */
  secretsRead: string[];
  /** Every log entry as one string, to search for leaks. */
  logText(): string;
}

/** The context half of a test call: what an agent may reach, from plain objects. */
export function testAgentContext(opts: Omit<TestAgentCallOptions, 'inputs' | 'step'> = {}): {
  ctx: AgentCall<unknown>['ctx'];
  logs: MemorySink;
  secretsRead: string[];
} {
  const logs = new MemorySink();
  const clock = opts.clock ?? systemClock;
  const secrets = new Map(Object.entries(opts.secrets ?? {}));
  const settings = new Map(Object.entries(opts.settings ?? {}));
  const secretsRead: string[] = [];
  return {
    logs,
    secretsRead,
    ctx: {
      clock,
      logger: createLogger({ sink: logs, level: 'DEBUG', now: () => clock.now() }),
      secret(name) {
        secretsRead.push(name);
        const value = secrets.get(name);
        if (value === undefined) {
          throw new PermanentError(`Secret ${name} is not configured`, { details: { secret: name } });
        }
        return value;
      },
      setting: (name) => settings.get(name),
      fetch: opts.fetch ?? globalThis.fetch,
      signal: opts.signal ?? new AbortController().signal,
    },
  };
}

export function testAgentCall<C>(
  agent: AgentDefinition<C>,
  rawConfig: unknown,
  opts: TestAgentCallOptions = {},
): TestAgentCall<C> {
  const { ctx, logs, secretsRead } = testAgentContext(opts);
  const call: AgentCall<C> = {
    config: agent.config.parse(rawConfig),
    inputs: opts.inputs ?? {},
    step: opts.step ?? { id: 'step-1', attempt: 1 },
    execution: { id: 'exec-1', workspace: 'ws-test', correlationId: 'corr-1' },
    ctx,
  };
  return { call, logs, secretsRead, logText: () => JSON.stringify(logs.entries) };
}

/** The error a call fails with; the test fails if it succeeds. */
export async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

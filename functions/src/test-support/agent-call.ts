/**
 * Builds an `AgentCall` for testing one agent alone: config parsed through the
 * agent's own schema (so defaults apply as in the engine), secrets and
 * settings from plain objects, a memory log.
 *
 * Secrets resolved here are NOT registered with `redactValue`, unlike the
 * runtime's config source: a test then sees what the agent itself does with them.
 */

import type { AgentCall, AgentDefinition, AgentResult } from '../orchestrators/executions/agents/types.js';
import { type Clock, ManualClock, systemClock } from '../platform/clock.js';
import { PermanentError } from '../platform/errors.js';
import { createLogger, MemorySink } from '../platform/logger.js';

export interface TestAgentCallOptions {
  inputs?: Record<string, unknown>;
  secrets?: Record<string, string>;
  settings?: Record<string, string>;
  clock?: Clock;
  signal?: AbortSignal;
  /** What is left of the step's timeout. @default unlimited */
  timeLeftMs?: () => number;
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
  function read(name: string): string {
    secretsRead.push(name);
    const value = secrets.get(name);
    if (value === undefined) {
      throw new PermanentError(`Secret ${name} is not configured`, { details: { secret: name } });
    }
    return value;
  }
  return {
    logs,
    secretsRead,
    ctx: {
      clock,
      logger: createLogger({ sink: logs, level: 'DEBUG', now: () => clock.now() }),
      secret: read,
      providerKey: read,
      setting: (name) => settings.get(name),
      fetch: opts.fetch ?? globalThis.fetch,
      signal: opts.signal ?? new AbortController().signal,
      timeLeftMs: opts.timeLeftMs ?? (() => Number.POSITIVE_INFINITY),
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

/** 2026-01-01T00:00:00.000Z, the ManualClock's default start. */
export const T0 = Date.UTC(2026, 0, 1);

export interface TestCall<C> extends AgentCall<C> {
  clock: ManualClock;
  logs: MemorySink;
}

/**
 * A call for a pure agent: a hand-moved clock, an in-memory log, and no way
 * out (no secrets, and a fetch that throws), so an agent that reaches for the
 * world fails its test.
 */
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

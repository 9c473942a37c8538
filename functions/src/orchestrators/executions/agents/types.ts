/**
 * The agent contract. An agent kind is one file: a zod schema for its config
 * and a `run` that turns declared inputs into an output, or says it must wait.
 * Agents see only their declared inputs and reach the world only through the
 * narrow context below: no documents, no other steps' data, no secrets by value
 * except what they resolve by reference at call time.
 */
import type { z } from 'zod';
import type { Clock } from '../../../platform/clock.js';
import type { Logger } from '../../../platform/logger.js';

export interface TokenUsage {
  model: string;
  promptTokens: number;
  completionTokens: number;
}

export type AgentResult =
  | {
      status: 'succeeded';
      output: unknown;
      /** For agents that call a model: recorded on the step and summed on the execution. */
      usage?: TokenUsage;
      /**
       * Conditional edges (the `branch` agent): which of this step's declared
       * targets run. Targets not listed are skipped.
       */
      route?: string[];
    }
  | {
      status: 'waiting';
      /** `human`: resumed by a decision through the API; `timer`: resumed at `until`. */
      reason: 'human' | 'timer';
      /** ms since epoch, for `timer`. */
      until?: number;
      /** What the operator is asked, for `human`. */
      prompt?: string;
    };

export interface AgentContext {
  clock: Clock;
  logger: Logger;
  /**
   * One of the use case's secrets by its reference name: listed in its `secrets` and declared
   * for its workspace (platform/secrets.ts). Never put it in an output.
   */
  secret(name: string): string;
  /**
   * An llm provider's key (`<P>_API_KEY`): the platform's, not the use case's, so any use case
   * may have it sent, but only to the provider's configured `<P>_BASE_URL`.
   */
  providerKey(name: `${string}_API_KEY`): string;
  /** A plain setting (e.g. an LLM provider's base URL). */
  setting(name: string): string | undefined;
  /** The fetch to use for outbound HTTP (tests pass their own). */
  fetch: typeof fetch;
  /** Aborted when the step's timeout passes or the execution is cancelled. */
  signal: AbortSignal;
  /** ms left before the step's timeout: work with its own deadline (expressions) ends before it. */
  timeLeftMs(): number;
}

export interface AgentCall<C> {
  config: C;
  /** Exactly the step's declared inputs, by their local names. */
  inputs: Record<string, unknown>;
  step: { id: string; attempt: number };
  execution: { id: string; workspace: string; correlationId: string };
  ctx: AgentContext;
}

export interface AgentDefinition<C = unknown> {
  kind: string;
  description: string;
  config: z.ZodType<C>;
  /** Step ids this step's `route` chooses among (the branch agent's targets); checked at validation. */
  targets?(config: C): string[];
  /**
   * Every set of targets one run can choose, when that is known (a branch
   * taking its first matching case). Lets validation find steps that wait on
   * two arms that can never both run.
   */
  outcomes?(config: C): string[][];
  /**
   * True for a kind that calls something outside the process (an API, a model):
   * its latency and 429s feed the adaptive limits. An in-process kind's
   * millisecond latencies are noise to them, so they never see it.
   */
  upstream?: boolean;
  run(call: AgentCall<C>): Promise<AgentResult>;
}

export function defineAgent<C>(agent: AgentDefinition<C>): AgentDefinition<C> {
  return agent;
}

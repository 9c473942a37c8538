/**
 * The pool dashboard's data: stats and auto-scaling decisions polled from the API, and the rolling
 * history of samples the charts draw. The page reads the fields through getters and never writes them.
 */
import type { RequestOptions } from '../api.ts';
import { Polled } from '../polled.svelte.ts';
import { getPoolStats, getScalingDecisions, type PoolStats, type ScalingDecisions } from './api.ts';
import { appendSample, HISTORY_WINDOW_MS, type PoolSample, toSample } from './history.ts';

/** @default 2000 */
export const POOL_POLL_MS = 2_000;
/** How many of the latest auto-scaling decisions are shown. @default 20 */
export const DECISIONS_SHOWN = 20;

export interface PoolMonitorOptions {
  /** Delay between the end of one poll and the start of the next. @default POOL_POLL_MS */
  intervalMs?: number;
  /** How much history the charts keep. @default HISTORY_WINDOW_MS */
  windowMs?: number;
  /** @default DECISIONS_SHOWN */
  decisionLimit?: number;
  /** Injected in tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

export class PoolMonitor extends Polled {
  #stats = $state.raw<PoolStats | undefined>();
  #decisions = $state.raw<ScalingDecisions | undefined>();
  #history = $state.raw<readonly PoolSample[]>([]);

  readonly #windowMs: number;
  readonly #decisionLimit: number;

  constructor(options: PoolMonitorOptions = {}) {
    super(options.intervalMs ?? POOL_POLL_MS, options.fetch);
    this.#windowMs = options.windowMs ?? HISTORY_WINDOW_MS;
    this.#decisionLimit = options.decisionLimit ?? DECISIONS_SHOWN;
  }

  /** The last stats received, kept while the API is failing so the operator keeps context. */
  get stats(): PoolStats | undefined {
    return this.#stats;
  }

  get decisions(): ScalingDecisions | undefined {
    return this.#decisions;
  }

  /** Oldest first: one sample per successful poll within the last `windowMs`. */
  get history(): readonly PoolSample[] {
    return this.#history;
  }

  get windowMs(): number {
    return this.#windowMs;
  }

  /**
   * Stats and decisions, and a sample added to the history. A superseded poll adds nothing, so an
   * edit can refresh at once without a double sample.
   */
  protected async load(options: RequestOptions): Promise<(at: number) => void> {
    const [stats, decisions] = await Promise.all([
      getPoolStats(options),
      getScalingDecisions(this.#decisionLimit, options),
    ]);
    return (at) => {
      this.#stats = stats;
      this.#decisions = decisions;
      this.#history = appendSample(this.#history, toSample(stats, at, this.#history.at(-1)), this.#windowMs);
    };
  }
}

/**
 * The pool dashboard's data: stats and auto-scaling decisions polled from the API, and the rolling
 * history of samples the charts draw. The page reads the fields through getters and never writes them.
 */
import { type ApiError, isAbortError, type RequestOptions, toApiError } from '../api.ts';
import { pollWhileVisible } from '../polling.ts';
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

export class PoolMonitor {
  #stats = $state.raw<PoolStats | undefined>();
  #decisions = $state.raw<ScalingDecisions | undefined>();
  #history = $state.raw<readonly PoolSample[]>([]);
  #error = $state.raw<ApiError | undefined>();
  #updatedAt = $state<number | undefined>();
  #loading = $state(true);

  readonly #intervalMs: number;
  readonly #windowMs: number;
  readonly #decisionLimit: number;
  readonly #fetch: typeof fetch | undefined;
  #inFlight: AbortController | undefined;

  constructor(options: PoolMonitorOptions = {}) {
    this.#intervalMs = options.intervalMs ?? POOL_POLL_MS;
    this.#windowMs = options.windowMs ?? HISTORY_WINDOW_MS;
    this.#decisionLimit = options.decisionLimit ?? DECISIONS_SHOWN;
    this.#fetch = options.fetch;
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

  /** Why the last poll failed; cleared by the next successful one. */
  get error(): ApiError | undefined {
    return this.#error;
  }

  /** When the last successful poll finished (epoch ms). */
  get updatedAt(): number | undefined {
    return this.#updatedAt;
  }

  /** True until the first poll settles, successfully or not. */
  get loading(): boolean {
    return this.#loading;
  }

  /** The data on screen is from an earlier poll: the latest one failed. */
  get stale(): boolean {
    return this.#error !== undefined && this.#updatedAt !== undefined;
  }

  get intervalMs(): number {
    return this.#intervalMs;
  }

  get windowMs(): number {
    return this.#windowMs;
  }

  /**
   * Fetches stats and decisions once and adds a sample to the history. A newer call supersedes
   * (aborts) an older one still in flight, so an edit can refresh at once without a double sample.
   */
  async refresh(): Promise<void> {
    this.#inFlight?.abort();
    const controller = new AbortController();
    this.#inFlight = controller;
    const options: RequestOptions = { signal: controller.signal, ...(this.#fetch ? { fetch: this.#fetch } : {}) };
    try {
      const [stats, decisions] = await Promise.all([
        getPoolStats(options),
        getScalingDecisions(this.#decisionLimit, options),
      ]);
      if (controller.signal.aborted) return;
      const at = Date.now();
      this.#stats = stats;
      this.#decisions = decisions;
      this.#history = appendSample(this.#history, toSample(stats, at, this.#history.at(-1)), this.#windowMs);
      this.#error = undefined;
      this.#updatedAt = at;
    } catch (error) {
      if (controller.signal.aborted || isAbortError(error)) return;
      this.#error = toApiError(error);
    } finally {
      if (this.#inFlight === controller) {
        this.#inFlight = undefined;
        this.#loading = false;
      }
    }
  }

  /**
   * Polls now and then every `intervalMs` until the returned function is called; paused while the
   * document is hidden (the charts show the gap). Meant to be returned from an `$effect`.
   */
  start(): () => void {
    const poller = pollWhileVisible(
      async () => {
        await this.refresh();
        return true;
      },
      this.#intervalMs,
      () => this.#inFlight?.abort(),
    );
    return () => poller.stop();
  }
}

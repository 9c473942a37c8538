/**
 * Runtime health and task-queue stats for the Home page, polled from the API. The fields are
 * reactive; the page reads them through getters and never writes them.
 */
import { type ApiError, getQueueStats, getSystemHealth, isAbortError, toApiError } from './api.ts';
import type { QueueStats, SystemHealth } from './api.ts';
import { pollWhileVisible } from './polling.ts';

/** @default 5000 */
export const POLL_INTERVAL_MS = 5_000;

export interface SystemMonitorOptions {
  /** Delay between the end of one poll and the start of the next. @default POLL_INTERVAL_MS */
  intervalMs?: number;
  /** Injected in tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

export class SystemMonitor {
  #health = $state.raw<SystemHealth | undefined>();
  #queues = $state.raw<readonly QueueStats[]>([]);
  #error = $state.raw<ApiError | undefined>();
  #updatedAt = $state<number | undefined>();
  #loading = $state(true);

  readonly #intervalMs: number;
  readonly #fetch: typeof fetch | undefined;
  #inFlight: AbortController | undefined;

  constructor(options: SystemMonitorOptions = {}) {
    this.#intervalMs = options.intervalMs ?? POLL_INTERVAL_MS;
    this.#fetch = options.fetch;
  }

  /** The last health report received, kept while the API is failing so the operator keeps context. */
  get health(): SystemHealth | undefined {
    return this.#health;
  }

  get queues(): readonly QueueStats[] {
    return this.#queues;
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

  /** Fetches health and queues once. A newer call supersedes (aborts) an older one still in flight. */
  async refresh(): Promise<void> {
    this.#inFlight?.abort();
    const controller = new AbortController();
    this.#inFlight = controller;
    const options = { signal: controller.signal, ...(this.#fetch ? { fetch: this.#fetch } : {}) };
    try {
      const [health, queues] = await Promise.all([getSystemHealth(options), getQueueStats(options)]);
      if (controller.signal.aborted) return;
      this.#health = health;
      this.#queues = queues.queues;
      this.#error = undefined;
      this.#updatedAt = Date.now();
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
   * Polls now and then every `intervalMs` until the returned function is called. Polling pauses
   * while the document is hidden (a background tab costs the server nothing) and resumes with an
   * immediate poll when it is shown again. Meant to be returned from an `$effect`.
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

/**
 * Runtime health and task-queue stats for the Home page, polled from the API. The fields are
 * reactive; the page reads them through getters and never writes them.
 */
import { getQueueStats, getSystemHealth, type QueueStats, type RequestOptions, type SystemHealth } from './api.ts';
import { Polled } from './polled.svelte.ts';

/** @default 5000 */
export const POLL_INTERVAL_MS = 5_000;

export interface SystemMonitorOptions {
  /** Delay between the end of one poll and the start of the next. @default POLL_INTERVAL_MS */
  intervalMs?: number;
  /** Injected in tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

export class SystemMonitor extends Polled {
  #health = $state.raw<SystemHealth | undefined>();
  #queues = $state.raw<readonly QueueStats[]>([]);

  constructor(options: SystemMonitorOptions = {}) {
    super(options.intervalMs ?? POLL_INTERVAL_MS, options.fetch);
  }

  /** The last health report received, kept while the API is failing so the operator keeps context. */
  get health(): SystemHealth | undefined {
    return this.#health;
  }

  get queues(): readonly QueueStats[] {
    return this.#queues;
  }

  /** Health and queues, fetched together. */
  protected async load(options: RequestOptions): Promise<(at: number) => void> {
    const [health, queues] = await Promise.all([getSystemHealth(options), getQueueStats(options)]);
    return () => {
      this.#health = health;
      this.#queues = queues.queues;
    };
  }
}

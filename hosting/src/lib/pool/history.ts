/**
 * The pool's recent past, as the dashboard charts it: one sample per stats poll, kept in memory
 * for a rolling window. The API reports only the present, so the history is the browser's own
 * and starts empty on every visit. Pure functions of their input.
 */
import type { ChartPoint } from '../charts.ts';
import type { PoolStats } from './api.ts';

/** @default 5 minutes */
export const HISTORY_WINDOW_MS = 5 * 60_000;

export interface QueueReading {
  depth: number;
  inFlight: number;
}

export interface PoolSample {
  /** When the stats arrived (epoch ms, the browser's clock). */
  at: number;
  running: number;
  limit: number;
  queues: Readonly<Record<string, QueueReading>>;
  throttled: { lastMinute: number; lastHour: number };
  /**
   * Steps throttled since the previous sample; null for the first, which has nothing to compare
   * with. See `throttleEventsBetween`.
   */
  throttleEvents: number | null;
}

/**
 * How many steps were throttled between two readings of the server's per-minute counters.
 *
 * The server keeps one bucket per wall-clock minute: `lastMinute` is the current bucket and
 * `lastHour` the sum of the last 60. Within one minute both grow by exactly the events in between.
 * When a minute boundary falls between the readings, the current bucket starts again from 0 and
 * the oldest bucket leaves the hour, so neither difference is exact; each is then a lower bound,
 * and so is the new bucket itself. The answer is the largest of those: exact within a minute, and
 * never more than what really happened across a boundary.
 */
export function throttleEventsBetween(
  previous: { lastMinute: number; lastHour: number },
  next: { lastMinute: number; lastHour: number },
): number {
  const rolledOver = next.lastMinute < previous.lastMinute;
  return Math.max(
    0,
    next.lastHour - previous.lastHour,
    next.lastMinute - previous.lastMinute,
    rolledOver ? next.lastMinute : 0,
  );
}

export function toSample(stats: PoolStats, at: number, previous?: PoolSample): PoolSample {
  const throttled = { lastMinute: stats.throttled.lastMinute, lastHour: stats.throttled.lastHour };
  return {
    at,
    running: stats.utilisation.running,
    limit: stats.utilisation.limit,
    queues: Object.fromEntries(stats.queues.map((q) => [q.queue, { depth: q.depth, inFlight: q.inFlight }])),
    throttled,
    throttleEvents: previous ? throttleEventsBetween(previous.throttled, throttled) : null,
  };
}

/** The history with `sample` added, less what has fallen out of the window ending at it. */
export function appendSample(
  history: readonly PoolSample[],
  sample: PoolSample,
  windowMs = HISTORY_WINDOW_MS,
): PoolSample[] {
  const since = sample.at - windowMs;
  return [...history.filter((s) => s.at >= since && s.at < sample.at), sample];
}

/** One value of every sample as chart points; a sample without it (a queue not yet seen) is a gap. */
export function pointsOf(
  history: readonly PoolSample[],
  pick: (sample: PoolSample) => number | null | undefined,
): ChartPoint[] {
  return history.map((sample) => ({ at: sample.at, value: pick(sample) ?? null }));
}

/**
 * Figures across every task queue, for the totals Home and the pool dashboard show above their
 * queue tables. Pure: no request, no state.
 */
import type { QueueStats } from './api.ts';

export interface QueueTotals {
  depth: number;
  inFlight: number;
  deadLettered: number;
}

/** The sums over `queues`; all zero when there are none. */
export function queueTotals(queues: readonly QueueStats[]): QueueTotals {
  return queues.reduce(
    (sum, q) => ({
      depth: sum.depth + q.depth,
      inFlight: sum.inFlight + q.inFlight,
      deadLettered: sum.deadLettered + q.deadLettered,
    }),
    { depth: 0, inFlight: 0, deadLettered: 0 },
  );
}

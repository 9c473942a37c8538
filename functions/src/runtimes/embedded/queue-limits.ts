/**
 * How fast the embedded runtime's queues dispatch. A task's declared
 * `rateLimits` are its Cloud Tasks queue's settings: how hard to drive a
 * function that scales out over many instances. In one process they only
 * throttle (a 5-step chain was held to 250 steps/s by the declared 200/s of
 * the normal step queue, when the engine itself does over ten times that), so
 * on one machine the limits come from the machine, unless configured:
 *
 * - no dispatch-rate cap (`SERAPHIM_QUEUE_RATE`: dispatches per second per queue);
 * - at least 8 tasks in flight per CPU core, never fewer than the task declares
 *   (`SERAPHIM_QUEUE_CONCURRENCY`: the same number for every queue). Steps mostly
 *   wait (on an upstream, a worker thread, a timer): eight per core keeps the
 *   cores busy without piling work up in memory.
 *
 * `declared` for either setting restores the task's declared value, as on
 * Firebase. Limits that must hold on both runtimes (an upstream's concurrency,
 * one at a time) belong in the task's flow control, which applies everywhere.
 * The pool's auto-scaling (AIMD) scales whatever is in force here: the runtime
 * hands runTask the task with these limits, so a 429 halves them, not the
 * declared ones.
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import type { Env } from '../../platform/config.js';
import type { RateLimits } from '../../platform/delivery.js';
import { InvalidInputError } from '../../platform/errors.js';
import { zodFields } from '../../platform/problem.js';

/**
 * A dispatch rate no queue reaches: "no cap". Finite, so the token bucket's
 * arithmetic (and the pool's scaling of it) stays in plain numbers.
 */
export const UNCAPPED_DISPATCHES_PER_SECOND = 1e9;

/** Tasks in flight per CPU core, by default. */
export const CONCURRENCY_PER_CPU = 8;

export interface QueueLimitSettings {
  /** Every queue's concurrency; `undefined`: the machine's default. */
  concurrency: number | 'declared' | undefined;
  /** Every queue's dispatch rate; `undefined` or `none`: no cap. */
  rate: number | 'declared' | 'none' | undefined;
  /** CPU cores the default concurrency is counted from. */
  cpus: number;
}

const Concurrency = z.union([z.literal('declared'), z.coerce.number().int().min(1).max(100_000)]);
const Rate = z.union([z.enum(['declared', 'none']), z.coerce.number().positive().max(1_000_000)]);
const QueueSettingsSchema = z.object({
  SERAPHIM_QUEUE_CONCURRENCY: Concurrency.optional(),
  SERAPHIM_QUEUE_RATE: Rate.optional(),
});

/**
 * The embedded queues' limit settings from the environment, checked at
 * start-up (the runtime's constructor): a bad value is refused with the
 * setting named.
 * @example queueLimitSettings({ SERAPHIM_QUEUE_RATE: '100' }).rate // 100
 */
export function queueLimitSettings(env: Env, cpus: number = availableParallelism()): QueueLimitSettings {
  const given = (name: keyof z.input<typeof QueueSettingsSchema>) =>
    env[name] === undefined || env[name] === '' ? undefined : env[name]?.trim();
  const parsed = QueueSettingsSchema.safeParse({
    SERAPHIM_QUEUE_CONCURRENCY: given('SERAPHIM_QUEUE_CONCURRENCY'),
    SERAPHIM_QUEUE_RATE: given('SERAPHIM_QUEUE_RATE'),
  });
  if (!parsed.success) {
    const fields = zodFields(parsed.error, 'env');
    throw new InvalidInputError(
      `Bad queue configuration: ${fields.map((f) => `${f.path}: ${f.message}`).join('; ')} ` +
        '(SERAPHIM_QUEUE_CONCURRENCY: a whole number or "declared"; SERAPHIM_QUEUE_RATE: dispatches per second, "none" or "declared")',
      fields,
    );
  }
  return {
    concurrency: parsed.data.SERAPHIM_QUEUE_CONCURRENCY,
    rate: parsed.data.SERAPHIM_QUEUE_RATE,
    cpus: Math.max(1, cpus),
  };
}

/** The limits a queue runs with on this machine, from what its task declares. */
export function machineRateLimits(
  declared: Required<RateLimits>,
  settings: QueueLimitSettings,
): Required<RateLimits> {
  const { concurrency, rate } = settings;
  return {
    maxConcurrentDispatches:
      concurrency === 'declared'
        ? declared.maxConcurrentDispatches
        : (concurrency ?? Math.max(declared.maxConcurrentDispatches, CONCURRENCY_PER_CPU * settings.cpus)),
    maxDispatchesPerSecond:
      rate === 'declared'
        ? declared.maxDispatchesPerSecond
        : rate === undefined || rate === 'none'
          ? UNCAPPED_DISPATCHES_PER_SECOND
          : rate,
  };
}

/**
 * The `wait` agent: waits until a time, or for a number of seconds.
 *
 * It is stateless and only computes the instant: its run returns `waiting`
 * with `until`, the engine records it as the step's `resumeAt` and sets a
 * timer, and when the timer fires the engine completes the step itself with
 * `{ waitedUntil }` (see `timerFired` in machine.ts). The agent is not called
 * again, so it keeps no first-start time: a `seconds` wait counts from the run
 * of the attempt, and an attempt that is run again waits again in full. An
 * instant already reached succeeds at once with the same output.
 */
import { z } from 'zod';
import { PermanentError } from '../../../platform/errors.js';
import { checkExpression, type ExpressionScope, evaluate, expressionScope } from './expression.js';
import { defineAgent } from './types.js';

/** A date, or a date and time with its offset: a local time would depend on the server's zone. */
const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;
const MAX_SECONDS = 366 * 24 * 3600;

export const WaitConfigSchema = z
  .strictObject({
    /**
     * An ISO 8601 instant, or a JSONata expression over the inputs giving one
     * (or ms since the epoch).
     * @example `2026-03-01T09:00:00Z`
     * @example `$toMillis(claim.receivedAt) + 48 * 3600 * 1000`
     */
    until: z
      .string()
      .min(1)
      .superRefine((until, ctx) => {
        const problem = ISO_INSTANT.test(until)
          ? parseInstant(until) === null
            ? `"${until}" is not a valid date`
            : null
          : checkExpression(until);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
    /** How long to wait, from the step's run. */
    seconds: z.number().min(0).max(MAX_SECONDS).optional(),
  })
  .refine((c) => (c.until === undefined) !== (c.seconds === undefined), {
    message: 'give exactly one of "until" and "seconds"',
  });
export type WaitConfig = z.output<typeof WaitConfigSchema>;

export const waitAgent = defineAgent<WaitConfig>({
  kind: 'wait',
  description: 'Waits until an instant (fixed or computed from the inputs), or for a number of seconds.',
  config: WaitConfigSchema,
  async run(call) {
    const { config, inputs, ctx } = call;
    const now = ctx.clock.now();
    const until = await resolveUntil(config, inputs, now, () => expressionScope(call));
    if (until <= now) return { status: 'succeeded', output: { waitedUntil: until } };
    return { status: 'waiting', reason: 'timer', until };
  },
});

/** The instant to wait for, in ms since the epoch. */
export async function resolveUntil(
  config: WaitConfig,
  inputs: Record<string, unknown>,
  now: number,
  scope: () => ExpressionScope,
): Promise<number> {
  if (config.seconds !== undefined) return now + Math.round(config.seconds * 1000);
  const source = config.until ?? '';
  const literal = parseInstant(source);
  if (literal !== null) return literal;
  const value = await evaluate(source, { ...inputs }, scope(), 'until');
  if (typeof value === 'number' && Number.isFinite(value)) return Math.round(value);
  const instant = typeof value === 'string' ? parseInstant(value) : null;
  if (instant !== null) return instant;
  throw new PermanentError(
    `wait: "until" gave ${JSON.stringify(value)}; expected an ISO 8601 instant with its offset, or ms since the epoch`,
  );
}

/** ms since the epoch of an ISO 8601 date or instant with offset; null if it is not one or names no real day. */
export function parseInstant(text: string): number | null {
  const m = ISO_INSTANT.exec(text);
  if (!m) return null;
  type Fields = [number, number, number, number, number, number];
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((part) => Number(part ?? 0)) as Fields;
  // Date.parse rolls 2026-02-30 over to March 2: check the fields ourselves.
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) {
    return null;
  }
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}

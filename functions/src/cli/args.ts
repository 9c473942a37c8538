/** Option text into values; text that is not a value of the kind asked for is a usage error (exit 2). */
import { CliError, EXIT } from './client.js';

export function parseJson(text: string | undefined, what: string): unknown {
  if (text === undefined) return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new CliError(`${what} must be JSON, got: ${text.slice(0, 80)}`, EXIT.usage);
  }
}

/** A whole number within bounds, written in decimal digits only (`1e3`, `0x10` and `2.0` are refused). */
export function wholeNumber(text: string, what: string, bounds: { min: number; max?: number }): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  const range = bounds.max === undefined ? `at least ${bounds.min}` : `${bounds.min} to ${bounds.max}`;
  if (!Number.isSafeInteger(n) || n < bounds.min || (bounds.max !== undefined && n > bounds.max))
    throw new CliError(`${what} must be a whole number, ${range}; got "${text}"`, EXIT.usage);
  return n;
}

/** A decimal number such as `2` or `0.5`. */
export function decimal(text: string, what: string): number {
  const n = /^\d+(\.\d+)?$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!Number.isFinite(n))
    throw new CliError(`${what} must be a number such as 2 or 0.5; got "${text}"`, EXIT.usage);
  return n;
}

// A date, optionally with a time, and with an offset (`Z`, `+02:00`) or none (local time), as ISO 8601 writes them.
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/** Whether the `YYYY-MM-DD` that starts the text names a day of the calendar (`Date.parse` rolls 02-30 over to March). */
function realDate(text: string): boolean {
  const [year = 0, month = 0, day = 0] = text.slice(0, 10).split('-').map(Number);
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/**
 * A moment as ms since epoch, from ms since epoch or an ISO 8601 date-time
 * (`2030-01-31T09:00:00Z`). Without an offset, a date-time is local time and
 * a bare date is midnight UTC, as `Date.parse` reads them.
 */
export function instant(text: string, what: string): number {
  const trimmed = text.trim();
  const ms = /^\d+$/.test(trimmed)
    ? Number(trimmed)
    : ISO_8601.test(trimmed) && realDate(trimmed)
      ? Date.parse(trimmed)
      : Number.NaN;
  if (!Number.isSafeInteger(ms) || ms <= 0)
    throw new CliError(
      `${what} must be an ISO 8601 date-time (e.g. 2030-01-31T09:00:00Z) or ms since epoch; got "${text}"`,
      EXIT.usage,
    );
  return ms;
}

/** An action's required argument or option: missing, a usage error that shows the command's usage. */
export function requirer(action: string | undefined, usage: string) {
  return (value: string | undefined, what: string): string => {
    if (!value) throw new CliError(`${action} needs ${what}.\nUsage:\n${usage}`, EXIT.usage);
    return value;
  };
}

/** Prints an answer: as JSON under `--json`, else the lines `human` makes of it. */
export function printer(json: boolean, out: (line: string) => void) {
  return (value: unknown, human: () => string[]): void => {
    for (const line of json ? [JSON.stringify(value, null, 2)] : human()) out(line);
  };
}

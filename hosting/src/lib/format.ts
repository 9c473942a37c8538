/** Display formatting shared by the console's pages. Pure functions of their input. */

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * A duration as its two largest units, as an operator reads an uptime or an age.
 * @example formatDuration(93_784_000) // '1d 2h'
 * @example formatDuration(754_000) // '12m 34s'
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < SECOND) return '0s';
  const units: Array<[number, string]> = [
    [DAY, 'd'],
    [HOUR, 'h'],
    [MINUTE, 'm'],
    [SECOND, 's'],
  ];
  const parts: string[] = [];
  let rest = Math.floor(ms);
  for (const [size, suffix] of units) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0 || parts.length > 0) parts.push(`${count}${suffix}`);
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

const counts = new Intl.NumberFormat('en');

export function formatCount(value: number): string {
  return counts.format(value);
}

const timestamps = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const clockTimes = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });

export function formatTimestamp(epochMs: number): string {
  return timestamps.format(epochMs);
}

export function formatClockTime(epochMs: number): string {
  return clockTimes.format(epochMs);
}

/**
 * A short span as a step's duration reads: milliseconds below a second, seconds with one or two
 * decimals below a minute, then as `formatDuration`.
 * @example formatElapsed(0) // '<1 ms'
 * @example formatElapsed(7) // '7 ms'
 * @example formatElapsed(1_240) // '1.24 s'
 */
export function formatElapsed(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1) return '<1 ms';
  if (ms < SECOND) return `${Math.round(ms)} ms`;
  if (ms < 10 * SECOND) return `${(ms / SECOND).toFixed(2)} s`;
  if (ms < MINUTE) return `${(ms / SECOND).toFixed(1)} s`;
  return formatDuration(ms);
}

const pad = (n: number) => String(n).padStart(2, '0');

/** The value a `<input type="datetime-local">` shows for an instant, in the browser's zone. */
export function toDateTimeLocal(epochMs: number): string {
  const d = new Date(epochMs);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** The instant a `datetime-local` value names in the browser's zone; undefined when empty or invalid. */
export function fromDateTimeLocal(value: string): number | undefined {
  if (value === '') return undefined;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

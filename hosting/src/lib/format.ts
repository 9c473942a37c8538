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

/**
 * The geometry behind the console's inline SVG charts: scales, ticks and line paths. Pure
 * functions of their input; the chart components only lay the results out.
 */

/** One reading of a series; `value` null where there is none (the line breaks there). */
export interface ChartPoint {
  /** Epoch milliseconds. */
  at: number;
  value: number | null;
}

export interface ChartSeries {
  /** Stable identity, e.g. a queue name. */
  key: string;
  label: string;
  color: string;
  points: readonly ChartPoint[];
}

/** How wide a chart is drawn until its container is measured, or while the container has no width. */
export const FALLBACK_WIDTH = 480;

/**
 * Distinct on white and for the common colour-vision deficiencies (Okabe–Ito, darkened where
 * needed for contrast against the chart background).
 */
export const SERIES_COLORS = [
  '#1d5fd1',
  '#d55e00',
  '#009e73',
  '#9b4f96',
  '#b8860b',
  '#0072b2',
  '#cc3d6e',
  '#5d6878',
] as const;

export function seriesColor(index: number): string {
  return SERIES_COLORS[index % SERIES_COLORS.length] as string;
}

/**
 * The smallest round number at or above `max` (1 at least): 1, 2 or 5 × 10ⁿ, and 2.5 × 10ⁿ from 25
 * up (so an axis ends near its data without a count axis ever ending on a fraction).
 * @example niceCeiling(0) // 1
 * @example niceCeiling(7) // 10
 * @example niceCeiling(21) // 25
 * @example niceCeiling(0.3) // 0.5
 */
export function niceCeiling(max: number): number {
  if (!Number.isFinite(max) || max <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(max));
  const steps = magnitude >= 10 ? [1, 2, 2.5, 5] : [1, 2, 5];
  for (const step of steps) {
    if (step * magnitude >= max) return step * magnitude;
  }
  return 10 * magnitude;
}

/**
 * The values marked on a y axis from 0 to `top`: the middle too when it is a whole number (or
 * when fractions are fine), so a count axis never reads "0.5 tasks".
 */
export function yTicks(top: number, integers = true): number[] {
  const middle = top / 2;
  return integers && !Number.isInteger(middle) ? [0, top] : [0, middle, top];
}

/** A linear map from [d0, d1] onto [r0, r1]; a zero-width domain maps everything to r0. */
export function linearScale(d0: number, d1: number, r0: number, r1: number): (value: number) => number {
  const span = d1 - d0;
  return (value) => (span === 0 ? r0 : r0 + ((value - d0) / span) * (r1 - r0));
}

export interface LinePath {
  /** An SVG path: `M` starts each run of readings, `L` continues it. */
  d: string;
  /** How many readings the path draws. */
  count: number;
}

const coordinate = (n: number) => (Math.round(n * 10) / 10).toString();

/**
 * The path through a series' readings, broken where a value is missing or where two readings are
 * more than `gapMs` apart (the page was hidden and polling paused: no line across what nobody saw).
 * A reading alone in its run is drawn as a dot (a zero-length segment with round caps).
 */
export function linePath(
  points: readonly ChartPoint[],
  x: (at: number) => number,
  y: (value: number) => number,
  gapMs = Number.POSITIVE_INFINITY,
): LinePath {
  const parts: string[] = [];
  let count = 0;
  let runLength = 0;
  let previousAt: number | undefined;
  const closeRun = () => {
    if (runLength === 1) parts.push('l0 0');
    runLength = 0;
  };
  for (const point of points) {
    if (point.value === null || !Number.isFinite(point.value)) {
      closeRun();
      previousAt = undefined;
      continue;
    }
    const broken = previousAt === undefined || point.at - previousAt > gapMs;
    if (broken) closeRun();
    parts.push(`${broken ? 'M' : 'L'}${coordinate(x(point.at))} ${coordinate(y(point.value))}`);
    count += 1;
    runLength += 1;
    previousAt = point.at;
  }
  closeRun();
  return { d: parts.join(' '), count };
}

/** The largest value any series reaches, 0 when none has a value. */
export function seriesMax(series: readonly ChartSeries[]): number {
  let max = 0;
  for (const s of series) for (const p of s.points) if (p.value !== null && p.value > max) max = p.value;
  return max;
}

/** The latest non-null value of a series, if any. */
export function latestValue(points: readonly ChartPoint[]): number | undefined {
  for (let i = points.length - 1; i >= 0; i--) {
    const value = points[i]?.value;
    if (value !== null && value !== undefined) return value;
  }
  return undefined;
}

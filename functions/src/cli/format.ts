/** How the CLI shows values to a person; `--json` output bypasses all of this. */

/** Left-aligned columns two spaces apart; the first row is the header. */
export function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

/** A coarse age or uptime: `42s`, `3m 5s`, `2h 10m`. */
export function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

/** A short latency, where `duration` would round it to `0s`: `12 ms`, `1.5 s`, then as `duration`. */
export function latency(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return duration(ms);
}

export function instantText(ms: number): string {
  return new Date(ms).toISOString();
}

/** `llm 8, http 16`: a record of numbers on one line. */
export function pairs(record: Record<string, number>, show: (n: number) => string = String): string {
  const entries = Object.entries(record);
  return entries.length === 0 ? 'none' : entries.map(([key, n]) => `${key} ${show(n)}`).join(', ');
}

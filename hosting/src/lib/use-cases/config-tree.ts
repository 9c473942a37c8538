/**
 * A template's resolved configuration as rows to show: every value by JSON pointer, objects and
 * lists as headings of what they hold, each with the template of the chain that set it (the
 * resolver's `origins`). Pure functions of their input.
 */
import { formatPointer, parsePointer } from './pointers.ts';

export interface ConfigRow {
  pointer: string;
  /** The last token of the pointer: the key or the index. */
  key: string;
  /** How deep below the root shown (0 for its direct children). */
  depth: number;
  kind: 'object' | 'array' | 'value';
  /** A scalar's value; for an object or a list, undefined (its rows follow). */
  value: unknown;
  /** How many entries an object or a list holds. */
  size: number;
  /** `id@version` of the template that set it; undefined when the resolver recorded none. */
  origin: string | undefined;
  /** Set by a different template from its parent's: an override or an addition further down the chain. */
  overridden: boolean;
}

/**
 * The template that set the value at `pointer`: its own origin, or its nearest ancestor's (an
 * origin is recorded for every value, but a caller may ask about a pointer below a scalar).
 */
export function originOf(origins: Record<string, string>, pointer: string): string | undefined {
  let at = pointer;
  for (;;) {
    const origin = origins[at];
    if (origin !== undefined) return origin;
    if (at === '') return undefined;
    at = at.slice(0, at.lastIndexOf('/'));
  }
}

/**
 * Every value of `root` (placed at `base` among the origins, e.g. `/spec`) as rows, depth first,
 * in the order the keys are written. At most `limit` rows (a huge spec stays readable).
 */
export function configRows(
  root: unknown,
  origins: Record<string, string>,
  base: string,
  limit = 2_000,
): ConfigRow[] {
  const rows: ConfigRow[] = [];
  const baseDepth = parsePointer(base).length;
  const visit = (value: unknown, tokens: string[], parentOrigin: string | undefined) => {
    if (rows.length >= limit) return;
    const pointer = formatPointer(tokens);
    const origin = originOf(origins, pointer);
    const kind = Array.isArray(value) ? 'array' : typeof value === 'object' && value !== null ? 'object' : 'value';
    const entries: [string, unknown][] =
      kind === 'array'
        ? (value as unknown[]).map((item, i) => [String(i), item])
        : kind === 'object'
          ? Object.entries(value as Record<string, unknown>)
          : [];
    rows.push({
      pointer,
      key: tokens.at(-1) ?? '',
      depth: tokens.length - baseDepth - 1,
      kind,
      value: kind === 'value' ? value : undefined,
      size: entries.length,
      origin,
      overridden: parentOrigin !== undefined && origin !== undefined && origin !== parentOrigin,
    });
    for (const [key, item] of entries) visit(item, [...tokens, key], origin);
  };
  const baseTokens = parsePointer(base);
  const rootOrigin = originOf(origins, base);
  if (typeof root === 'object' && root !== null) {
    const entries = Array.isArray(root)
      ? root.map((item, i): [string, unknown] => [String(i), item])
      : Object.entries(root as Record<string, unknown>);
    for (const [key, item] of entries) visit(item, [...baseTokens, key], rootOrigin);
  }
  return rows;
}

/** A value in a cell: strings as they are (quoted when empty), the rest as JSON, cut at `max` characters. */
export function formatValue(value: unknown, max = 160): string {
  const text = typeof value === 'string' ? (value === '' ? '""' : value) : (JSON.stringify(value) ?? 'undefined');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The template of an `id@version` origin: `insurance@1.0.0` → `insurance`. */
export function originTemplate(origin: string): string {
  const at = origin.lastIndexOf('@');
  return at === -1 ? origin : origin.slice(0, at);
}

/** A chain's position of an origin (0 for the base), to colour its badge; -1 when not in the chain. */
export function chainIndex(chain: readonly { id: string; version: string }[], origin: string | undefined): number {
  if (origin === undefined) return -1;
  return chain.findIndex((ref) => `${ref.id}@${ref.version}` === origin);
}

/**
 * How a template overlays the one it extends. The rules, in full:
 *
 * - Objects merge deeply, key by key.
 * - A key set to `null` removes what was inherited under it (JSON Merge Patch, RFC 7396).
 * - Arrays are replaced whole, except the keyed ones, which merge item by item
 *   on their key: `spec.workflow.steps` and `spec.metrics` by `id`,
 *   `spec.datasets` by `dataset`, `samples` by `name`. A new key is appended; an
 *   item `{ "id": "x", "$patch": "delete" }` removes the inherited one.
 * - An object with `"$patch": "replace"` replaces what was inherited instead of
 *   merging into it (the same marker as Kubernetes' strategic merge patch).
 *
 * Every value of the result carries its origin: the template that set it,
 * by JSON pointer. Pure: no I/O.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Origins = Map<string, string>;

/** Keyed arrays, by their pointer with `*` for any index, and the field that keys them. */
const KEYED: Record<string, string> = {
  '/spec/workflow/steps': 'id',
  '/spec/metrics': 'id',
  '/spec/datasets': 'dataset',
  '/samples': 'name',
};

export const PATCH = '$patch';

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function pointerSegment(key: string | number): string {
  return String(key).replaceAll('~', '~0').replaceAll('/', '~1');
}

/** Records `origin` for the value at `pointer` and everything under it. */
export function markOrigins(value: unknown, pointer: string, origin: string, origins: Origins): void {
  origins.set(pointer, origin);
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) markOrigins(v, `${pointer}/${i}`, origin, origins);
  } else if (isPlainObject(value))
    for (const [k, v] of Object.entries(value))
      markOrigins(v, `${pointer}/${pointerSegment(k)}`, origin, origins);
}

/**
 * Forgets the origins recorded for `value` at `pointer` and under it. It walks the value, not the
 * map: every node of a merged value was marked when it was set, so the cost is the size of what is
 * removed, whatever the size of the template.
 */
function dropOrigins(value: unknown, pointer: string, origins: Origins): void {
  origins.delete(pointer);
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) dropOrigins(v, `${pointer}/${i}`, origins);
  } else if (isPlainObject(value))
    for (const [k, v] of Object.entries(value)) dropOrigins(v, `${pointer}/${pointerSegment(k)}`, origins);
}

/** Takes the origins of `value` at `pointer` out of `origins`, keyed relative to it (an item about to move). */
function takeOrigins(
  value: unknown,
  pointer: string,
  origins: Origins,
  into: Origins = new Map(),
  rel = '',
): Origins {
  const found = origins.get(pointer);
  if (found !== undefined) {
    into.set(rel, found);
    origins.delete(pointer);
  }
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) takeOrigins(v, `${pointer}/${i}`, origins, into, `${rel}/${i}`);
  } else if (isPlainObject(value))
    for (const [k, v] of Object.entries(value)) {
      const seg = pointerSegment(k);
      takeOrigins(v, `${pointer}/${seg}`, origins, into, `${rel}/${seg}`);
    }
  return into;
}

function stripMarkers(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripMarkers);
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (k !== PATCH && v !== null) out[k] = stripMarkers(v);
  return out;
}

/**
 * `overlay` over `base`, at `pointer`: the merged value, with `origins` updated
 * (the base's origins are in it already; what the overlay sets becomes `origin`'s).
 */
export function mergeAt(
  base: unknown,
  overlay: unknown,
  pointer: string,
  origin: string,
  origins: Origins,
): unknown {
  if (overlay === undefined) return base;
  if (isPlainObject(overlay) && isPlainObject(base) && overlay[PATCH] !== 'replace') {
    const out: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(overlay)) {
      if (key === PATCH) continue;
      const at = `${pointer}/${pointerSegment(key)}`;
      if (value === null) {
        dropOrigins(out[key], at, origins);
        delete out[key];
        continue;
      }
      out[key] = mergeAt(base[key], value, at, origin, origins);
    }
    return out;
  }
  const keyField = KEYED[pointer.replace(/\/\d+(?=\/|$)/g, '/*')];
  // A keyed list over nothing inherited merges too: its `$patch: delete` items then remove nothing.
  if (keyField && Array.isArray(overlay) && (Array.isArray(base) || base === undefined))
    return mergeKeyed(Array.isArray(base) ? base : [], overlay, keyField, pointer, origin, origins);
  dropOrigins(base, pointer, origins);
  const value = stripMarkers(overlay);
  markOrigins(value, pointer, origin, origins);
  return value;
}

function keyOf(item: unknown, field: string): string | undefined {
  const key = isPlainObject(item) ? item[field] : undefined;
  return typeof key === 'string' ? key : undefined;
}

function mergeKeyed(
  base: unknown[],
  overlay: unknown[],
  field: string,
  pointer: string,
  origin: string,
  origins: Origins,
): unknown[] {
  // Work on items by key, then lay them out again: indexes (and the origins under them) move.
  // Keys index the items (a Map, not a search per overlay entry); a deleted item is left a hole.
  type Item = { key: string | undefined; value: unknown; origins: Origins } | null;
  const items: Item[] = base.map((value, i) => ({
    key: keyOf(value, field),
    value,
    origins: takeOrigins(value, `${pointer}/${i}`, origins),
  }));
  origins.delete(pointer);
  const byKey = new Map<string, number>();
  for (const [i, item] of items.entries())
    if (item?.key !== undefined && !byKey.has(item.key)) byKey.set(item.key, i);
  for (const entry of overlay) {
    const key = keyOf(entry, field);
    const at = key === undefined ? undefined : byKey.get(key);
    const item = at === undefined ? null : items[at];
    if (isPlainObject(entry) && entry[PATCH] === 'delete') {
      if (at !== undefined && key !== undefined) {
        items[at] = null;
        byKey.delete(key);
      }
      continue;
    }
    if (item) {
      const keyOrigin = item.origins.get(`/${pointerSegment(field)}`);
      item.value = mergeAt(item.value, entry, '', origin, item.origins);
      // Naming an item to change it does not make its key the overlay's.
      if (keyOrigin !== undefined) item.origins.set(`/${pointerSegment(field)}`, keyOrigin);
    } else {
      const own: Origins = new Map();
      const value = stripMarkers(entry);
      markOrigins(value, '', origin, own);
      if (key !== undefined) byKey.set(key, items.length);
      items.push({ key, value, origins: own });
    }
  }
  origins.set(pointer, origin);
  return items
    .filter((item) => item !== null)
    .map((item, i) => {
      for (const [key, o] of item.origins) origins.set(`${pointer}/${i}${key}`, o);
      return item.value;
    });
}

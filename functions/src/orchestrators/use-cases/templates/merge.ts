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

function dropPrefix(origins: Origins, pointer: string): void {
  for (const key of [...origins.keys()])
    if (key === pointer || key.startsWith(`${pointer}/`)) origins.delete(key);
}

/** Moves the origins recorded under `from` to `to` (an item that changed index in its array). */
function moveOrigins(origins: Origins, from: string, to: string): Origins {
  const moved: Origins = new Map();
  for (const [key, origin] of origins)
    if (key === from || key.startsWith(`${from}/`)) moved.set(to + key.slice(from.length), origin);
  return moved;
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
        delete out[key];
        dropPrefix(origins, at);
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
  dropPrefix(origins, pointer);
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
  const items = base.map((value, i) => ({
    key: keyOf(value, field),
    value,
    origins: moveOrigins(origins, `${pointer}/${i}`, ''),
  }));
  dropPrefix(origins, pointer);
  for (const entry of overlay) {
    const key = keyOf(entry, field);
    const at = key === undefined ? -1 : items.findIndex((item) => item.key === key);
    if (isPlainObject(entry) && entry[PATCH] === 'delete') {
      if (at >= 0) items.splice(at, 1);
      continue;
    }
    if (at >= 0) {
      const item = items[at] as (typeof items)[number];
      const keyOrigin = item.origins.get(`/${pointerSegment(field)}`);
      item.value = mergeAt(item.value, entry, '', origin, item.origins);
      // Naming an item to change it does not make its key the overlay's.
      if (keyOrigin !== undefined) item.origins.set(`/${pointerSegment(field)}`, keyOrigin);
    } else {
      const own: Origins = new Map();
      const value = stripMarkers(entry);
      markOrigins(value, '', origin, own);
      items.push({ key, value, origins: own });
    }
  }
  origins.set(pointer, origin);
  return items.map((item, i) => {
    for (const [key, o] of item.origins) origins.set(`${pointer}/${i}${key}`, o);
    return item.value;
  });
}

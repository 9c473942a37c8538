/**
 * Structural differences between two JSON values, by JSON pointer: what a
 * version changed, and what an upgrade would change in a use case. Keyed
 * arrays (steps by `id`, and any list of objects that all carry an `id` or a
 * `name`) are compared item by item on their key, so a step inserted in the
 * middle reads as one step added, not every later step changed. Pure.
 */
import { isPlainObject, pointerSegment } from './merge.js';

export interface Change {
  op: 'add' | 'remove' | 'change';
  pointer: string;
  before?: unknown;
  after?: unknown;
}

const MAX_CHANGES = 500;

function keyField(items: unknown[]): string | undefined {
  for (const field of ['id', 'name', 'dataset']) {
    const keys = items.map((i) => (isPlainObject(i) ? i[field] : undefined));
    if (keys.length > 0 && keys.every((k) => typeof k === 'string') && new Set(keys).size === keys.length)
      return field;
  }
  return undefined;
}

export function diffValues(before: unknown, after: unknown, pointer = '', out: Change[] = []): Change[] {
  if (out.length >= MAX_CHANGES) return out;
  if (before === undefined && after === undefined) return out;
  if (before === undefined) {
    out.push({ op: 'add', pointer, after });
    return out;
  }
  if (after === undefined) {
    out.push({ op: 'remove', pointer, before });
    return out;
  }
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    for (const k of keys) diffValues(before[k], after[k], `${pointer}/${pointerSegment(k)}`, out);
    return out;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const field =
      keyField(before) !== undefined && keyField(before) === keyField(after) ? keyField(before) : undefined;
    if (field) {
      const index = (items: unknown[]) =>
        new Map(items.map((item, i) => [(item as Record<string, unknown>)[field] as string, { item, i }]));
      const was = index(before);
      const now = index(after);
      for (const [key, { item, i }] of was)
        if (!now.has(key)) diffValues(item, undefined, `${pointer}/${i}`, out);
      for (const [key, { item, i }] of now) diffValues(was.get(key)?.item, item, `${pointer}/${i}`, out);
      return out;
    }
    const n = Math.max(before.length, after.length);
    for (let i = 0; i < n; i++) diffValues(before[i], after[i], `${pointer}/${i}`, out);
    return out;
  }
  if (JSON.stringify(before) !== JSON.stringify(after)) out.push({ op: 'change', pointer, before, after });
  return out;
}

import { describe, expect, it } from 'vitest';
import { mergeAt, type Origins } from './merge.js';

function merge(base: unknown, overlay: unknown, at = '/spec') {
  const origins: Origins = new Map();
  const a = mergeAt(undefined, base, at, 'base', origins);
  const value = mergeAt(a, overlay, at, 'leaf', origins);
  return { value, origins: Object.fromEntries(origins) };
}

describe('template merge rules', () => {
  it.each([
    ['objects merge deeply', { a: { x: 1, y: 2 } }, { a: { y: 3 } }, { a: { x: 1, y: 3 } }],
    ['null removes an inherited key', { a: 1, b: 2 }, { b: null }, { a: 1 }],
    ['null removes a whole inherited object', { a: { x: 1 }, b: 2 }, { a: null }, { b: 2 }],
    ['arrays are replaced', { list: [1, 2, 3] }, { list: [4] }, { list: [4] }],
    [
      '$patch: replace replaces an object',
      { a: { x: 1, y: 2 } },
      { a: { $patch: 'replace', z: 3 } },
      { a: { z: 3 } },
    ],
    ['a scalar replaces an object', { a: { x: 1 } }, { a: 5 }, { a: 5 }],
    ['an absent key keeps the inherited value', { a: 1 }, {}, { a: 1 }],
    ['null in a new subtree is dropped', {}, { a: { x: null, y: 1 } }, { a: { y: 1 } }],
  ])('%s', (_, base, overlay, expected) => {
    expect(merge(base, overlay).value).toEqual(expected);
  });

  it('merges steps by id: changes one, appends a new one, keeps the order', () => {
    const base = {
      workflow: {
        steps: [
          { id: 'a', config: { t: 1 }, output: 'a' },
          { id: 'b', output: 'b' },
        ],
      },
    };
    const overlay = {
      workflow: {
        steps: [
          { id: 'a', config: { t: 2 } },
          { id: 'c', output: 'c' },
        ],
      },
    };
    const { value, origins } = merge(base, overlay);
    expect(value).toEqual({
      workflow: {
        steps: [
          { id: 'a', config: { t: 2 }, output: 'a' },
          { id: 'b', output: 'b' },
          { id: 'c', output: 'c' },
        ],
      },
    });
    expect(origins['/spec/workflow/steps/0/config/t']).toBe('leaf');
    expect(origins['/spec/workflow/steps/0/output']).toBe('base');
    expect(origins['/spec/workflow/steps/1/id']).toBe('base');
    expect(origins['/spec/workflow/steps/2/id']).toBe('leaf');
  });

  it('removes a keyed item with $patch: delete, and the origins move with the items', () => {
    const base = {
      metrics: [
        { id: 'm1', goal: 'maximize' },
        { id: 'm2', goal: 'minimize' },
      ],
    };
    const { value, origins } = merge(base, { metrics: [{ id: 'm1', $patch: 'delete' }] });
    expect(value).toEqual({ metrics: [{ id: 'm2', goal: 'minimize' }] });
    expect(origins['/spec/metrics/0/goal']).toBe('base');
    expect(origins['/spec/metrics/1/goal']).toBeUndefined();
  });

  it('merges samples by name and datasets by dataset', () => {
    const samples = merge([{ name: 's1', input: { a: 1 } }], [{ name: 's1', input: { b: 2 } }], '/samples');
    expect(samples.value).toEqual([{ name: 's1', input: { a: 1, b: 2 } }]);
    const datasets = merge(
      { datasets: [{ dataset: 'x', required: true }] },
      { datasets: [{ dataset: 'x', required: false }, { dataset: 'y' }] },
    );
    expect(datasets.value).toEqual({ datasets: [{ dataset: 'x', required: false }, { dataset: 'y' }] });
  });

  it('records the origin of every value, and drops the origins of what was removed or replaced', () => {
    const { origins } = merge({ a: { x: 1, y: 2 }, b: [1, 2] }, { a: { y: 3 }, b: [9], c: null });
    expect(origins).toMatchObject({ '/spec/a/x': 'base', '/spec/a/y': 'leaf', '/spec/b/0': 'leaf' });
    expect(origins['/spec/b/1']).toBeUndefined();
  });

  it('a $patch: delete over nothing inherited removes nothing and leaves nothing behind', () => {
    expect(
      merge(
        { workflow: {} },
        {
          metrics: [
            { id: 'gone', $patch: 'delete' },
            { id: 'kept', goal: 'x' },
          ],
        },
      ).value,
    ).toEqual({
      workflow: {},
      metrics: [{ id: 'kept', goal: 'x' }],
    });
  });

  it('naming a keyed item to change it leaves its key to the template that made it', () => {
    const { origins } = merge({ metrics: [{ id: 'm', goal: 'a' }] }, { metrics: [{ id: 'm', goal: 'b' }] });
    expect(origins['/spec/metrics/0/id']).toBe('base');
    expect(origins['/spec/metrics/0/goal']).toBe('leaf');
  });

  it('merges in time proportional to what changes: 20,000 overridden leaves, 5,000 keyed items', () => {
    // A complexity guard, with a wide margin: the quadratic merge this replaced took about 15 s here.
    const leaves = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, { v: i }]));
    const over = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, { v: -i }]));
    const { value, origins } = merge({ x: leaves }, { x: over });
    expect((value as { x: Record<string, { v: number }> }).x.k19999?.v).toBe(-19999);
    expect(origins['/spec/x/k19999/v']).toBe('leaf');
    const items = Array.from({ length: 5_000 }, (_, i) => ({ id: `m${i}`, goal: 'a' }));
    const changed = merge({ metrics: items }, { metrics: items.map((m) => ({ id: m.id, goal: 'b' })) });
    expect((changed.value as { metrics: { goal: string }[] }).metrics.every((m) => m.goal === 'b')).toBe(
      true,
    );
  });

  it('escapes keys with / and ~ in pointers', () => {
    const { origins } = merge({}, { 'a/b': { '~c': 1 } });
    expect(origins['/spec/a~1b/~0c']).toBe('leaf');
  });
});

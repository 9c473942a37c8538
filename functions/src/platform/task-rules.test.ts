import { describe, expect, it } from 'vitest';
import {
  baseTaskId,
  cloudTaskName,
  deferDelayMs,
  deferredTaskId,
  encodeTask,
  isDeferredCopy,
  taskIdOfName,
  waitFallbackMs,
  wokenTaskId,
} from './task-rules.js';

describe('deferDelayMs', () => {
  it.each([
    [0, 0.5, 25],
    [1, 0.5, 50],
    [3, 0.5, 200],
    [10, 0.5, 2000],
    [0, 0, 13],
    [0, 1, 38],
  ])('after %i deferrals, random %f: %i ms', (times, random, expected) => {
    expect(deferDelayMs(times, () => random)).toBe(expected);
  });
});

describe('deferredTaskId', () => {
  it.each([
    ['e1-s-a1', 'e1-s-a1-d1', 0],
    ['e1-s-a1-d1', 'e1-s-a1-d2', 1],
    ['e1-s-a1-d41', 'e1-s-a1-d42', 41],
    ['x-dd', 'x-dd-d1', 0],
    // A woken copy counts as its deferral.
    ['e1-s-a1-d3w', 'e1-s-a1-d4', 3],
  ])('%s → %s (%i before)', (id, next, before) => {
    expect(deferredTaskId(id)).toEqual({ id: next, deferrals: before });
    expect(() => encodeTask(next, {})).not.toThrow();
  });
});

describe('deferred and woken copies', () => {
  it.each([
    ['e1-s-a1', 'e1-s-a1', false],
    ['e1-s-a1-d2', 'e1-s-a1', true],
    ['e1-s-a1-d2w', 'e1-s-a1', false],
    ['x-dw', 'x-dw', false],
  ])('%s stands for %s; a deferred copy: %s', (id, base, deferred) => {
    expect(baseTaskId(id)).toBe(base);
    expect(isDeferredCopy(id)).toBe(deferred);
  });

  it('names the woken copy of a deferred one, a valid task id', () => {
    expect(wokenTaskId('e1-s-a1-d2')).toBe('e1-s-a1-d2w');
    expect(() => encodeTask(wokenTaskId('e1-s-a1-d2'), {})).not.toThrow();
  });

  it.each([
    [0, 0, 8000],
    [0, 1, 12000],
    [2, 0.5, 40000],
    [9, 0.5, 300000],
  ])('a kv-waiting copy falls back after %i deferrals, random %f: %i ms', (times, random, expected) => {
    expect(waitFallbackMs(times, () => random)).toBe(expected);
  });
});

describe('Cloud Tasks names', () => {
  it('prefix an id with 8 hex digits of its hash, and give the id back', () => {
    const name = cloudTaskName('01JZ8Q3K7M-s1-a1');
    expect(name).toMatch(/^[0-9a-f]{8}-01JZ8Q3K7M-s1-a1$/);
    expect(taskIdOfName(name)).toBe('01JZ8Q3K7M-s1-a1');
    expect(() => encodeTask(name, {})).not.toThrow();
  });

  it('take a name without a matching prefix as the id itself', () => {
    // An id that merely looks prefixed keeps its first part: the prefix must be the hash of the rest.
    expect(taskIdOfName('deadbeef-abc')).toBe('deadbeef-abc');
    expect(taskIdOfName('plain')).toBe('plain');
    expect(taskIdOfName(cloudTaskName('deadbeef-abc'))).toBe('deadbeef-abc');
  });
});

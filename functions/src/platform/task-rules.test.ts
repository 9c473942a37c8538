import { describe, expect, it } from 'vitest';
import { deferDelayMs, deferredTaskId, encodeTask } from './task-rules.js';

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
  ])('%s → %s (%i before)', (id, next, before) => {
    expect(deferredTaskId(id)).toEqual({ id: next, deferrals: before });
    expect(() => encodeTask(next, {})).not.toThrow();
  });
});

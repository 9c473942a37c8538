import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  backoffMs,
  defineOrchestrator,
  defineRoute,
  defineTask,
  matchDocumentPattern,
  priorityQueueKey,
  retryPolicy,
  tasksPerPriority,
} from './orchestrator.js';

describe('backoffMs', () => {
  const policy = retryPolicy({ minBackoffSeconds: 1, maxBackoffSeconds: 60, maxDoublings: 3 });
  it.each([
    // attempt, random, expected ms: doubles 1,2,4,8 s, then +8 s a step, capped at 60 s; jitter spans the upper half
    [1, 1, 1000],
    [2, 1, 2000],
    [3, 1, 4000],
    [4, 1, 8000],
    [5, 1, 16000],
    [6, 1, 24000],
    [20, 1, 60000],
    [1, 0, 500],
    [4, 0, 4000],
    [0, 1, 1000],
  ])('attempt %i with random %f waits %i ms', (attempt, random, expected) => {
    expect(backoffMs(policy, attempt, () => random)).toBe(expected);
  });
});

describe('matchDocumentPattern', () => {
  it.each([
    ['workspaces/{ws}/runs/{run}', 'workspaces/w1/runs/r9', { ws: 'w1', run: 'r9' }],
    ['workspaces/{ws}/runs/{run}', 'workspaces/w1/other/r9', null],
    ['workspaces/{ws}/runs/{run}', 'workspaces/w1/runs/r9/steps/s1', null],
    ['system/health', 'system/health', {}],
  ])('%s against %s', (pattern, path, expected) => {
    expect(matchDocumentPattern(pattern, path)).toEqual(expected);
  });
});

describe('defineOrchestrator', () => {
  const route = defineRoute({
    method: 'GET',
    path: '/x',
    access: 'signed-in',
    summary: 'x',
    response: z.object({}),
    handler: async () => ({}),
  });
  const task = defineTask({ payload: z.object({}), handler: async () => {} });

  it('accepts a well-formed definition and fills the empty parts', () => {
    const o = defineOrchestrator({ name: 'pipelines', routes: [route], tasks: { runChunk: task } });
    expect(o.events).toEqual({});
    expect(Object.isFrozen(o)).toBe(true);
  });

  it.each([
    [{ name: 'Bad-Name' }, 'lower camel case'],
    [{ name: 'ok', tasks: { api: task } }, 'already used'],
    [{ name: 'ok', routes: [route, route] }, 'declared twice'],
    [{ name: 'ok', routes: [{ ...route, path: 'x' }] }, 'must start with /'],
    [{ name: 'ok', routes: [{ ...route, access: undefined }] }, 'access must be one of'],
    [{ name: 'ok', routes: [{ ...route, access: 'everyone' }] }, 'access must be one of'],
    [
      { name: 'ok', routes: [{ ...route, path: '/workspaces/:workspace/x' }] },
      'a :workspace route must declare a role',
    ],
    [
      { name: 'ok', routes: [{ ...route, path: '/workspaces/:workspace/x', access: 'public' }] },
      'a :workspace route must declare a role',
    ],
    [{ name: 'ok', routes: [{ ...route, access: 'viewer' }] }, 'the path has no :workspace'],
    [
      { name: 'ok', documents: { onRun: { document: 'workspaces/{ws}/runs', handler: async () => {} } } },
      'even number of segments',
    ],
    [
      { name: 'ok', events: { onX: { topic: '$bad', data: z.unknown(), handler: async () => {} } } },
      'bad topic',
    ],
  ])('rejects %j', (def, message) => {
    // Some cases break the types on purpose: the check must hold for untyped callers too.
    expect(() => defineOrchestrator(def as Parameters<typeof defineOrchestrator>[0])).toThrow(message);
  });
});

describe('tasksPerPriority', () => {
  it('makes one queue per priority class, each with its own limits over the shared defaults', () => {
    const task = defineTask({
      payload: z.object({}),
      rateLimits: { maxConcurrentDispatches: 4 },
      handler: async () => {},
    });
    const queues = tasksPerPriority('step', task, {
      high: { maxConcurrentDispatches: 20 },
      batch: { maxDispatchesPerSecond: 5 },
    });
    expect(Object.keys(queues)).toEqual(['stepHigh', 'stepNormal', 'stepLow', 'stepBatch']);
    expect(queues.stepHigh?.rateLimits).toEqual({ maxConcurrentDispatches: 20 });
    expect(queues.stepNormal?.rateLimits).toEqual({ maxConcurrentDispatches: 4 });
    expect(queues.stepBatch?.rateLimits).toEqual({ maxConcurrentDispatches: 4, maxDispatchesPerSecond: 5 });
    expect(queues.stepLow?.handler).toBe(task.handler);
    expect(priorityQueueKey('step', 'low')).toBe('stepLow');
    expect(() => defineOrchestrator({ name: 'pool', tasks: queues })).not.toThrow();
  });
});

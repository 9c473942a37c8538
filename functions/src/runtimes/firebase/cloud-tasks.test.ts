/**
 * The Cloud Tasks adapter without any cloud: rate limit changes go to an
 * injected function or a fake API client, so the request it would send, and
 * how its failures map onto platform errors, can be checked.
 */

import type { TaskOptions } from 'firebase-admin/functions';
import { describe, expect, it } from 'vitest';
import executions from '../../orchestrators/executions/index.js';
import { StepSchema } from '../../orchestrators/executions/model.js';
import type { RateLimits } from '../../platform/delivery.js';
import { InvalidInputError, NotFoundError, PermanentError, RetryableError } from '../../platform/errors.js';
import { createLogger, MemorySink } from '../../platform/logger.js';
import { cloudTaskName, taskIdOfName } from '../../platform/task-rules.js';
import {
  type CloudTasksApi,
  CloudTasksQueue,
  cloudTasksCounts,
  cloudTasksUpdateRateLimits,
  dispatchDeadlineSeconds,
  emulatorUpdateRateLimits,
  lazyCloudTasksClient,
  MAX_CONCURRENT_DISPATCHES,
  MAX_DISPATCH_DEADLINE_SECONDS,
  MAX_DISPATCHES_PER_SECOND,
  MAX_SCHEDULE_AHEAD_MS,
  NOT_BEFORE_HEADER,
} from './cloud-tasks.js';

function queueWith(updates: Array<{ queue: string; limits: Required<RateLimits> }>): CloudTasksQueue {
  return new CloudTasksQueue({
    region: 'us-central1',
    queues: ['probe-work'],
    taskQueue: async () => {
      throw new Error('no enqueue in these tests');
    },
    counts: async () => ({ depth: 0, inFlight: 0, oldestAgeMs: 0 }),
    updateRateLimits: async (queue, limits) => {
      updates.push({ queue, limits });
    },
    countDeadLetters: async () => 0,
  });
}

/** A client whose calls are recorded; `fail` makes every call reject with it. */
function fakeClient(fail?: unknown) {
  const requests: unknown[] = [];
  let made = 0;
  const client = {
    queuePath: (project: string, location: string, queue: string) =>
      `projects/${project}/locations/${location}/queues/${queue}`,
    updateQueue: async (request: unknown) => {
      requests.push(request);
      if (fail !== undefined) throw fail;
      return [{}, undefined, undefined];
    },
    getQueue: async (request: unknown) => {
      requests.push(request);
      if (fail !== undefined) throw fail;
      return [{ stats: { tasksCount: 3, concurrentDispatchesCount: 1 } }, undefined, undefined];
    },
  } as unknown as CloudTasksApi;
  const getter = async () => {
    made += 1;
    return client;
  };
  return { requests, getter, made: () => made };
}

const grpcError = (code: number) => Object.assign(new Error(`gRPC ${code}`), { code });

describe('CloudTasksQueue.setRateLimits', () => {
  it('passes limits within Cloud Tasks maximums through as they are', async () => {
    const updates: Array<{ queue: string; limits: Required<RateLimits> }> = [];
    await queueWith(updates).setRateLimits('probe-work', {
      maxDispatchesPerSecond: 0.5,
      maxConcurrentDispatches: 12,
    });
    expect(updates).toEqual([
      { queue: 'probe-work', limits: { maxDispatchesPerSecond: 0.5, maxConcurrentDispatches: 12 } },
    ]);
  });

  it('clamps to 500 dispatches per second and 5000 concurrent, and makes concurrency a whole number ≥ 1', async () => {
    const updates: Array<{ queue: string; limits: Required<RateLimits> }> = [];
    const queue = queueWith(updates);
    await queue.setRateLimits('probe-work', { maxDispatchesPerSecond: 10_000, maxConcurrentDispatches: 1e6 });
    await queue.setRateLimits('probe-work', { maxDispatchesPerSecond: 500, maxConcurrentDispatches: 2.7 });
    await queue.setRateLimits('probe-work', { maxDispatchesPerSecond: 1, maxConcurrentDispatches: 0.4 });
    expect(updates.map((u) => u.limits)).toEqual([
      {
        maxDispatchesPerSecond: MAX_DISPATCHES_PER_SECOND,
        maxConcurrentDispatches: MAX_CONCURRENT_DISPATCHES,
      },
      { maxDispatchesPerSecond: 500, maxConcurrentDispatches: 2 },
      { maxDispatchesPerSecond: 1, maxConcurrentDispatches: 1 },
    ]);
    expect([MAX_DISPATCHES_PER_SECOND, MAX_CONCURRENT_DISPATCHES]).toEqual([500, 5000]);
  });

  it.each([
    { maxDispatchesPerSecond: 0, maxConcurrentDispatches: 1 },
    { maxDispatchesPerSecond: 1, maxConcurrentDispatches: -3 },
    { maxDispatchesPerSecond: Number.NaN, maxConcurrentDispatches: 1 },
    { maxDispatchesPerSecond: 1, maxConcurrentDispatches: Number.POSITIVE_INFINITY },
  ])('refuses limits that are not positive finite numbers: %o', async (limits) => {
    const updates: Array<{ queue: string; limits: Required<RateLimits> }> = [];
    await expect(queueWith(updates).setRateLimits('probe-work', limits)).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    expect(updates).toEqual([]);
  });

  it('answers NotFoundError for a queue this deployment does not drain, without calling Cloud Tasks', async () => {
    const updates: Array<{ queue: string; limits: Required<RateLimits> }> = [];
    await expect(
      queueWith(updates).setRateLimits('probe-other', {
        maxDispatchesPerSecond: 1,
        maxConcurrentDispatches: 1,
      }),
    ).rejects.toBeInstanceOf(NotFoundError);
    expect(updates).toEqual([]);
  });
});

/** A queue whose enqueues are recorded, with each task's attempt length when given. */
function recording(attemptSeconds?: number) {
  const sent: TaskOptions[] = [];
  const queue = new CloudTasksQueue({
    region: 'us-central1',
    queues: ['executions-stepNormal'],
    taskQueue: async () => ({
      async enqueue(_data: unknown, opts?: TaskOptions) {
        sent.push(opts ?? {});
      },
    }),
    counts: async () => ({ depth: 0, inFlight: 0, oldestAgeMs: 0 }),
    updateRateLimits: async () => {},
    countDeadLetters: async () => 0,
    ...(attemptSeconds === undefined ? {} : { attemptSeconds: async () => attemptSeconds }),
  });
  return { queue, sent };
}

describe('CloudTasksQueue.enqueue: dispatch deadline (issue 8, item 2)', () => {
  it('defect: steps longer than 10 minutes ran twice (no deadline: Cloud Tasks redispatched at its default); each task now carries its attempt length', async () => {
    const { queue, sent } = recording(1800);
    await queue.enqueue('executions-stepNormal', {}, { id: 'long-step' });
    expect(sent[0]).toMatchObject({ id: cloudTaskName('long-step'), dispatchDeadlineSeconds: 1800 });
  });

  it('defect (issue 8, item 4): a task due past 30 days was refused by Cloud Tasks; it is scheduled at the horizon with its real time', async () => {
    const { queue, sent } = recording();
    const at = Date.now() + 90 * 24 * 3600_000;
    await queue.enqueue('executions-stepNormal', {}, { id: 'far', scheduleTime: at });
    const scheduled = (sent[0]?.scheduleTime as Date | undefined)?.getTime() ?? 0;
    expect(scheduled).toBeLessThanOrEqual(Date.now() + MAX_SCHEDULE_AHEAD_MS);
    expect(scheduled).toBeLessThan(at);
    expect(sent[0]?.headers).toMatchObject({ [NOT_BEFORE_HEADER]: String(at) });
    // Within the horizon, a task is scheduled at its time with no header.
    const near = Date.now() + 3600_000;
    await queue.enqueue('executions-stepNormal', {}, { id: 'near', scheduleTime: near });
    expect((sent[1]?.scheduleTime as Date | undefined)?.getTime()).toBe(near);
    expect(sent[1]?.headers?.[NOT_BEFORE_HEADER]).toBeUndefined();
  });

  it('keeps the deadline within what Cloud Tasks accepts, 15 s to 30 min, in whole seconds', () => {
    expect([1, 14.2, 60, 599.5, 1800, 4000].map(dispatchDeadlineSeconds)).toEqual([
      15, 15, 60, 600, 1800, 1800,
    ]);
  });

  it('the step queues declare an attempt length that holds the longest step a use case may declare', () => {
    const steps = Object.entries(executions.tasks).filter(([key]) => key.startsWith('step'));
    expect(steps.length).toBe(4);
    const longestStep = StepSchema.shape.timeoutSeconds.unwrap().maxValue ?? Number.POSITIVE_INFINITY;
    for (const [key, task] of steps) {
      const deadline = dispatchDeadlineSeconds(task.timeoutSeconds ?? 0);
      // A margin for reading the execution and committing the result around the agent's call.
      expect(deadline - longestStep, key).toBeGreaterThanOrEqual(60);
      expect(task.timeoutSeconds, key).toBeLessThanOrEqual(MAX_DISPATCH_DEADLINE_SECONDS);
    }
  });
});

describe('CloudTasksQueue.enqueue: task names (issue 8, item 6)', () => {
  it('defect: task names started with a time-ordered id; each name now starts with a hash of the id', async () => {
    const { queue, sent } = recording();
    // Ids as the engine makes them: a time-ordered execution id first, so consecutive ids share a long prefix.
    const ids = Array.from(
      { length: 50 },
      (_, i) => `01JZ8Q3K7M${String(i).padStart(4, '0')}ABCDEFGHJK-s1-a1`,
    );
    for (const id of ids)
      expect(await queue.enqueue('executions-stepNormal', {}, { id })).toEqual({ id, deduped: false });
    const names = sent.map((o) => o.id ?? '');
    expect(names.map(taskIdOfName)).toEqual(ids);
    // The first two characters alone already spread them: no run of names in id order.
    expect(new Set(names.map((n) => n.slice(0, 2))).size).toBeGreaterThan(30);
    expect([...names].sort()).not.toEqual(names);
    // The same id makes the same name, so Cloud Tasks still deduplicates it.
    await queue.enqueue('executions-stepNormal', {}, { id: ids[0] });
    expect(sent.at(-1)?.id).toBe(names[0]);
  });
});

describe('CloudTasksQueue.wake', () => {
  it('wakes nothing: Cloud Tasks cannot move a scheduled task', async () => {
    expect(await queueWith([]).wake('pool-a', 10)).toBe(0);
  });
});

describe('cloudTasksUpdateRateLimits', () => {
  it('sends updateQueue for the queue path with only the two rate limits in the update mask', async () => {
    const fake = fakeClient();
    const update = cloudTasksUpdateRateLimits({
      region: 'europe-west1',
      projectId: async () => 'demo-p',
      client: fake.getter,
    });
    await update('probe-work', { maxDispatchesPerSecond: 42.5, maxConcurrentDispatches: 7 });
    expect(fake.requests).toEqual([
      {
        queue: {
          name: 'projects/demo-p/locations/europe-west1/queues/probe-work',
          rateLimits: { maxDispatchesPerSecond: 42.5, maxConcurrentDispatches: 7 },
        },
        updateMask: {
          paths: ['rate_limits.max_dispatches_per_second', 'rate_limits.max_concurrent_dispatches'],
        },
      },
    ]);
  });

  it.each([
    [5, NotFoundError],
    [7, PermanentError],
    [16, PermanentError],
    [14, RetryableError],
    [4, RetryableError],
  ])('maps gRPC code %i to %o', async (code, expected) => {
    const update = cloudTasksUpdateRateLimits({
      region: 'us-central1',
      projectId: async () => 'demo-p',
      client: fakeClient(grpcError(code)).getter,
    });
    const failure = update('probe-work', { maxDispatchesPerSecond: 1, maxConcurrentDispatches: 1 });
    await expect(failure).rejects.toBeInstanceOf(expected);
    await expect(failure).rejects.toThrow(`rate limits of probe-work failed: gRPC ${code}`);
  });

  it('shares one client getter with the counts', async () => {
    const fake = fakeClient();
    const common = { region: 'us-central1', projectId: async () => 'demo-p', client: fake.getter };
    const counts = cloudTasksCounts({ ...common, now: () => 0 });
    const update = cloudTasksUpdateRateLimits(common);
    expect(await counts('probe-work')).toEqual({ depth: 3, inFlight: 1, oldestAgeMs: 0 });
    await update('probe-work', { maxDispatchesPerSecond: 1, maxConcurrentDispatches: 1 });
    expect(fake.made()).toBe(2);
    expect(fake.requests).toHaveLength(2);
  });
});

describe('lazyCloudTasksClient', () => {
  it('makes the client once, on the first call, and hands the same one out after', async () => {
    let made = 0;
    const client = lazyCloudTasksClient(async () => {
      made += 1;
      return fakeClient().getter();
    });
    expect(made).toBe(0);
    const [first, second] = await Promise.all([client(), client()]);
    expect(second).toBe(first);
    expect(await client()).toBe(first);
    expect(made).toBe(1);
  });

  it('tries again after a failed creation', async () => {
    let made = 0;
    const client = lazyCloudTasksClient(async () => {
      made += 1;
      if (made === 1) throw new Error('cannot load @google-cloud/tasks');
      return fakeClient().getter();
    });
    await expect(client()).rejects.toThrow('cannot load');
    const made2 = await client();
    expect(await client()).toBe(made2);
    expect(made).toBe(2);
  });
});

describe('emulatorUpdateRateLimits', () => {
  it('logs the decision and does not fail, as the emulator has no updateQueue', async () => {
    const sink = new MemorySink();
    const update = emulatorUpdateRateLimits({ logger: createLogger({ sink }) });
    await expect(
      update('probe-work', { maxDispatchesPerSecond: 3, maxConcurrentDispatches: 2 }),
    ).resolves.toBeUndefined();
    expect(sink.entries).toMatchObject([
      { severity: 'INFO', queue: 'probe-work', maxDispatchesPerSecond: 3, maxConcurrentDispatches: 2 },
    ]);
  });
});

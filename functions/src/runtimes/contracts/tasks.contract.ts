/**
 * The tasks port's contract: what a task handler and an enqueuer can rely on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RateLimits, RetryPolicy } from '../../platform/delivery.js';
import { PayloadTooLargeError, PermanentError, RetryAfterError } from '../../platform/errors.js';
import type { TaskInfo, TaskQueue } from '../../platform/ports.js';

export interface QueueUnderTest {
  /** Lower camel case task key; the queue's full name is returned by `harness.queueName(key)`. */
  key: string;
  retry?: RetryPolicy;
  rateLimits?: RateLimits;
  handler(payload: unknown, task: TaskInfo): Promise<void>;
}

export interface TaskQueueHarness {
  tasks: TaskQueue;
  queueName(key: string): string;
  /** Waits until nothing is ready or running. */
  settle(): Promise<void>;
  deadLetters(key: string): Promise<Array<{ id: string; attempts: number; lastError: string | null }>>;
  now(): number;
  teardown(): Promise<void>;
}

const quick: RetryPolicy = { minBackoffSeconds: 0.01, maxBackoffSeconds: 0.05 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function describeTaskQueueContract(
  name: string,
  setup: (queues: QueueUnderTest[]) => Promise<TaskQueueHarness>,
): void {
  describe(`tasks port contract: ${name}`, () => {
    let h: TaskQueueHarness | undefined;
    afterEach(async () => {
      await h?.teardown();
      h = undefined;
    });

    it('runs an enqueued task with its payload', async () => {
      const got: unknown[] = [];
      h = await setup([
        { key: 'echo', handler: async (p, info) => void got.push({ p, attempt: info.attempt }) },
      ]);
      const { deduped } = await h.tasks.enqueue(h.queueName('echo'), { hello: 1 });
      expect(deduped).toBe(false);
      await h.settle();
      expect(got).toEqual([{ p: { hello: 1 }, attempt: 1 }]);
    });

    it('dedupes on the task id', async () => {
      let runs = 0;
      h = await setup([{ key: 'dedupe', handler: async () => void runs++ }]);
      const q = h.queueName('dedupe');
      expect((await h.tasks.enqueue(q, { n: 1 }, { id: 'same-id' })).deduped).toBe(false);
      expect((await h.tasks.enqueue(q, { n: 2 }, { id: 'same-id' })).deduped).toBe(true);
      await h.settle();
      expect((await h.tasks.enqueue(q, { n: 3 }, { id: 'same-id' })).deduped).toBe(true); // also after it ran
      await h.settle();
      expect(runs).toBe(1);
    });

    it('does not dispatch before the schedule time', async () => {
      const ranAt: number[] = [];
      h = await setup([{ key: 'later', handler: async () => void ranAt.push(Date.now()) }]);
      const at = Date.now() + 300;
      await h.tasks.enqueue(h.queueName('later'), {}, { scheduleTime: at });
      await sleep(100);
      expect(ranAt).toHaveLength(0);
      const stats = await h.tasks.stats(h.queueName('later'));
      expect(stats.depth).toBe(1);
      await sleep(400);
      await h.settle();
      expect(ranAt).toHaveLength(1);
      expect(ranAt[0]).toBeGreaterThanOrEqual(at - 5);
    });

    it('dead-letters a task that always fails after exactly its maxAttempts', async () => {
      let calls = 0;
      h = await setup([
        {
          key: 'poison',
          retry: { ...quick, maxAttempts: 3 },
          handler: async () => {
            calls++;
            throw new Error(`upstream down (${calls})`);
          },
        },
      ]);
      await h.tasks.enqueue(h.queueName('poison'), { x: 1 }, { id: 'p1' });
      await h.settle();
      expect(calls).toBe(3);
      const dead = await h.deadLetters('poison');
      expect(dead).toEqual([
        expect.objectContaining({
          id: 'p1',
          attempts: 3,
          lastError: expect.stringContaining('upstream down (3)'),
        }),
      ]);
      expect((await h.tasks.stats(h.queueName('poison'))).deadLettered).toBe(1);
    });

    it('dead-letters a permanent error at once', async () => {
      let calls = 0;
      h = await setup([
        {
          key: 'permanent',
          retry: { ...quick, maxAttempts: 5 },
          handler: async () => {
            calls++;
            throw new PermanentError('bad request, retrying cannot help');
          },
        },
      ]);
      await h.tasks.enqueue(h.queueName('permanent'), {});
      await h.settle();
      expect(calls).toBe(1);
      expect(await h.deadLetters('permanent')).toHaveLength(1);
    });

    it('honours RetryAfterError before the next attempt', async () => {
      const times: number[] = [];
      h = await setup([
        {
          key: 'later429',
          retry: { ...quick, maxAttempts: 3 },
          handler: async () => {
            times.push(Date.now());
            if (times.length === 1) throw new RetryAfterError('429 from upstream', 250);
          },
        },
      ]);
      await h.tasks.enqueue(h.queueName('later429'), {});
      await sleep(50);
      await h.settle();
      await sleep(300);
      await h.settle();
      expect(times).toHaveLength(2);
      expect((times[1] as number) - (times[0] as number)).toBeGreaterThanOrEqual(240);
    });

    it('never exceeds maxConcurrentDispatches', async () => {
      let running = 0;
      let peak = 0;
      h = await setup([
        {
          key: 'limited',
          rateLimits: { maxConcurrentDispatches: 3, maxDispatchesPerSecond: 1000 },
          handler: async () => {
            running++;
            peak = Math.max(peak, running);
            await sleep(5);
            running--;
          },
        },
      ]);
      await Promise.all(
        Array.from({ length: 30 }, (_, i) => h?.tasks.enqueue(h.queueName('limited'), { i })),
      );
      await h.settle();
      expect(peak).toBe(3);
    });

    it('keeps to maxDispatchesPerSecond', async () => {
      const times: number[] = [];
      h = await setup([
        {
          key: 'paced',
          rateLimits: { maxConcurrentDispatches: 50, maxDispatchesPerSecond: 20 },
          handler: async () => void times.push(Date.now()),
        },
      ]);
      const start = Date.now();
      for (let i = 0; i < 30; i++) await h.tasks.enqueue(h.queueName('paced'), { i });
      await sleep(50);
      await h.settle();
      // 20 in the first burst, then 20/s: the last of 30 cannot start before ~0.5 s.
      expect(times).toHaveLength(30);
      expect(Math.max(...times) - start).toBeGreaterThanOrEqual(400);
    });

    it('reports depth and in-flight', async () => {
      let release: () => void = () => {};
      const gate = new Promise<void>((r) => {
        release = r;
      });
      h = await setup([
        { key: 'gated', rateLimits: { maxConcurrentDispatches: 2 }, handler: async () => gate },
      ]);
      const q = h.queueName('gated');
      for (let i = 0; i < 5; i++) await h.tasks.enqueue(q, { i });
      await sleep(100);
      const stats = await h.tasks.stats(q);
      expect(stats).toMatchObject({ queue: q, depth: 3, inFlight: 2, deadLettered: 0 });
      expect(stats.oldestAgeMs).toBeGreaterThanOrEqual(0);
      release();
      await h.settle();
      expect(await h.tasks.stats(q)).toMatchObject({ depth: 0, inFlight: 0 });
    });

    it('refuses a payload over 100 KB (pass a reference instead)', async () => {
      h = await setup([{ key: 'big', handler: async () => {} }]);
      await expect(
        h.tasks.enqueue(h.queueName('big'), { blob: 'x'.repeat(101 * 1024) }),
      ).rejects.toBeInstanceOf(PayloadTooLargeError);
    });
  });
}

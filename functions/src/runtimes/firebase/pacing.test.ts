/**
 * Fair queuing on Cloud Tasks: tasks with a fairness key are paced through
 * their schedule time, so one workspace's backlog waits in the future and
 * another's next task is due now. Real kv (the memory store), a fake
 * firebase-admin task queue that records what it is asked to enqueue.
 */

import type { TaskOptions } from 'firebase-admin/functions';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../platform/clock.js';
import { createLogger, MemorySink } from '../../platform/logger.js';
import type { KeyValueStore } from '../../platform/ports.js';
import { taskIdOfName } from '../../platform/task-rules.js';
import { MemoryKv } from '../embedded/kv.js';
import { CloudTasksQueue } from './cloud-tasks.js';
import { kvPacer } from './pacing.js';

const QUEUE = 'executions-stepNormal';
const RATE = 200; // per second: one task every 5 ms at a full share

/** A clock that moves only when told: the schedule times are exact however loaded the machine is. */
const clock = new ManualClock(Date.UTC(2026, 11, 4));

function setup(kv: KeyValueStore = new MemoryKv({ clock })) {
  const sent: Array<{ id: string | undefined; at: number | undefined }> = [];
  const sink = new MemorySink();
  const queue = new CloudTasksQueue({
    region: 'us-central1',
    queues: [QUEUE],
    taskQueue: async () => ({
      async enqueue(_data: unknown, opts?: TaskOptions) {
        // Cloud Tasks refuses a name it has seen, as firebase-admin reports it.
        const id = opts?.id === undefined ? undefined : taskIdOfName(opts.id);
        if (sent.some((s) => s.id === id)) {
          throw Object.assign(new Error('task already exists'), { code: 'functions/task-already-exists' });
        }
        const at = opts && 'scheduleTime' in opts ? opts.scheduleTime?.getTime() : undefined;
        sent.push({ id, at });
      },
    }),
    counts: async () => ({ depth: 0, inFlight: 0, oldestAgeMs: 0 }),
    updateRateLimits: async () => {},
    countDeadLetters: async () => 0,
    pace: kvPacer({ kv, rate: async () => RATE }),
    logger: createLogger({ sink }),
    clock,
  });
  return { queue, sent, sink };
}

describe('paced enqueues on Cloud Tasks', () => {
  it('spreads a flood over the future at its share of the rate, and a quiet key is due at once', async () => {
    const { queue, sent } = setup();
    const t0 = clock.now();
    for (let i = 0; i < 20; i++)
      await queue.enqueue(QUEUE, { i }, { id: `flood-${i}`, fairness: { key: 'flood', share: 0.5 } });
    await queue.enqueue(QUEUE, {}, { id: 'quiet-0', fairness: { key: 'quiet', share: 0.5 } });
    const flood = sent.filter((s) => s.id?.startsWith('flood'));
    // The first flood task goes now; each next one 10 ms (1 / (200/s × 0.5)) after the one before.
    expect(flood[0]?.at).toBeUndefined();
    const times = flood.slice(1).map((s) => s.at ?? 0);
    for (let i = 1; i < times.length; i++) expect((times[i] ?? 0) - (times[i - 1] ?? 0)).toBe(10);
    expect((times.at(-1) ?? 0) - t0).toBeGreaterThanOrEqual(180);
    // The quiet workspace's task is not behind the flood: no schedule time, due now.
    expect(sent.find((s) => s.id === 'quiet-0')?.at).toBeUndefined();
  });

  it('restarts an idle key from now: it saves up no turns, and a task never goes earlier than asked', async () => {
    const kv = new MemoryKv({ clock });
    const { queue, sent } = setup(kv);
    await kv.set(`pace:${QUEUE}:a`, String(clock.now() - 60_000)); // last used a minute ago
    const t0 = clock.now();
    await queue.enqueue(QUEUE, {}, { id: 'a-0', fairness: { key: 'a' } });
    await queue.enqueue(QUEUE, {}, { id: 'a-1', fairness: { key: 'a' } });
    const later = clock.now() + 30_000;
    await queue.enqueue(QUEUE, {}, { id: 'a-2', scheduleTime: later, fairness: { key: 'a' } });
    expect(sent[0]?.at).toBeUndefined();
    // The next one a full-share interval (5 ms) after the restart, not a minute's worth of turns early.
    expect(sent[1]?.at).toBe(t0 + 5);
    expect(sent[2]?.at).toBe(later);
  });

  it('defect (issue 8, item 5): re-sent duplicates were charged a turn each and pushed the next real task out; only what is enqueued is charged', async () => {
    const { queue, sent } = setup();
    const t0 = clock.now();
    await queue.enqueue(QUEUE, {}, { id: 'real-0', fairness: { key: 'k' } });
    for (let i = 0; i < 1000; i++) {
      expect(await queue.enqueue(QUEUE, {}, { id: 'real-0', fairness: { key: 'k' } })).toEqual({
        id: 'real-0',
        deduped: true,
      });
    }
    await queue.enqueue(QUEUE, {}, { id: 'real-1', fairness: { key: 'k' } });
    // One interval (5 ms at the full share) after the first, as if the duplicates had never been sent.
    expect(sent.map((s) => [s.id, s.at])).toEqual([
      ['real-0', undefined],
      ['real-1', t0 + 5],
    ]);
  });

  it('leaves tasks without a fairness key alone', async () => {
    const kv = new MemoryKv();
    const { queue, sent } = setup(kv);
    for (let i = 0; i < 5; i++) await queue.enqueue(QUEUE, {}, { id: `plain-${i}` });
    expect(sent.map((s) => s.at)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(await kv.get(`pace:${QUEUE}:plain`)).toBeNull();
  });

  it('enqueues unpaced, and says so, when kv fails: pacing never costs a task', async () => {
    const broken = new MemoryKv();
    broken.run = async () => {
      throw new Error('Upstash is unreachable');
    };
    const { queue, sent, sink } = setup(broken);
    await expect(queue.enqueue(QUEUE, {}, { id: 'x', fairness: { key: 'a' } })).resolves.toEqual({
      id: 'x',
      deduped: false,
    });
    expect(sent).toEqual([{ id: 'x', at: undefined }]);
    expect(sink.entries.map((e) => e.message)).toContain('Pacing failed; the task is enqueued unpaced');
  });
});

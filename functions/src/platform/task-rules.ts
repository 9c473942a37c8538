/** The rules every task queue adapter applies before it accepts a task, so both runtimes refuse the same tasks. */
import { createHash } from 'node:crypto';
import { InvalidInputError, PayloadTooLargeError } from './errors.js';
import { MAX_TASK_PAYLOAD_BYTES } from './ports.js';

/** Cloud Tasks' task-name alphabet; the embedded queue keeps to it so ids move between runtimes. */
/** 491, not 500: the hash prefix of its Cloud Tasks name takes 9 (cloudTaskName). */
const TASK_ID = /^[A-Za-z0-9_-]{1,491}$/;

/**
 * The Cloud Tasks task name for a task id: the id behind 8 hex digits of its
 * SHA-256. Google documents that sequential names (ours start with a
 * time-ordered execution id) concentrate load and raise latency and error
 * rates; a hash prefix spreads them, and the same id still makes the same
 * name, so deduplication is unchanged.
 * @example cloudTaskName('01J…-s1-a1') // '3f9c02ab-01J…-s1-a1'
 */
export function cloudTaskName(id: string): string {
  return `${namePrefix(id)}-${id}`;
}

/** The task id a Cloud Tasks task name carries: the name without its hash prefix (a name without one is the id). */
export function taskIdOfName(name: string): string {
  const dash = name.indexOf('-');
  const id = name.slice(dash + 1);
  return dash === 8 && name.slice(0, 8) === namePrefix(id) ? id : name;
}

function namePrefix(id: string): string {
  return createHash('sha256').update(id).digest('hex').slice(0, 8);
}

/** Checks a task's id and payload; returns the payload as the JSON that will be stored or sent. */
export function encodeTask(id: string, payload: unknown): string {
  if (!TASK_ID.test(id)) {
    throw new InvalidInputError(`Task id "${id}" must be 1-491 letters, digits, '-' or '_'`, [
      { path: 'id', message: 'invalid task id' },
    ]);
  }
  const json = JSON.stringify(payload ?? null);
  const bytes = Buffer.byteLength(json);
  if (bytes > MAX_TASK_PAYLOAD_BYTES) {
    throw new PayloadTooLargeError(
      `Task payload is ${bytes} bytes; the limit is ${MAX_TASK_PAYLOAD_BYTES}. Pass a reference.`,
    );
  }
  return json;
}

/** A deferred copy's id ends in `-d<n>`: its n-th deferral; its woken copy's in `-d<n>w`. */
const DEFER_SUFFIX = /-d(\d{1,6})(w?)$/;

/**
 * How long a deferred task waits before it asks again, after `times` earlier
 * deferrals: 25 ms doubling to a 2 s cap, jittered ±50% so deferred tasks
 * spread out. Short at first, because a pool slot is usually freed by the
 * next task to finish; growing, so that work far over its share does not
 * spin. A runtime that can wake deferred tasks treats this as the longest
 * wait, not the usual one.
 */
export function deferDelayMs(times: number, random: () => number = Math.random): number {
  const base = Math.min(25 * 2 ** Math.max(0, times), 2000);
  return Math.round(base * (0.5 + random()));
}

/**
 * Where a queue that cannot defer a task in place (Cloud Tasks) puts it: a new
 * task whose id counts the deferrals, `<id>-d<n>`, so each deferral is
 * deduplicated on its own and the delay keeps growing.
 */
export function deferredTaskId(id: string): { id: string; deferrals: number } {
  // A woken copy counts as its deferral: deferred again, it becomes the next one.
  const match = DEFER_SUFFIX.exec(id);
  const before = match ? Number(match[1]) : 0;
  const base = match ? id.slice(0, match.index) : id;
  return { id: `${base}-d${before + 1}`, deferrals: before };
}

/** The task a deferred or woken copy stands for: its id without the `-d<n>` / `-d<n>w` suffix. */
export function baseTaskId(id: string): string {
  const match = DEFER_SUFFIX.exec(id);
  return match ? id.slice(0, match.index) : id;
}

/** Whether the id is a deferred copy's own (`-d<n>`), not the original's or a woken copy's. */
export function isDeferredCopy(id: string): boolean {
  return DEFER_SUFFIX.exec(id)?.[2] === '';
}

/** The copy a release enqueues to run a waiting deferred copy (`<id>-d<n>`) now: `<id>-d<n>w`. */
export function wokenTaskId(deferredId: string): string {
  return `${deferredId}w`;
}

/**
 * How long a deferred copy that waits in a kv waiting list is scheduled out:
 * only the fallback, should its wake-up be lost (a releaser that died, a lease
 * that expired instead of being released). 10 s doubling to 5 min, jittered
 * ±20%: under Cloud Tasks' hour of name deduplication, so a woken copy is
 * never run twice.
 */
export function waitFallbackMs(times: number, random: () => number = Math.random): number {
  const base = Math.min(10_000 * 2 ** Math.max(0, times), 300_000);
  return Math.round(base * (0.8 + 0.4 * random()));
}

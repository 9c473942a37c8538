/**
 * The tasks port on Cloud Tasks. Each task queue is an `onTaskDispatched`
 * function named `<orchestrator>-<task>`, and Firebase names its queue after
 * the function, so enqueueing goes through firebase-admin's function task
 * queues, and queue stats come from the Cloud Tasks API itself.
 *
 * Both client libraries are loaded on first use only. Under the Firebase
 * emulator suite, stats come from the Cloud Tasks emulator's `/queueStats`,
 * because the Cloud Tasks API client cannot talk to the emulator, and rate
 * limit changes are only logged, as the emulator has no `updateQueue`.
 */
import { randomUUID } from 'node:crypto';
import type { v2beta3 } from '@google-cloud/tasks';
import type { TaskOptions } from 'firebase-admin/functions';
import { type Clock, systemClock } from '../../platform/clock.js';
import type { RateLimits } from '../../platform/delivery.js';
import {
  errorMessage,
  InvalidInputError,
  NotFoundError,
  PermanentError,
  RetryableError,
} from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { EnqueueOptions, EnqueueResult, QueueStats, TaskQueue } from '../../platform/ports.js';
import { cloudTaskName, encodeTask } from '../../platform/task-rules.js';
import { currentTraceparent, TRACEPARENT_ATTRIBUTE } from '../../platform/tracing.js';
import type { Pacer } from './pacing.js';

/** The part of firebase-admin's TaskQueue this adapter uses. */
export interface FunctionTaskQueue {
  enqueue(data: unknown, opts?: TaskOptions): Promise<void>;
}

/** What the queue itself reports; dead letters are counted separately, from the dead-letter documents. */
export type QueueCounts = Omit<QueueStats, 'queue' | 'deadLettered'>;

export interface CloudTasksQueueOptions {
  /** Region of the task functions, e.g. `us-central1`. */
  region: string;
  /**
   * Every queue this deployment drains, `<orchestrator>-<task>`: the answer to
   * `list()`. A function may be given it lazily, as knowing every queue means
   * loading every orchestrator, which an instance serving one should not pay
   * for until it is asked for stats.
   */
  queues: readonly string[] | (() => Promise<readonly string[]>);
  /** firebase-admin's task queue for `locations/<region>/functions/<queue>`; lazy, as it loads firebase-admin. */
  taskQueue(resource: string): Promise<FunctionTaskQueue>;
  /** Reads depth, in-flight and age of one queue. @default {@link cloudTasksCounts} */
  counts(queue: string): Promise<QueueCounts>;
  /**
   * Sets a queue's dispatch limits, already checked and clamped to Cloud Tasks' maximums.
   * @default {@link cloudTasksUpdateRateLimits}; {@link emulatorUpdateRateLimits} under the emulator suite
   */
  updateRateLimits(queue: string, limits: Required<RateLimits>): Promise<void>;
  /** Dead letters recorded for a queue (the `deadLetters` documents). */
  countDeadLetters(queue: string): Promise<number>;
  /** Paces tasks that carry a fairness key (pacing.ts). @default none: fairness keys are ignored */
  pace?: Pacer;
  /** Where a pacing failure is reported (the task is then enqueued unpaced). */
  logger?: Logger;
  /** The time pacing compares schedule times with. @default systemClock */
  clock?: Clock;
  /**
   * How long an attempt of a queue's task may run (its definition's
   * `timeoutSeconds`): each task's dispatch deadline, so Cloud Tasks does not
   * give up on it at its 10-minute default and dispatch it again while it runs.
   * @default none: Cloud Tasks' 10 minutes
   */
  attemptSeconds?: (queue: string) => Promise<number>;
}

const QUEUE = /^[a-z][a-zA-Z0-9]{0,40}-[a-z][a-zA-Z0-9]{0,40}$/;

/** Cloud Tasks' ceiling on a queue's `maxDispatchesPerSecond`; a higher request is clamped to it. */
export const MAX_DISPATCHES_PER_SECOND = 500;
/** Cloud Tasks' ceiling on a queue's `maxConcurrentDispatches`; a higher request is clamped to it. */
export const MAX_CONCURRENT_DISPATCHES = 5000;

/**
 * How far ahead a task may be scheduled. Cloud Tasks refuses more than 30 days
 * (less a margin for clock skew here); a task due later is scheduled at this
 * horizon with its real time in NOT_BEFORE_HEADER, and its handler puts it
 * back until then (functions.ts): long waits are chained, not refused.
 */
export const MAX_SCHEDULE_AHEAD_MS = 30 * 24 * 3600_000 - 3600_000;
/** The header that carries a chained task's real dispatch time (ms since the epoch). */
export const NOT_BEFORE_HEADER = 'x-seraphim-not-before';

/** Cloud Tasks' bounds on a task's dispatch deadline (firebase-admin TaskOptions.dispatchDeadlineSeconds). */
export const MIN_DISPATCH_DEADLINE_SECONDS = 15;
export const MAX_DISPATCH_DEADLINE_SECONDS = 1800;

/** An attempt's length as a dispatch deadline: whole seconds, within what Cloud Tasks accepts. */
export function dispatchDeadlineSeconds(attemptSeconds: number): number {
  return Math.min(
    MAX_DISPATCH_DEADLINE_SECONDS,
    Math.max(MIN_DISPATCH_DEADLINE_SECONDS, Math.ceil(attemptSeconds)),
  );
}

export class CloudTasksQueue implements TaskQueue {
  /** Cloud Tasks cannot hold a task back in place: a deferred one goes back as a new task. */
  readonly deferral = 'requeue';
  readonly #opts: CloudTasksQueueOptions;
  #queues: Promise<ReadonlySet<string>> | undefined;

  constructor(opts: CloudTasksQueueOptions) {
    this.#opts = opts;
  }

  async #names(): Promise<ReadonlySet<string>> {
    const { queues } = this.#opts;
    this.#queues ??= Promise.resolve(typeof queues === 'function' ? queues() : queues).then(
      (names) => new Set(names),
    );
    return this.#queues;
  }

  async #known(queue: string): Promise<void> {
    if (!(await this.#names()).has(queue)) throw new NotFoundError(`No task queue "${queue}"`);
  }

  /** Checks the queue name's shape only: whether the queue exists is Cloud Tasks' to say, without loading every orchestrator here. */
  async enqueue(queue: string, payload: unknown, opts: EnqueueOptions = {}): Promise<EnqueueResult> {
    if (!QUEUE.test(queue)) throw new NotFoundError(`No task queue "${queue}"`);
    // Cloud Tasks spreads load by task name; time-ordered ids (ULIDs) would make one hot range, so our own are random.
    const id = opts.id ?? randomUUID();
    encodeTask(id, payload);
    // The name Cloud Tasks sees is hash-prefixed; handlers get the id back (taskIdOfName, functions.ts).
    const options: TaskOptions = { id: cloudTaskName(id) };
    if (this.#opts.attemptSeconds)
      options.dispatchDeadlineSeconds = dispatchDeadlineSeconds(await this.#opts.attemptSeconds(queue));
    // A header, not a payload field: the payload schema stays the handler's, and its 100 KB are left alone.
    const traceparent = currentTraceparent();
    if (traceparent) options.headers = { [TRACEPARENT_ATTRIBUTE]: traceparent };
    const now = (this.#opts.clock ?? systemClock).now();
    const turn = await this.#paced(queue, opts.fairness, now);
    const at = Math.max(opts.scheduleTime ?? 0, turn?.at ?? 0);
    if (at > now + MAX_SCHEDULE_AHEAD_MS) {
      options.scheduleTime = new Date(now + MAX_SCHEDULE_AHEAD_MS);
      options.headers = { ...options.headers, [NOT_BEFORE_HEADER]: String(at) };
    } else if (at > now) options.scheduleTime = new Date(at);
    const target = await this.#opts.taskQueue(`locations/${this.#opts.region}/functions/${queue}`);
    try {
      await target.enqueue(payload ?? null, options);
      return { id, deduped: false };
    } catch (error) {
      // Not enqueued after all: its turn goes back, so re-sent duplicates do not push the key's next task out.
      if (turn) await this.#giveBack(queue, turn);
      if (firebaseCode(error) === 'task-already-exists') return { id, deduped: true };
      throw toPlatformError(error, `enqueue on ${queue}`);
    }
  }

  async #giveBack(queue: string, turn: { giveBack(): Promise<void> }): Promise<void> {
    try {
      await turn.giveBack();
    } catch (error) {
      this.#opts.logger?.warn('Giving a pacing turn back failed; the key runs one turn late', {
        queue,
        error: errorMessage(error),
      });
    }
  }

  /** The key's turn: the earliest time fairness allows for its next task; undefined when unpaced. */
  async #paced(
    queue: string,
    fairness: EnqueueOptions['fairness'],
    now: number,
  ): Promise<{ at: number; giveBack(): Promise<void> } | undefined> {
    if (!fairness || !this.#opts.pace) return undefined;
    try {
      return await this.#opts.pace({ queue, key: fairness.key, share: fairness.share ?? 1, now });
    } catch (error) {
      this.#opts.logger?.warn('Pacing failed; the task is enqueued unpaced', {
        queue,
        error: errorMessage(error),
      });
      return undefined;
    }
  }

  async stats(queue: string): Promise<QueueStats> {
    await this.#known(queue);
    const [counts, deadLettered] = await Promise.all([
      this.#opts.counts(queue),
      this.#opts.countDeadLetters(queue),
    ]);
    return { queue, ...counts, deadLettered };
  }

  async list(): Promise<QueueStats[]> {
    return Promise.all([...(await this.#names())].map((queue) => this.stats(queue)));
  }

  /**
   * Limits above Cloud Tasks' maximums ({@link MAX_DISPATCHES_PER_SECOND},
   * {@link MAX_CONCURRENT_DISPATCHES}) are clamped to them rather than
   * refused, as the pool's auto-scaling may grow past what the API accepts;
   * concurrency is a whole number, rounded down but at least 1.
   */
  async setRateLimits(queue: string, limits: Required<RateLimits>): Promise<void> {
    await this.#known(queue);
    await this.#opts.updateRateLimits(queue, cloudTasksRateLimits(limits));
  }

  /** Cloud Tasks cannot move a scheduled task earlier, so none wakes: deferred tasks wait out their delay. */
  async wake(_gate: string, _count: number): Promise<number> {
    return 0;
  }
}

/** Checks limits (positive, finite) and clamps them to what Cloud Tasks accepts. */
export function cloudTasksRateLimits(limits: Required<RateLimits>): Required<RateLimits> {
  const { maxDispatchesPerSecond, maxConcurrentDispatches } = limits;
  const fields = [
    ['maxDispatchesPerSecond', maxDispatchesPerSecond],
    ['maxConcurrentDispatches', maxConcurrentDispatches],
  ] as const;
  const bad = fields.filter(([, value]) => !(Number.isFinite(value) && value > 0));
  if (bad.length > 0) {
    throw new InvalidInputError(
      `Rate limits must be positive finite numbers: ${bad.map(([name, value]) => `${name} is ${value}`).join(', ')}`,
      bad.map(([name]) => ({ path: name, message: 'must be a positive finite number' })),
    );
  }
  return {
    maxDispatchesPerSecond: Math.min(maxDispatchesPerSecond, MAX_DISPATCHES_PER_SECOND),
    maxConcurrentDispatches: Math.min(
      Math.max(1, Math.floor(maxConcurrentDispatches)),
      MAX_CONCURRENT_DISPATCHES,
    ),
  };
}

// ---------------------------------------------------------------- the Cloud Tasks API

/** The part of the Cloud Tasks API client this adapter uses. */
export type CloudTasksApi = Pick<v2beta3.CloudTasksClient, 'queuePath' | 'getQueue' | 'updateQueue'>;

/** A v2beta3 client, the only version that returns queue stats; loads the library. */
async function createCloudTasksClient(): Promise<CloudTasksApi> {
  const tasks = await import('@google-cloud/tasks');
  return new tasks.v2beta3.CloudTasksClient();
}

/**
 * The Cloud Tasks API client, made on the first call and then shared by
 * everything given this getter; a failed creation is tried again on the next call.
 */
export function lazyCloudTasksClient(
  create: () => Promise<CloudTasksApi> = createCloudTasksClient,
): () => Promise<CloudTasksApi> {
  let client: Promise<CloudTasksApi> | undefined;
  return () => {
    client ??= create().catch((error: unknown) => {
      client = undefined;
      throw error;
    });
    return client;
  };
}

// ---------------------------------------------------------------- queue counts

/** Counts from the Cloud Tasks API, which returns queue stats only when the read mask asks for them. */
export function cloudTasksCounts(opts: {
  region: string;
  projectId: () => Promise<string>;
  now: Clock['now'];
  /** Shared with {@link cloudTasksUpdateRateLimits}: see {@link lazyCloudTasksClient}. */
  client: () => Promise<CloudTasksApi>;
}): (queue: string) => Promise<QueueCounts> {
  return async (queue) => {
    try {
      const tasks = await opts.client();
      const name = tasks.queuePath(await opts.projectId(), opts.region, queue);
      const [found] = await tasks.getQueue({ name, readMask: { paths: ['name', 'stats'] } });
      const stats = found.stats ?? {};
      const oldest = stats.oldestEstimatedArrivalTime;
      const oldestMs = oldest
        ? Number(oldest.seconds ?? 0) * 1000 + Math.floor((oldest.nanos ?? 0) / 1e6)
        : undefined;
      return {
        // Everything in the queue, as the API counts it: scheduled tasks and those being dispatched included.
        depth: Number(stats.tasksCount ?? 0),
        inFlight: Number(stats.concurrentDispatchesCount ?? 0),
        oldestAgeMs: oldestMs === undefined ? 0 : Math.max(0, opts.now() - oldestMs),
      };
    } catch (error) {
      throw toPlatformError(error, `stats of ${queue}`);
    }
  };
}

/**
 * Sets a queue's rate limits through the Cloud Tasks API, touching nothing
 * else of the queue (the update mask). Firebase sets the declared limits
 * again on the next deploy.
 */
export function cloudTasksUpdateRateLimits(opts: {
  region: string;
  projectId: () => Promise<string>;
  /** Shared with {@link cloudTasksCounts}: see {@link lazyCloudTasksClient}. */
  client: () => Promise<CloudTasksApi>;
}): (queue: string, limits: Required<RateLimits>) => Promise<void> {
  return async (queue, limits) => {
    try {
      const tasks = await opts.client();
      await tasks.updateQueue({
        queue: {
          name: tasks.queuePath(await opts.projectId(), opts.region, queue),
          rateLimits: {
            maxDispatchesPerSecond: limits.maxDispatchesPerSecond,
            maxConcurrentDispatches: limits.maxConcurrentDispatches,
          },
        },
        updateMask: {
          paths: ['rate_limits.max_dispatches_per_second', 'rate_limits.max_concurrent_dispatches'],
        },
      });
    } catch (error) {
      throw toPlatformError(error, `rate limits of ${queue}`);
    }
  };
}

/**
 * Under the emulator suite: the Cloud Tasks emulator has no `updateQueue`
 * and dispatches at its own pace, so the decision is logged, not applied.
 */
export function emulatorUpdateRateLimits(opts: {
  logger: Logger;
}): (queue: string, limits: Required<RateLimits>) => Promise<void> {
  return async (queue, limits) => {
    opts.logger.info('rate limits not applied: the Cloud Tasks emulator cannot change a queue', {
      queue,
      ...limits,
    });
  };
}

/**
 * Counts from the Cloud Tasks emulator (`GET /queueStats`), keyed
 * `queue:<project>-<region>-<queue>`. It does not track task ages, so
 * `oldestAgeMs` is 0 there.
 */
export function emulatorCounts(opts: {
  host: string;
  region: string;
  projectId: () => Promise<string>;
}): (queue: string) => Promise<QueueCounts> {
  return async (queue) => {
    const key = `queue:${await opts.projectId()}-${opts.region}-${queue}`;
    let body: unknown;
    try {
      const response = await fetch(`http://${opts.host}/queueStats`, { signal: AbortSignal.timeout(5_000) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      body = await response.json();
    } catch (error) {
      throw new RetryableError(`Cloud Tasks emulator at ${opts.host} did not answer: ${errorMessage(error)}`);
    }
    const stats = (body as Record<string, { numberOfTasks?: unknown; runningTasks?: unknown } | undefined>)[
      key
    ];
    // A queue the emulator has not created yet has had no task: an empty queue, not an error.
    return {
      depth: Number(stats?.numberOfTasks ?? 0),
      inFlight: Number(stats?.runningTasks ?? 0),
      oldestAgeMs: 0,
    };
  };
}

// ---------------------------------------------------------------- errors

/** firebase-admin's code without its `functions/` prefix, e.g. `task-already-exists`. */
function firebaseCode(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
  return typeof code === 'string' ? code.replace(/^functions\//, '') : undefined;
}

function toPlatformError(error: unknown, what: string): Error {
  const message = `${what} failed: ${errorMessage(error)}`;
  const code = firebaseCode(error);
  if (code === 'invalid-argument') return new InvalidInputError(message);
  if (code === 'not-found')
    return new PermanentError(`${message} (is the task function deployed?)`, { cause: error });
  if (code === 'permission-denied' || code === 'unauthenticated' || code === 'invalid-credential') {
    return new PermanentError(message, { cause: error });
  }
  // gRPC from @google-cloud/tasks: 5 not found, 7 permission denied, 16 unauthenticated, 3 invalid argument.
  const grpc = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
  if (grpc === 5) return new NotFoundError(`${message} (is the task function deployed?)`);
  if (grpc === 3 || grpc === 7 || grpc === 16) return new PermanentError(message, { cause: error });
  return new RetryableError(message, { cause: error });
}

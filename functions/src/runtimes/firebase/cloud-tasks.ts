/**
 * The tasks port on Cloud Tasks. Each task queue is an `onTaskDispatched`
 * function named `<orchestrator>-<task>`, and Firebase names its queue after
 * the function, so enqueueing goes through firebase-admin's function task
 * queues, and queue stats come from the Cloud Tasks API itself.
 *
 * Both client libraries are loaded on first use only. Under the Firebase
 * emulator suite, stats come from the Cloud Tasks emulator's `/queueStats`,
 * because the Cloud Tasks API client cannot talk to the emulator.
 */
import { randomUUID } from 'node:crypto';
import type { v2beta3 } from '@google-cloud/tasks';
import type { TaskOptions } from 'firebase-admin/functions';
import type { Clock } from '../../platform/clock.js';
import {
  errorMessage,
  InvalidInputError,
  NotFoundError,
  PermanentError,
  RetryableError,
} from '../../platform/errors.js';
import type { EnqueueOptions, EnqueueResult, QueueStats, TaskQueue } from '../../platform/ports.js';
import { encodeTask } from '../../platform/task-rules.js';

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
  /** Dead letters recorded for a queue (the `deadLetters` documents). */
  countDeadLetters(queue: string): Promise<number>;
}

const QUEUE = /^[a-z][a-zA-Z0-9]{0,40}-[a-z][a-zA-Z0-9]{0,40}$/;

export class CloudTasksQueue implements TaskQueue {
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
    const options: TaskOptions = { id };
    if (opts.scheduleTime !== undefined && opts.scheduleTime > Date.now()) {
      options.scheduleTime = new Date(opts.scheduleTime);
    }
    const target = await this.#opts.taskQueue(`locations/${this.#opts.region}/functions/${queue}`);
    try {
      await target.enqueue(payload ?? null, options);
      return { id, deduped: false };
    } catch (error) {
      if (firebaseCode(error) === 'task-already-exists') return { id, deduped: true };
      throw toPlatformError(error, `enqueue on ${queue}`);
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
}

// ---------------------------------------------------------------- queue counts

/**
 * Counts from the Cloud Tasks API. Only v2beta3 returns queue stats (with a
 * read mask); the client is created once, on the first call.
 */
export function cloudTasksCounts(opts: {
  region: string;
  projectId: () => Promise<string>;
  now: Clock['now'];
}): (queue: string) => Promise<QueueCounts> {
  let client: Promise<v2beta3.CloudTasksClient> | undefined;
  return async (queue) => {
    client ??= import('@google-cloud/tasks')
      .then((tasks) => new tasks.v2beta3.CloudTasksClient())
      .catch((error: unknown) => {
        client = undefined; // a failed load is tried again on the next call
        throw error;
      });
    try {
      const tasks = await client;
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

/**
 * The expression workers: user expressions run here, in worker threads, and
 * never on the thread that serves the API and dispatches tasks. A job that
 * runs past its deadline has its worker terminated (V8 stops even a
 * regular-expression backtrack or a built-in mid-call) and replaced; the
 * step fails with `expression-timeout`. Jobs wait in order for a free worker.
 *
 * Workers start on demand, are not restarted between jobs (each keeps its
 * compiled expressions), and do not hold the process open while idle.
 */
import { Worker } from 'node:worker_threads';
import { ExpressionTimeoutError, PermanentError, RetryableError } from '../../../platform/errors.js';
import { siblingModule } from '../../../platform/sibling-module.js';
import { TIMEOUT_CODE } from './language.js';
import { type JobOutcome, JobOutcomeSchema, type WorkerJob } from './protocol.js';

export interface ExpressionPoolOptions {
  /** Worker threads at most. @default from the CPU count, 2 to 8 */
  size: number;
  /** Heap of one worker; a job past it fails, its worker is replaced. @default 256 */
  maxHeapMb?: number;
  /** How long past a job's own deadline its worker may take to stop it before it is terminated. @default 25 */
  killGraceMs?: number;
}

/** One job's run: whose it is, and how long it may take. */
export interface JobRun {
  /** The step the expressions belong to, for error messages. */
  step: string;
  /** The longest the job may run once a worker has it. */
  capMs: number;
  /** What is left of the step's time, from now: waiting for a worker counts against it. */
  stepLeftMs: number;
  /** Aborts the job (the step was cancelled or timed out); its worker is replaced if it had started. */
  signal?: AbortSignal;
}

export interface ExpressionPoolStats {
  workers: number;
  busy: number;
  queued: number;
  /** Workers terminated at a deadline or lost, since the pool started. */
  replaced: number;
}

/** Past the worker's own deadline (which ends most runaways cleanly), before terminating it. */
const KILL_GRACE_MS = 25;

interface Pending {
  job: WorkerJob;
  run: JobRun;
  queuedAt: number;
  /** Set when a worker takes it: the time it was given. */
  deadlineMs: number;
  resolve(values: unknown[]): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  /** Its modules are loaded: a job's deadline does not pay for a worker's start. */
  ready: boolean;
  job: Pending | null;
  timer: NodeJS.Timeout | null;
}

export class ExpressionPool {
  #size: number;
  readonly #maxHeapMb: number;
  readonly #killGraceMs: number;
  readonly #slots = new Set<Slot>();
  readonly #queue: Pending[] = [];
  #replaced = 0;
  #closed = false;

  constructor(options: ExpressionPoolOptions) {
    this.#size = options.size;
    this.#maxHeapMb = options.maxHeapMb ?? 256;
    this.#killGraceMs = options.killGraceMs ?? KILL_GRACE_MS;
  }

  /** Takes effect as workers free up: none is stopped mid-job. */
  resize(size: number): void {
    this.#size = size;
    this.#dispatch();
  }

  stats(): ExpressionPoolStats {
    const busy = [...this.#slots].filter((s) => s.job).length;
    return { workers: this.#slots.size, busy, queued: this.#queue.length, replaced: this.#replaced };
  }

  /** The job's values, one per expression evaluated; rejects with the error the step fails with. */
  run(job: WorkerJob, run: JobRun): Promise<unknown[]> {
    if (this.#closed) return Promise.reject(new RetryableError('The expression pool is closed'));
    if (run.signal?.aborted) return Promise.reject(cancelled(run));
    return new Promise<unknown[]>((resolve, reject) => {
      const pending: Pending = { job, run, queuedAt: performance.now(), deadlineMs: 0, resolve, reject };
      this.#queue.push(pending);
      run.signal?.addEventListener('abort', () => this.#abort(pending), { once: true });
      this.#dispatch();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const pending of this.#queue.splice(0))
      pending.reject(new RetryableError('The expression pool closed'));
    await Promise.all(
      [...this.#slots].map((slot) => this.#discard(slot, new RetryableError('The expression pool closed'))),
    );
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      const slot = [...this.#slots].find((s) => s.ready && !s.job);
      if (!slot) {
        const starting = [...this.#slots].filter((s) => !s.ready).length;
        if (this.#slots.size < this.#size && starting < this.#queue.length) this.#spawn();
        return;
      }
      const pending = this.#queue.shift() as Pending;
      const { capMs, stepLeftMs } = pending.run;
      const left = Math.min(capMs, stepLeftMs - (performance.now() - pending.queuedAt));
      if (left <= 0) {
        // It never ran: the machine was busy, not the expression at fault.
        pending.reject(
          new RetryableError(`Step "${pending.run.step}": no expression worker was free before its deadline`),
        );
        continue;
      }
      this.#start(slot, pending, left);
    }
    // Beyond the size after a resize: let idle ones go.
    for (const slot of this.#slots) {
      if (this.#slots.size <= this.#size) break;
      if (!slot.job) void this.#discard(slot, null);
    }
  }

  #start(slot: Slot, pending: Pending, left: number): void {
    slot.job = pending;
    pending.deadlineMs = left;
    slot.worker.ref();
    const budgetMs = Math.max(1, left - this.#killGraceMs);
    slot.timer = setTimeout(() => {
      this.#replaced++;
      void this.#discard(slot, timedOut(pending));
    }, left);
    pending.job = { ...pending.job, budgetMs };
    slot.worker.postMessage(pending.job satisfies WorkerJob);
  }

  #spawn(): Slot {
    const worker = new Worker(siblingModule(import.meta.url, 'worker'), {
      resourceLimits: { maxOldGenerationSizeMb: this.#maxHeapMb },
    });
    const slot: Slot = { worker, ready: false, job: null, timer: null };
    worker.unref();
    worker.on('message', (message: unknown) => this.#settle(slot, message));
    worker.on('error', (error: Error & { code?: string }) => {
      this.#replaced++;
      const step = slot.job?.run.step ?? '';
      const failure =
        error.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? new PermanentError(
              `Step "${step}": the expression used more than ${this.#maxHeapMb} MB and was stopped`,
              { details: { code: 'expression-memory' } },
            )
          : new RetryableError(`Step "${step}": the expression worker failed: ${error.message}`, {
              cause: error,
            });
      this.#lose(slot, failure);
    });
    worker.on('exit', () => {
      if (this.#slots.has(slot)) {
        this.#replaced++;
        this.#lose(slot, new RetryableError('The expression worker stopped'));
      }
    });
    this.#slots.add(slot);
    return slot;
  }

  /**
   * A worker that failed. One that never started (a broken install) fails the
   * jobs waiting for it too, rather than being started again and again.
   */
  #lose(slot: Slot, failure: Error): void {
    if (!slot.ready) for (const pending of this.#queue.splice(0)) pending.reject(failure);
    void this.#discard(slot, failure);
  }

  #settle(slot: Slot, message: unknown): void {
    if (!slot.ready) {
      slot.ready = true;
      this.#dispatch();
      return;
    }
    const pending = slot.job;
    if (!pending) return;
    this.#free(slot);
    const outcome = JobOutcomeSchema.safeParse(message);
    if (!outcome.success)
      pending.reject(new PermanentError(`Expression worker answered: ${outcome.error.message}`));
    else if (outcome.data.ok) pending.resolve(outcome.data.values);
    else pending.reject(failure(pending, outcome.data));
    this.#dispatch();
  }

  #free(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    slot.job = null;
    slot.worker.unref();
  }

  /** Terminates a worker (the job it ran fails with `error`); the next job starts a new one. */
  async #discard(slot: Slot, error: Error | null): Promise<void> {
    if (!this.#slots.delete(slot)) return;
    const pending = slot.job;
    this.#free(slot);
    if (pending && error) pending.reject(error);
    this.#dispatch();
    await slot.worker.terminate();
  }

  #abort(pending: Pending): void {
    const queued = this.#queue.indexOf(pending);
    if (queued >= 0) {
      this.#queue.splice(queued, 1);
      pending.reject(cancelled(pending.run));
      return;
    }
    const slot = [...this.#slots].find((s) => s.job === pending);
    if (slot) {
      this.#replaced++;
      void this.#discard(slot, cancelled(pending.run));
    }
  }
}

function failure(pending: Pending, outcome: Extract<JobOutcome, { ok: false }>): Error {
  const expression =
    pending.job.kind === 'expressions' ? pending.job.expressions[outcome.index]?.source : undefined;
  if (outcome.code === TIMEOUT_CODE) return timedOut(pending, outcome.index);
  return new PermanentError(outcome.message, {
    details: { code: outcome.code, position: outcome.position, expression },
  });
}

function timedOut(pending: Pending, index?: number): ExpressionTimeoutError {
  const deadlineMs = Math.round(pending.deadlineMs);
  const expressions = pending.job.kind === 'expressions' ? pending.job.expressions : [];
  const which = index ?? (expressions.length === 1 ? 0 : undefined);
  const named = which === undefined ? undefined : expressions[which];
  const what = named
    ? `${named.label ? `${named.label}: ` : ''}expression ${excerpt(named.source)}`
    : pending.job.kind === 'schema'
      ? 'the check against its schema'
      : 'its expressions';
  return new ExpressionTimeoutError(
    `Step "${pending.run.step}": ${what} ran past the deadline of ${deadlineMs} ms and was stopped`,
    { expression: named?.source, deadlineMs },
  );
}

function cancelled(run: JobRun): RetryableError {
  return new RetryableError(`Step "${run.step}": its expressions were cancelled`);
}

function excerpt(source: string): string {
  return JSON.stringify(source.length > 80 ? `${source.slice(0, 77)}...` : source);
}

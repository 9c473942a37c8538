/**
 * The tasks port on SQLite: the embedded resource pool.
 *
 * A task row moves pending → leased → done | dead. Claiming is one UPDATE …
 * RETURNING that leases a batch; completions are gathered for a moment and
 * committed together. That group commit is what makes the durable queue fast:
 * one SQLite transaction settles many tasks.
 *
 * A lease that outlives its holder (a crash, a hung handler) is swept back to
 * pending, counting as a failed attempt; after maxAttempts the task is dead,
 * kept with its last error until an operator replays it.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { Clock } from '../../platform/clock.js';
import {
  errorMessage,
  isRetryable,
  NotFoundError,
  RetryAfterError,
  RetryableError,
} from '../../platform/errors.js';
import type { Ids } from '../../platform/ids.js';
import type { Logger } from '../../platform/logger.js';
import { backoffMs, type RateLimits, type RetryPolicy } from '../../platform/orchestrator.js';
import type { EnqueueOptions, EnqueueResult, QueueStats, TaskInfo, TaskQueue } from '../../platform/ports.js';
import { encodeTask } from '../../platform/task-rules.js';
import { inTransaction } from './sqlite.js';

export interface QueueConfig {
  name: string;
  retry: Required<RetryPolicy>;
  rateLimits: Required<RateLimits>;
  /** How long one attempt may run before its lease lapses. */
  timeoutMs: number;
}

export type TaskHandler = (payload: unknown, info: TaskInfo) => Promise<void>;

export interface DeadTask {
  queue: string;
  id: string;
  payload: unknown;
  attempts: number;
  lastError: string | null;
  updatedAt: number;
}

export interface EmbeddedEnqueueOptions extends EnqueueOptions {
  orderingKey?: string;
}

interface Claimed {
  seq: number;
  id: string;
  payload: string;
  attempts: number;
  max_attempts: number;
}

interface Completion {
  worker: Worker;
  task: Claimed;
  error: unknown;
}

interface Worker {
  config: QueueConfig;
  handler: TaskHandler;
  inFlight: number;
  tokens: number;
  refilledAt: number;
  timer: NodeJS.Timeout | undefined;
  scheduled: boolean;
}

const CLAIM_BATCH = 64;
/** Finished tasks are kept this long so a re-enqueue with the same id is still a no-op (Cloud Tasks keeps ~1 h). */
const DEDUPE_WINDOW_MS = 60 * 60 * 1000;
const IDLE_POLL_MS = 1000;

export class EmbeddedTaskQueue implements TaskQueue {
  readonly #db: DatabaseSync;
  readonly #clock: Clock;
  readonly #ids: Ids;
  readonly #logger: Logger;
  readonly #owner: string;
  readonly #random: () => number;
  readonly #workers = new Map<string, Worker>();
  readonly #configs = new Map<string, QueueConfig>();
  #completions: Completion[] = [];
  #flushScheduled = false;
  #running = false;
  #idleWaiters: Array<() => void> = [];
  readonly #sql: Record<
    | 'insert'
    | 'claim'
    | 'claimOrdered'
    | 'done'
    | 'retry'
    | 'dead'
    | 'release'
    | 'leasedProbe'
    | 'readyProbe',
    StatementSync
  >;

  constructor(
    db: DatabaseSync,
    opts: { clock: Clock; ids: Ids; logger: Logger; owner?: string; random?: () => number },
  ) {
    this.#db = db;
    this.#clock = opts.clock;
    this.#ids = opts.ids;
    this.#logger = opts.logger;
    this.#owner = opts.owner ?? `pid-${process.pid}-${opts.ids.next()}`;
    this.#random = opts.random ?? Math.random;
    const claim = (ordered: boolean) => `
      UPDATE tasks SET state = 'leased', lease_until = ?, lease_owner = ?, attempts = attempts + 1, updated_at = ?
      WHERE seq IN (
        SELECT seq FROM tasks t WHERE queue = ? AND state = 'pending' AND run_at <= ?
        ${ordered ? `AND (ordering_key IS NULL OR NOT EXISTS (SELECT 1 FROM tasks e WHERE e.queue = t.queue AND e.ordering_key = t.ordering_key AND e.state IN ('pending', 'leased') AND e.seq < t.seq))` : ''}
        ORDER BY run_at, seq LIMIT ?)
      RETURNING seq, id, payload, attempts, max_attempts`;
    this.#sql = {
      leasedProbe: db.prepare(`SELECT 1 FROM tasks WHERE queue = ? AND state = 'leased' LIMIT 1`),
      readyProbe: db.prepare(
        `SELECT 1 FROM tasks WHERE queue = ? AND state = 'pending' AND run_at <= ? LIMIT 1`,
      ),
      insert: db.prepare(
        `INSERT INTO tasks (queue, id, payload, state, attempts, max_attempts, run_at, ordering_key, created_at, updated_at)
         VALUES (?, ?, ?, 'pending', 0, ?, ?, ?, ?, ?) ON CONFLICT (queue, id) DO NOTHING`,
      ),
      claim: db.prepare(claim(false)),
      claimOrdered: db.prepare(claim(true)),
      done: db.prepare(
        `UPDATE tasks SET state = 'done', lease_until = NULL, lease_owner = NULL, last_error = NULL, updated_at = ?
         WHERE seq = ? AND state = 'leased' AND lease_owner = ? AND attempts = ?`,
      ),
      retry: db.prepare(
        `UPDATE tasks SET state = 'pending', run_at = ?, lease_until = NULL, lease_owner = NULL, last_error = ?, updated_at = ?
         WHERE seq = ? AND state = 'leased' AND lease_owner = ? AND attempts = ?`,
      ),
      dead: db.prepare(
        `UPDATE tasks SET state = 'dead', lease_until = NULL, lease_owner = NULL, last_error = ?, updated_at = ?
         WHERE seq = ? AND state = 'leased' AND lease_owner = ? AND attempts = ?`,
      ),
      release: db.prepare(
        `UPDATE tasks SET state = 'pending', attempts = attempts - 1, run_at = ?, lease_until = NULL, lease_owner = NULL, updated_at = ?
         WHERE seq = ? AND state = 'leased' AND lease_owner = ?`,
      ),
    };
  }

  /** Declares a queue and the handler that drains it. Enqueueing to an undeclared queue fails. */
  register(config: QueueConfig, handler: TaskHandler): void {
    if (this.#configs.has(config.name)) throw new Error(`Queue ${config.name} is registered twice`);
    this.#configs.set(config.name, config);
    const worker: Worker = {
      config,
      handler,
      inFlight: 0,
      tokens: config.rateLimits.maxDispatchesPerSecond,
      refilledAt: this.#clock.now(),
      timer: undefined,
      scheduled: false,
    };
    this.#workers.set(config.name, worker);
    if (this.#running) this.#wake(worker);
  }

  get queues(): string[] {
    return [...this.#configs.keys()];
  }

  async enqueue(queue: string, payload: unknown, opts: EmbeddedEnqueueOptions = {}): Promise<EnqueueResult> {
    const result = this.enqueueNow(queue, payload, opts);
    const worker = this.#workers.get(queue);
    if (worker && this.#running && !result.deduped) this.#wake(worker);
    return result;
  }

  /** Synchronous enqueue, so callers can enqueue inside their own SQLite transaction (the event pump does). */
  enqueueNow(queue: string, payload: unknown, opts: EmbeddedEnqueueOptions = {}): EnqueueResult {
    const config = this.#configs.get(queue);
    if (!config) throw new NotFoundError(`No task queue "${queue}"`);
    const id = opts.id ?? this.#ids.next();
    const json = encodeTask(id, payload);
    const now = this.#clock.now();
    const info = this.#sql.insert.run(
      queue,
      id,
      json,
      config.retry.maxAttempts,
      Math.max(opts.scheduleTime ?? now, 0),
      opts.orderingKey ?? null,
      now,
      now,
    );
    return { id, deduped: Number(info.changes) === 0 };
  }

  /** Tells a queue that tasks were added behind its back (inside another transaction). */
  nudge(queue: string): void {
    const worker = this.#workers.get(queue);
    if (worker && this.#running) this.#wake(worker);
  }

  async stats(queue: string): Promise<QueueStats> {
    if (!this.#configs.has(queue)) throw new NotFoundError(`No task queue "${queue}"`);
    return this.statsNow(queue);
  }

  async list(): Promise<QueueStats[]> {
    return this.queues.map((name) => this.statsNow(name));
  }

  statsNow(queue: string): QueueStats {
    const now = this.#clock.now();
    const rows = this.#db
      .prepare(
        `SELECT state, count(*) AS n, min(CASE WHEN run_at <= ? THEN run_at END) AS oldest
         FROM tasks WHERE queue = ? AND state IN ('pending', 'leased', 'dead') GROUP BY state`,
      )
      .all(now, queue) as Array<{ state: string; n: number; oldest: number | null }>;
    const by = new Map(rows.map((r) => [r.state, r]));
    const oldest = by.get('pending')?.oldest;
    return {
      queue,
      depth: by.get('pending')?.n ?? 0,
      inFlight: by.get('leased')?.n ?? 0,
      oldestAgeMs: oldest == null ? 0 : Math.max(0, now - oldest),
      deadLettered: by.get('dead')?.n ?? 0,
    };
  }

  listDead(queue: string | undefined, limit = 100): DeadTask[] {
    const rows = this.#db
      .prepare(
        `SELECT queue, id, payload, attempts, last_error, updated_at FROM tasks
         WHERE state = 'dead' AND (? IS NULL OR queue = ?) ORDER BY updated_at DESC LIMIT ?`,
      )
      .all(queue ?? null, queue ?? null, limit) as Array<{
      queue: string;
      id: string;
      payload: string;
      attempts: number;
      last_error: string | null;
      updated_at: number;
    }>;
    return rows.map((r) => ({
      queue: r.queue,
      id: r.id,
      payload: JSON.parse(r.payload) as unknown,
      attempts: r.attempts,
      lastError: r.last_error,
      updatedAt: r.updated_at,
    }));
  }

  /** Gives a dead task a fresh retry budget. */
  replayDead(queue: string, id: string): boolean {
    const now = this.#clock.now();
    const info = this.#db
      .prepare(
        `UPDATE tasks SET state = 'pending', attempts = 0, run_at = ?, updated_at = ? WHERE queue = ? AND id = ? AND state = 'dead'`,
      )
      .run(now, now, queue, id);
    const worker = this.#workers.get(queue);
    if (worker && this.#running) this.#wake(worker);
    return Number(info.changes) > 0;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.sweep();
    for (const worker of this.#workers.values()) this.#wake(worker);
  }

  /**
   * Stops claiming, lets in-flight tasks finish for up to `graceMs`, then
   * hands back the leases of any still running so the next start takes them
   * at once (their attempt is not counted).
   */
  async stop(opts: { graceMs?: number } = {}): Promise<{ finished: number; released: number }> {
    this.#running = false;
    for (const worker of this.#workers.values()) {
      if (worker.timer) clearTimeout(worker.timer);
      worker.timer = undefined;
    }
    const inFlight = () => [...this.#workers.values()].reduce((n, w) => n + w.inFlight, 0);
    const before = inFlight();
    const deadline = Date.now() + (opts.graceMs ?? 10_000);
    while (inFlight() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    this.#flush();
    let released = 0;
    inTransaction(this.#db, () => {
      const now = this.#clock.now();
      const rows = this.#db
        .prepare(`SELECT seq FROM tasks WHERE state = 'leased' AND lease_owner = ?`)
        .all(this.#owner) as Array<{ seq: number }>;
      for (const row of rows)
        released += Number(this.#sql.release.run(now, now, row.seq, this.#owner).changes);
    });
    return { finished: before - inFlight(), released };
  }

  /**
   * Recovers leases whose holder is gone and purges finished tasks past the
   * dedupe window. Called at start and periodically by the runtime.
   */
  sweep(): { recovered: number; deadened: number; purged: number } {
    const now = this.#clock.now();
    return inTransaction(this.#db, () => {
      const expired = `state = 'leased' AND (lease_until < ? OR lease_owner != ?)`;
      const deadened = Number(
        this.#db
          .prepare(
            `UPDATE tasks SET state = 'dead', last_error = coalesce(last_error || ' | ', '') || 'lease expired: the worker stopped or timed out', lease_owner = NULL, lease_until = NULL, updated_at = ?
             WHERE ${expired} AND attempts >= max_attempts`,
          )
          .run(now, now, this.#owner).changes,
      );
      const recovered = Number(
        this.#db
          .prepare(
            `UPDATE tasks SET state = 'pending', run_at = ?, last_error = 'lease expired: the worker stopped or timed out', lease_owner = NULL, lease_until = NULL, updated_at = ?
             WHERE ${expired}`,
          )
          .run(now, now, now, this.#owner).changes,
      );
      const purged = Number(
        this.#db
          .prepare(
            `DELETE FROM tasks WHERE seq IN (SELECT seq FROM tasks WHERE state = 'done' AND updated_at < ? LIMIT 5000)`,
          )
          .run(now - DEDUPE_WINDOW_MS).changes,
      );
      if (recovered + deadened > 0)
        this.#logger.warn('Recovered expired task leases', { recovered, deadened });
      if (recovered > 0 && this.#running) for (const w of this.#workers.values()) this.#wake(w);
      return { recovered, deadened, purged };
    });
  }

  /** Resolves once no task is ready or running in any registered queue (tests and benchmarks). */
  async whenIdle(): Promise<void> {
    if (this.#isIdle()) return;
    await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  #isIdle(): boolean {
    if (this.#completions.length > 0) return false;
    for (const w of this.#workers.values()) if (w.inFlight > 0) return false;
    const names = [...this.#configs.keys()];
    if (names.length === 0) return true;
    // One indexed probe per queue: the first ready or leased row is enough to say "busy".
    const now = this.#clock.now();
    for (const name of names) {
      if (this.#sql.leasedProbe.get(name)) return false;
      if (this.#sql.readyProbe.get(name, now)) return false;
    }
    return true;
  }

  #checkIdle(): void {
    if (this.#idleWaiters.length === 0 || !this.#isIdle()) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #wake(worker: Worker): void {
    if (worker.scheduled || !this.#running) return;
    worker.scheduled = true;
    if (worker.timer) clearTimeout(worker.timer);
    worker.timer = undefined;
    setImmediate(() => {
      worker.scheduled = false;
      this.#dispatch(worker);
    });
  }

  #sleep(worker: Worker, ms: number): void {
    if (worker.scheduled || !this.#running) return;
    if (worker.timer) clearTimeout(worker.timer);
    worker.timer = setTimeout(() => {
      worker.timer = undefined;
      this.#dispatch(worker);
    }, ms);
    worker.timer.unref();
  }

  #dispatch(worker: Worker): void {
    if (!this.#running) return;
    const { config } = worker;
    const now = this.#clock.now();
    const rate = config.rateLimits.maxDispatchesPerSecond;
    worker.tokens = Math.min(rate, worker.tokens + ((now - worker.refilledAt) / 1000) * rate);
    worker.refilledAt = now;
    const slots = config.rateLimits.maxConcurrentDispatches - worker.inFlight;
    if (slots <= 0) return; // a completion wakes us
    if (worker.tokens < 1) {
      this.#sleep(worker, Math.ceil(((1 - worker.tokens) / rate) * 1000));
      return;
    }
    const want = Math.min(slots, Math.floor(worker.tokens), CLAIM_BATCH);
    const claimed = this.#claim(config, want, now);
    worker.tokens -= claimed.length;
    for (const task of claimed) this.#run(worker, task);
    if (claimed.length === want) {
      this.#wake(worker);
      return;
    }
    const next = this.#db
      .prepare(`SELECT min(run_at) AS at FROM tasks WHERE queue = ? AND state = 'pending'`)
      .get(config.name) as { at: number | null };
    this.#sleep(worker, next.at == null ? IDLE_POLL_MS : Math.min(IDLE_POLL_MS, Math.max(1, next.at - now)));
    if (claimed.length === 0) this.#checkIdle();
  }

  #claim(config: QueueConfig, limit: number, now: number): Claimed[] {
    const hasOrdered = this.#db
      .prepare(
        `SELECT 1 FROM tasks WHERE queue = ? AND ordering_key IS NOT NULL AND state = 'pending' LIMIT 1`,
      )
      .get(config.name);
    const stmt = hasOrdered ? this.#sql.claimOrdered : this.#sql.claim;
    const rows = stmt.all(
      now + config.timeoutMs,
      this.#owner,
      now,
      config.name,
      now,
      limit,
    ) as unknown as Claimed[];
    return rows.sort((a, b) => a.seq - b.seq);
  }

  #run(worker: Worker, task: Claimed): void {
    worker.inFlight++;
    const info: TaskInfo = {
      queue: worker.config.name,
      id: task.id,
      attempt: task.attempts,
      maxAttempts: task.max_attempts,
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new RetryableError(`Task timed out after ${worker.config.timeoutMs} ms`)),
        worker.config.timeoutMs,
      );
      timer.unref();
    });
    const attempt = (async () => worker.handler(JSON.parse(task.payload) as unknown, info))();
    Promise.race([attempt, timeout])
      .then(
        () => this.#settle({ worker, task, error: undefined }),
        (error: unknown) => this.#settle({ worker, task, error: error ?? new Error('task failed') }),
      )
      .finally(() => clearTimeout(timer));
  }

  #settle(completion: Completion): void {
    completion.worker.inFlight--;
    this.#completions.push(completion);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  /** Group commit: settles every finished attempt in one SQLite transaction. */
  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#completions;
    if (batch.length === 0) return;
    this.#completions = [];
    const now = this.#clock.now();
    inTransaction(this.#db, () => {
      for (const { worker, task, error } of batch) {
        const key = [task.seq, this.#owner, task.attempts] as const;
        if (error === undefined) {
          this.#sql.done.run(now, ...key);
          continue;
        }
        const message = errorMessage(error).slice(0, 4000);
        if (!isRetryable(error) || task.attempts >= task.max_attempts) {
          this.#sql.dead.run(message, now, ...key);
          this.#logger.error('Task dead-lettered', {
            queue: worker.config.name,
            taskId: task.id,
            attempts: task.attempts,
            error: message,
          });
          continue;
        }
        const delay =
          error instanceof RetryAfterError
            ? error.retryAfterMs
            : backoffMs(worker.config.retry, task.attempts, this.#random);
        this.#sql.retry.run(now + delay, message, now, ...key);
        this.#logger.warn('Task failed; will retry', {
          queue: worker.config.name,
          taskId: task.id,
          attempt: task.attempts,
          retryInMs: delay,
          error: message,
        });
      }
    });
    const touched = new Set(batch.map((c) => c.worker));
    for (const worker of touched) this.#wake(worker);
    this.#checkIdle();
  }
}

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
 *
 * Two things make it the pool's dispatcher rather than a plain FIFO:
 * - Fairness (fair.ts): in a queue whose tasks carry fairness keys, a claim
 *   takes the keys' tasks in weighted fair order, not oldest first.
 * - Deferral: a handler that throws DeferError (the pool is full) puts its
 *   task back without spending an attempt, parked on a gate; `wake(gate)`
 *   (the pool, when it frees a slot) makes the highest-priority parked task
 *   ready at once. Parked tasks also wake on their own after a delay, so a
 *   lost wake-up costs time, never the task.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { DatabaseSync } from 'node:sqlite';
import type { Clock } from '../../platform/clock.js';
import { backoffMs, type RateLimits, type RetryPolicy } from '../../platform/delivery.js';
import {
  DeferError,
  errorMessage,
  isRetryable,
  NotFoundError,
  RetryAfterError,
  RetryableError,
  StorageFullError,
} from '../../platform/errors.js';
import type { Ids } from '../../platform/ids.js';
import type { Logger } from '../../platform/logger.js';
import type { EnqueueOptions, EnqueueResult, QueueStats, TaskInfo, TaskQueue } from '../../platform/ports.js';
import { deferDelayMs, encodeTask } from '../../platform/task-rules.js';
import { currentTraceparent, detachedFromTrace, inCarriedTrace } from '../../platform/tracing.js';
import { FairScheduler } from './fair.js';
import { storageError } from './sqlite.js';
import { type ClaimedTask, type DeadTask, type TaskOutcome, TaskTable } from './task-table.js';

export type { DeadTask } from './task-table.js';

export interface QueueConfig {
  name: string;
  retry: Required<RetryPolicy>;
  rateLimits: Required<RateLimits>;
  /** How long one attempt may run before its lease lapses. */
  timeoutMs: number;
  /** 0 (high) to 3 (batch): deferred tasks of higher classes wake first. @default 1 */
  priority?: number;
}

export type TaskHandler = (payload: unknown, info: TaskInfo) => Promise<void>;

export interface EmbeddedEnqueueOptions extends EnqueueOptions {
  orderingKey?: string;
}

interface Completion {
  worker: Worker;
  task: ClaimedTask;
  error: unknown;
  /** The wake count when the attempt began: only a later wake can be one it missed. */
  wakesAtStart: number;
}

interface Worker {
  config: QueueConfig;
  handler: TaskHandler;
  inFlight: number;
  tokens: number;
  refilledAt: number;
  timer: NodeJS.Timeout | undefined;
  scheduled: boolean;
  /** Set once the queue has seen a task with a fairness key: claims then go through `fair`. */
  keyed: boolean;
  fair: FairScheduler;
  /**
   * Keys whose last task was deferred on a gate, with the time its own delay
   * ends: their other tasks would be deferred too, so they are not dispatched
   * until a wake makes one of the key's tasks due, or that time passes. This
   * keeps a workspace over its share from churning the queue.
   */
  blocked: Map<string, number>;
  /**
   * Keys with a woken task not yet dispatched: never held back, whatever a
   * sibling's later deferral says, or the wake would be lost until the
   * sibling's delay ends.
   */
  woken: Map<string, number>;
}

const CLAIM_BATCH = 64;
/** Dispatches enqueue() may start in one turn of the event loop before it falls back to a wake. */
const PROMPT_DISPATCHES_PER_TURN = 16;
/** Set while a task's handler runs (through its awaits): what it enqueues waits for a wake. */
const inHandler = new AsyncLocalStorage<true>();
/** Finished tasks are kept this long so a re-enqueue with the same id is still a no-op (Cloud Tasks keeps ~1 h). */
const DEDUPE_WINDOW_MS = 60 * 60 * 1000;
const IDLE_POLL_MS = 1000;
/** How soon a group commit or a claim the disk refused is tried again: the first retry, and the cap. */
const STORAGE_RETRY_MS = { first: 250, max: 5_000 };

function markWoken(worker: Worker, key: string): void {
  worker.blocked.delete(key);
  worker.woken.set(key, (worker.woken.get(key) ?? 0) + 1);
}
/** How long a wake that found nobody parked waits for a deferral on its way (see #lateWakes). */
const LATE_WAKE_MS = 1000;
const MAX_LATE_WAKES = 64;

export class EmbeddedTaskQueue implements TaskQueue {
  /** A deferred task stays in the table, parked on its gate, until wake(gate) or its own delay. */
  readonly deferral = 'park';
  readonly #table: TaskTable;
  readonly #clock: Clock;
  readonly #ids: Ids;
  readonly #logger: Logger;
  readonly #owner: string;
  readonly #random: () => number;
  readonly #workers = new Map<string, Worker>();
  readonly #configs = new Map<string, QueueConfig>();
  #completions: Completion[] = [];
  /**
   * Outcomes a group commit could not write (a full disk), kept in order and
   * written with the next commit: the attempts ran, and their leases stay held
   * in the table until then (or until they expire, when the sweep takes them back).
   */
  #unsettled: Array<{ task: ClaimedTask; outcome: TaskOutcome }> = [];
  #storageRetryMs = 0;
  #storageRetry: NodeJS.Timeout | undefined;
  /**
   * Wakes that found nobody parked on their gate, kept a moment: a task refused
   * just before the slot was freed may not be parked yet (its deferral is still
   * in the unflushed batch, or still on its way there), and would otherwise
   * sleep through the wake meant for it. Its deferral takes one and is due at once.
   */
  readonly #lateWakes = new Map<string, { count: number; at: number; seq: number }>();
  /** Wakes so far: orders a wake against the attempts it may have missed. */
  #wakes = 0;
  /**
   * Gates that may have tasks parked on them. The pool wakes every gate a step
   * frees (one per dimension, every step); a wake of a gate nobody parked on
   * skips its UPDATE. Filled from the table at start, added to as tasks park,
   * and cleared when a wake finds fewer parked than it asked for.
   */
  readonly #parkedGates = new Set<string>();
  #flushScheduled = false;
  /** Dispatches enqueue() started in this turn of the event loop (see #dispatchPromptly). */
  #promptThisTurn = 0;
  #running = false;
  #idleWaiters: Array<() => void> = [];
  constructor(
    db: DatabaseSync,
    opts: { clock: Clock; ids: Ids; logger: Logger; owner?: string; random?: () => number },
  ) {
    this.#clock = opts.clock;
    this.#ids = opts.ids;
    this.#logger = opts.logger;
    this.#owner = opts.owner ?? `pid-${process.pid}-${opts.ids.next()}`;
    this.#random = opts.random ?? Math.random;
    this.#table = new TaskTable(db, this.#owner);
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
      keyed: this.#table.hasKeyed(config.name),
      fair: new FairScheduler(),
      blocked: new Map(),
      woken: new Map(),
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
    if (worker && this.#running && !result.deduped) this.#dispatchPromptly(worker);
    return result;
  }

  /** Synchronous enqueue, so callers can enqueue inside their own SQLite transaction (the event pump does). */
  enqueueNow(queue: string, payload: unknown, opts: EmbeddedEnqueueOptions = {}): EnqueueResult {
    const config = this.#configs.get(queue);
    if (!config) throw new NotFoundError(`No task queue "${queue}"`);
    const id = opts.id ?? this.#ids.next();
    const json = encodeTask(id, payload);
    const now = this.#clock.now();
    const worker = this.#workers.get(queue);
    const fairKey = this.#fairKey(worker, opts.fairness?.key, now);
    const inserted = this.#table.insert(
      {
        queue,
        id,
        json,
        maxAttempts: config.retry.maxAttempts,
        runAt: dueAt(opts, now),
        orderingKey: opts.orderingKey ?? null,
        fairKey,
        fairWeight: opts.fairness?.weight ?? 1,
        priority: config.priority ?? 1,
        traceparent: currentTraceparent() ?? null,
        rank: opts.order ?? null,
      },
      now,
    );
    return { id, deduped: !inserted };
  }

  /** The key a task is stored with: none in a queue that has never seen one, '' for an unkeyed task in one that has. */
  #fairKey(worker: Worker | undefined, key: string | undefined, now: number): string | null {
    if (!worker) return key ?? null;
    if (key !== undefined && !worker.keyed) {
      worker.keyed = true;
      this.#table.keyUnkeyed(worker.config.name);
    }
    if (!worker.keyed) return null;
    worker.fair.seen(key ?? '', now);
    return key ?? '';
  }

  /**
   * Makes up to `count` tasks deferred on `gate` ready now (the pool calls
   * this when it frees a slot): the highest priority class first, then the
   * longest waiting.
   */
  async wake(gate: string, count: number): Promise<number> {
    const now = this.#clock.now();
    const seq = ++this.#wakes;
    const woken = this.#parkedGates.has(gate) ? this.#table.wake(gate, count, now) : [];
    if (woken.length < count) {
      // Nobody (else) is parked there now: a later deferral on it adds it back.
      this.#parkedGates.delete(gate);
      const late = this.#lateWakes.get(gate);
      const kept = late && now - late.at <= LATE_WAKE_MS ? late.count : 0;
      const missed = Math.min(kept + count - woken.length, MAX_LATE_WAKES);
      this.#lateWakes.set(gate, { count: missed, at: now, seq });
      if (this.#lateWakes.size > 10_000) this.#pruneLateWakes(now);
    }
    for (const { queue, fairKey } of woken) {
      const worker = this.#workers.get(queue);
      // The woken task is due now: its key may go again, whatever gate held it back.
      if (fairKey !== null && worker) markWoken(worker, fairKey);
      this.nudge(queue);
    }
    return woken.length;
  }

  /** The pool's auto-scaling: new limits apply from the next dispatch. */
  async setRateLimits(queue: string, limits: Required<RateLimits>): Promise<void> {
    const worker = this.#workers.get(queue);
    if (!worker) throw new NotFoundError(`No task queue "${queue}"`);
    const config = { ...worker.config, rateLimits: { ...limits } };
    worker.config = config;
    this.#configs.set(queue, config);
    worker.tokens = Math.min(worker.tokens, limits.maxDispatchesPerSecond);
    if (this.#running) this.#wake(worker);
  }

  /** The current limits of a queue (as declared, or as the pool last set them). */
  rateLimitsOf(queue: string): Required<RateLimits> | undefined {
    return this.#configs.get(queue)?.rateLimits;
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
    return this.#table.stats(queue, this.#clock.now());
  }

  listDead(queue: string | undefined, limit = 100): DeadTask[] {
    return this.#table.listDead(queue, limit);
  }

  /** Gives a dead task a fresh retry budget. */
  replayDead(queue: string, id: string): boolean {
    const replayed = this.#table.replayDead(queue, id, this.#clock.now());
    const worker = this.#workers.get(queue);
    if (worker && this.#running) this.#wake(worker);
    return replayed;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    for (const gate of this.#table.parkedGates()) this.#parkedGates.add(gate);
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
    if (this.#storageRetry) clearTimeout(this.#storageRetry);
    this.#flush();
    const released = this.#table.releaseOwned(this.#clock.now());
    return { finished: before - inFlight(), released };
  }

  /**
   * Recovers leases whose holder is gone and purges finished tasks past the
   * dedupe window. Called at start and periodically by the runtime.
   */
  sweep(): { recovered: number; deadened: number; purged: number } {
    const now = this.#clock.now();
    const { recovered, deadened } = this.#table.recoverExpired(now);
    const purged = this.#table.purgeDone(now - DEDUPE_WINDOW_MS);
    if (recovered + deadened > 0) this.#logger.warn('Recovered expired task leases', { recovered, deadened });
    if (recovered > 0 && this.#running) for (const w of this.#workers.values()) this.#wake(w);
    return { recovered, deadened, purged };
  }

  /** Resolves once no task is ready or running in any registered queue (tests and benchmarks). */
  async whenIdle(): Promise<void> {
    if (this.#isIdle()) return;
    await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  #isIdle(): boolean {
    if (this.#completions.length > 0 || this.#unsettled.length > 0) return false;
    for (const w of this.#workers.values()) if (w.inFlight > 0) return false;
    const now = this.#clock.now();
    for (const name of this.#configs.keys()) if (this.#table.busy(name, now)) return false;
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
    // The dispatcher belongs to no request: each task's span continues the trace the task carries.
    detachedFromTrace(() =>
      setImmediate(() => {
        worker.scheduled = false;
        this.#dispatchGuarded(worker);
      }),
    );
  }

  /**
   * A task enqueued by a request (an execution started, a person's decision) is dispatched in this
   * turn of the event loop, in a microtask, not behind everything already waiting for the loop. Under
   * a flood the loop is busy with the flood's completions, and a wake (setImmediate) would put a quiet
   * workspace's step behind all of them: its wait would follow the flood's load, not its share.
   * What a handler enqueues (the next step of a chain) waits for the usual wake: run in microtasks,
   * one chain after another would keep the loop from the requests it also serves (health answered
   * in 28 ms at p50 instead of 10 under a backlog of chains). A budget per turn bounds a burst of
   * requests the same way.
   */
  #dispatchPromptly(worker: Worker): void {
    if (inHandler.getStore() || this.#promptThisTurn >= PROMPT_DISPATCHES_PER_TURN) {
      this.#wake(worker);
      return;
    }
    if (this.#promptThisTurn++ === 0) {
      setImmediate(() => {
        this.#promptThisTurn = 0;
      }).unref();
    }
    detachedFromTrace(() => queueMicrotask(() => this.#dispatchGuarded(worker)));
  }

  #sleep(worker: Worker, ms: number): void {
    if (worker.scheduled || !this.#running) return;
    if (worker.timer) clearTimeout(worker.timer);
    worker.timer = detachedFromTrace(() =>
      setTimeout(() => {
        worker.timer = undefined;
        this.#dispatchGuarded(worker);
      }, ms),
    );
    worker.timer.unref();
  }

  /**
   * A claim the disk refuses must not take the process down (it runs from a timer): the
   * worker looks again later. Claims change rows in place, so a full disk rarely refuses them.
   */
  #dispatchGuarded(worker: Worker): void {
    try {
      this.#dispatch(worker);
    } catch (error) {
      this.#logger.error('Could not claim tasks; trying again shortly', {
        queue: worker.config.name,
        error: errorMessage(storageError(error)),
      });
      this.#sleep(worker, this.#nextStorageRetryMs());
    }
  }

  #nextStorageRetryMs(): number {
    this.#storageRetryMs = Math.min(
      STORAGE_RETRY_MS.max,
      this.#storageRetryMs === 0 ? STORAGE_RETRY_MS.first : this.#storageRetryMs * 2,
    );
    return this.#storageRetryMs;
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
    const leaseUntil = now + config.timeoutMs;
    let claimed: ClaimedTask[];
    let heldBack = false;
    /** When the first key held back by a deferred task may go again (its gate usually wakes it sooner). */
    let unblockAt = Number.POSITIVE_INFINITY;
    if (worker.keyed) {
      const held = new Set<string>();
      const ready = this.#table.readyByKey(config.name, want, now).filter((r) => {
        const until = this.#blockedUntil(worker, r.key, now);
        if (until === undefined) return true;
        held.add(r.key);
        if (r.seqs.length > 0) unblockAt = Math.min(unblockAt, until);
        return false;
      });
      const capacity = Math.min(config.rateLimits.maxConcurrentDispatches, rate);
      const seqs = worker.fair.pick(
        ready,
        { slots, tokens: worker.tokens, limit: CLAIM_BATCH },
        capacity,
        now,
        held,
      );
      heldBack = seqs.length < want && ready.reduce((n, r) => n + r.seqs.length, 0) > seqs.length;
      claimed = this.#table.claimSeqs(seqs, now, leaseUntil);
    } else {
      claimed = this.#table.claim(config.name, want, now, leaseUntil);
    }
    worker.tokens -= claimed.length;
    for (const task of claimed) this.#run(worker, task);
    if (claimed.length === want) {
      this.#wake(worker);
      return;
    }
    if (heldBack) {
      // Ready work left for the headroom: look again when the next token comes (a completion also wakes us).
      this.#sleep(worker, Math.max(1, Math.ceil(1000 / rate)));
      return;
    }
    // Ready tasks of blocked keys are not due for us: sleep until the next task that is, not a 1 ms spin.
    const next = Number.isFinite(unblockAt)
      ? Math.min(unblockAt, this.#table.nextRunAfter(config.name, now) ?? Number.POSITIVE_INFINITY)
      : this.#table.nextRunAt(config.name);
    this.#sleep(
      worker,
      next === null || !Number.isFinite(next)
        ? IDLE_POLL_MS
        : Math.min(IDLE_POLL_MS, Math.max(1, next - now)),
    );
    if (claimed.length === 0) this.#checkIdle();
  }

  /** Until when a key is held back (its last task was deferred on a gate), or undefined when it is not. */
  #blockedUntil(worker: Worker, key: string, now: number): number | undefined {
    if (worker.woken.has(key)) return undefined;
    const until = worker.blocked.get(key);
    if (until === undefined) return undefined;
    if (until > now) return until;
    worker.blocked.delete(key);
    return undefined;
  }

  #run(worker: Worker, task: ClaimedTask): void {
    worker.inFlight++;
    const wakesAtStart = this.#wakes;
    if (task.fairKey !== null) {
      // One woken task of its key is on its way (or another of the key went first: it is not held back either).
      const left = (worker.woken.get(task.fairKey) ?? 0) - 1;
      if (left > 0) worker.woken.set(task.fairKey, left);
      else worker.woken.delete(task.fairKey);
    }
    const info: TaskInfo = {
      queue: worker.config.name,
      id: task.id,
      attempt: task.attempts,
      maxAttempts: task.maxAttempts,
      ...(task.traceparent === null ? {} : { traceparent: task.traceparent }),
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new RetryableError(`Task timed out after ${worker.config.timeoutMs} ms`)),
        worker.config.timeoutMs,
      );
      timer.unref();
    });
    const attempt = inHandler.run(true, async () =>
      worker.handler(JSON.parse(task.payload) as unknown, info),
    );
    Promise.race([attempt, timeout])
      .then(
        () => this.#settle({ worker, task, error: undefined, wakesAtStart }),
        (error: unknown) =>
          this.#settle({ worker, task, error: error ?? new Error('task failed'), wakesAtStart }),
      )
      .finally(() => clearTimeout(timer));
  }

  #settle(completion: Completion): void {
    completion.worker.inFlight--;
    this.#completions.push(completion);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      detachedFromTrace(() => setImmediate(() => this.#flush()));
    }
  }

  /** Group commit: settles every finished attempt in one SQLite transaction. */
  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#completions;
    if (batch.length === 0 && this.#unsettled.length === 0) return;
    this.#completions = [];
    const now = this.#clock.now();
    const late: Array<{ worker: Worker; key: string }> = [];
    const results = batch.map(({ worker, task, error, wakesAtStart }) => {
      // What is logged about a failed attempt names the task's trace.
      const outcome = inCarriedTrace(task.traceparent ?? undefined, () =>
        this.#outcome(worker, task, error, now, wakesAtStart),
      );
      if (outcome.kind === 'defer' && task.fairKey !== null) {
        if (outcome.gate !== null) worker.blocked.set(task.fairKey, outcome.runAt);
        else if (outcome.runAt <= now) late.push({ worker, key: task.fairKey });
      }
      return { task, outcome };
    });
    // A task going again at once (a late wake) lets its key go, whatever its siblings' deferrals said.
    for (const { worker, key } of late) markWoken(worker, key);
    const recovered = this.#unsettled.length > 0;
    const settling = this.#unsettled.concat(results);
    try {
      this.#table.settle(settling, now);
    } catch (error) {
      this.#keepUnsettled(settling, error);
      return;
    }
    this.#unsettled = [];
    for (const { outcome } of settling)
      if (outcome.kind === 'defer' && outcome.gate !== null) this.#parkedGates.add(outcome.gate);
    // The disk is back only when the work that wrote found room, not when a commit of its deferrals did.
    if (!batch.some((c) => storageError(c.error) instanceof StorageFullError)) this.#storageRetryMs = 0;
    // Outcomes kept through a full disk belong to any queue: all of them look again.
    const touched = recovered ? new Set(this.#workers.values()) : new Set(batch.map((c) => c.worker));
    for (const worker of touched) this.#wake(worker);
    this.#checkIdle();
  }

  /**
   * A group commit the disk refused (it runs from a timer: throwing would end the process).
   * The outcomes are kept and written with a later commit; nothing acknowledged is lost.
   */
  #keepUnsettled(settling: Array<{ task: ClaimedTask; outcome: TaskOutcome }>, error: unknown): void {
    this.#unsettled = settling;
    const retryInMs = this.#nextStorageRetryMs();
    this.#logger.error('Could not record finished tasks; keeping them to record shortly', {
      tasks: settling.length,
      retryInMs,
      error: errorMessage(storageError(error)),
    });
    if (this.#storageRetry) clearTimeout(this.#storageRetry);
    this.#storageRetry = detachedFromTrace(() =>
      setTimeout(() => {
        this.#storageRetry = undefined;
        this.#flush();
      }, retryInMs),
    );
    this.#storageRetry.unref();
  }

  /** Takes a wake of `gate` that came while this attempt ran (so it may have been meant for it). */
  #takeLateWake(gate: string, wakesAtStart: number, now: number): boolean {
    const late = this.#lateWakes.get(gate);
    if (!late || late.seq <= wakesAtStart) return false;
    if (now - late.at > LATE_WAKE_MS || late.count <= 0) {
      this.#lateWakes.delete(gate);
      return false;
    }
    if (--late.count === 0) this.#lateWakes.delete(gate);
    return true;
  }

  #pruneLateWakes(now: number): void {
    for (const [gate, late] of this.#lateWakes)
      if (now - late.at > LATE_WAKE_MS) this.#lateWakes.delete(gate);
  }

  /** What a finished attempt means: done, another try after a backoff, or the dead-letter place. */
  #outcome(
    worker: Worker,
    task: ClaimedTask,
    error: unknown,
    now: number,
    wakesAtStart: number,
  ): TaskOutcome {
    if (error === undefined) return { kind: 'done' };
    if (storageError(error) instanceof StorageFullError) {
      // Retrying cannot help until space is freed, and the task is not at fault: it waits
      // without spending an attempt, so a long full disk dead-letters nothing.
      this.#logger.warn('Task could not write: storage full; will run again', {
        queue: worker.config.name,
        taskId: task.id,
      });
      return { kind: 'defer', runAt: now + this.#nextStorageRetryMs(), gate: null };
    }
    if (error instanceof DeferError) {
      if (error.gate !== undefined && this.#takeLateWake(error.gate, wakesAtStart, now)) {
        // Its gate was freed while this attempt was on its way to park: it goes again now, unparked, as a
        // parked task would on that wake.
        return { kind: 'defer', runAt: now, gate: null };
      }
      // A parked task is woken by its gate; its own delay is the fallback, so it starts long.
      const fallback = deferDelayMs(task.deferrals + (error.gate ? 4 : 0), this.#random);
      return { kind: 'defer', runAt: now + Math.max(error.delayMs, fallback), gate: error.gate ?? null };
    }
    const message = errorMessage(error).slice(0, 4000);
    const fields = { queue: worker.config.name, taskId: task.id, attempt: task.attempts, error: message };
    if (!isRetryable(error) || task.attempts >= task.maxAttempts) {
      this.#logger.error('Task dead-lettered', fields);
      return { kind: 'dead', error: message };
    }
    const delay =
      error instanceof RetryAfterError
        ? error.retryAfterMs
        : backoffMs(worker.config.retry, task.attempts, this.#random);
    this.#logger.warn('Task failed; will retry', { ...fields, retryInMs: delay });
    return { kind: 'retry', runAt: now + delay, error: message };
  }
}

/**
 * A task's place in its queue's due order: its schedule time while that is
 * ahead; once due, the earlier of when it became due and its `order`, so a
 * task ordered before others that are due goes first (EnqueueOptions.order).
 */
function dueAt(opts: Pick<EnqueueOptions, 'scheduleTime' | 'order'>, now: number): number {
  const due = Math.max(opts.scheduleTime ?? now, 0);
  return due > now ? due : Math.max(0, Math.min(due, opts.order ?? due));
}

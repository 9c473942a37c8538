/**
 * The task table: every SQL statement the embedded queue runs, and nothing
 * about scheduling. A row moves pending → leased → done | dead; a lease names
 * its owner and attempt, so an answer from a holder that lost its lease
 * changes nothing.
 */
import type { DatabaseSync, SQLInputValue, StatementResultingChanges, StatementSync } from 'node:sqlite';
import type { QueueStats } from '../../platform/ports.js';
import { inTransaction, storageError } from './sqlite.js';

export interface ClaimedTask {
  seq: number;
  id: string;
  payload: string;
  /** Counting this one. */
  attempts: number;
  maxAttempts: number;
  /** Times this task was deferred (DeferError) before this dispatch. */
  deferrals: number;
  fairKey: string | null;
  /** The trace of the work that enqueued the task. */
  traceparent: string | null;
}

export type TaskOutcome =
  | { kind: 'done' }
  | { kind: 'retry'; runAt: number; error: string }
  | { kind: 'dead'; error: string }
  /** Not run after all: back to pending without counting the attempt, parked on `gate` until woken or `runAt`. */
  | { kind: 'defer'; runAt: number; gate: string | null };

export interface DeadTask {
  queue: string;
  id: string;
  payload: unknown;
  attempts: number;
  lastError: string | null;
  updatedAt: number;
}

export interface NewTask {
  queue: string;
  id: string;
  json: string;
  maxAttempts: number;
  runAt: number;
  orderingKey: string | null;
  fairKey: string | null;
  fairWeight: number;
  /** The queue's priority class, 0 (high) to 3 (batch): the order in which deferred tasks wake. */
  priority: number;
  /** Its order among due tasks (EnqueueOptions.order), kept so a deferred task woken goes back to its place. */
  rank: number | null;
  traceparent: string | null;
}

const LEASE_LOST = 'lease expired: the worker stopped or timed out';
/** A claimed row, with its columns named as the queue names them: SQL's names stay in this file. */
const RETURNED =
  'seq, id, payload, attempts, max_attempts AS maxAttempts, deferrals, fair_key AS fairKey, traceparent';

export class TaskTable {
  readonly #db: DatabaseSync;
  readonly #owner: string;
  readonly #sql: Record<
    | 'insert'
    | 'claim'
    | 'claimOrdered'
    | 'hasOrdered'
    | 'done'
    | 'retry'
    | 'dead'
    | 'defer'
    | 'fairKeys'
    | 'fairHeads'
    | 'claimSeqs'
    | 'wake'
    | 'parkedGates'
    | 'keyedProbe'
    | 'keyUnkeyed'
    | 'ownedLeases'
    | 'release'
    | 'leasedProbe'
    | 'readyProbe'
    | 'nextRunAt'
    | 'nextRunAfter'
    | 'stats',
    StatementSync
  >;

  /** `owner` names this process's leases; one runtime per file, so any other owner's lease is an orphan. */
  constructor(db: DatabaseSync, owner: string) {
    this.#db = db;
    this.#owner = owner;
    const claim = (ordered: boolean) => `
      UPDATE tasks SET state = 'leased', lease_until = ?, lease_owner = ?, attempts = attempts + 1, gate = NULL, updated_at = ?
      WHERE seq IN (
        SELECT seq FROM tasks t WHERE queue = ? AND state = 'pending' AND run_at <= ?
        ${ordered ? `AND (ordering_key IS NULL OR NOT EXISTS (SELECT 1 FROM tasks e WHERE e.queue = t.queue AND e.ordering_key = t.ordering_key AND e.state IN ('pending', 'leased') AND e.seq < t.seq))` : ''}
        ORDER BY run_at, seq LIMIT ?)
      RETURNING ${RETURNED}`;
    const mine = `seq = ? AND state = 'leased' AND lease_owner = ? AND attempts = ?`;
    this.#sql = {
      insert: db.prepare(
        `INSERT INTO tasks (queue, id, payload, state, attempts, max_attempts, run_at, ordering_key, fair_key, fair_weight, priority, traceparent, rank, created_at, updated_at)
         VALUES (?, ?, ?, 'pending', 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (queue, id) DO NOTHING`,
      ),
      claim: db.prepare(claim(false)),
      claimOrdered: db.prepare(claim(true)),
      hasOrdered: db.prepare(
        `SELECT 1 FROM tasks WHERE queue = ? AND ordering_key IS NOT NULL AND state = 'pending' LIMIT 1`,
      ),
      done: db.prepare(
        `UPDATE tasks SET state = 'done', lease_until = NULL, lease_owner = NULL, last_error = NULL, updated_at = ? WHERE ${mine}`,
      ),
      retry: db.prepare(
        `UPDATE tasks SET state = 'pending', run_at = ?, lease_until = NULL, lease_owner = NULL, last_error = ?, updated_at = ? WHERE ${mine}`,
      ),
      dead: db.prepare(
        `UPDATE tasks SET state = 'dead', lease_until = NULL, lease_owner = NULL, last_error = ?, updated_at = ? WHERE ${mine}`,
      ),
      defer: db.prepare(
        `UPDATE tasks SET state = 'pending', attempts = attempts - 1, deferrals = deferrals + 1, run_at = ?, gate = ?, lease_until = NULL, lease_owner = NULL, updated_at = ? WHERE ${mine}`,
      ),
      // The keys with pending work, one index seek each (a skip scan over tasks_fair).
      fairKeys: db.prepare(
        `WITH RECURSIVE k(key) AS (
           SELECT (SELECT min(fair_key) FROM tasks WHERE queue = ?1 AND state = 'pending' AND fair_key IS NOT NULL)
           UNION ALL
           SELECT (SELECT min(fair_key) FROM tasks WHERE queue = ?1 AND state = 'pending' AND fair_key > k.key)
           FROM k WHERE k.key IS NOT NULL)
         SELECT key FROM k WHERE key IS NOT NULL`,
      ),
      fairHeads: db.prepare(
        `SELECT seq, fair_weight AS weight FROM tasks
         WHERE queue = ? AND state = 'pending' AND fair_key = ? AND run_at <= ? ORDER BY run_at, seq LIMIT ?`,
      ),
      claimSeqs: db.prepare(
        `UPDATE tasks SET state = 'leased', lease_until = ?, lease_owner = ?, attempts = attempts + 1, gate = NULL, updated_at = ?
         WHERE seq IN (SELECT value FROM json_each(?)) AND state = 'pending'
         RETURNING ${RETURNED}`,
      ),
      parkedGates: db.prepare(`SELECT DISTINCT gate FROM tasks WHERE gate IS NOT NULL AND state = 'pending'`),
      wake: db.prepare(
        `UPDATE tasks SET run_at = min(?1, coalesce(rank, ?1)) WHERE seq IN (
           SELECT seq FROM tasks WHERE gate = ?2 AND state = 'pending' AND run_at > ?1 ORDER BY priority, rank, seq LIMIT ?3)
         RETURNING queue, fair_key AS fairKey`,
      ),
      keyedProbe: db.prepare(
        `SELECT 1 FROM tasks WHERE queue = ? AND state = 'pending' AND fair_key IS NOT NULL LIMIT 1`,
      ),
      keyUnkeyed: db.prepare(
        `UPDATE tasks SET fair_key = '' WHERE queue = ? AND state = 'pending' AND fair_key IS NULL`,
      ),
      ownedLeases: db.prepare(`SELECT seq FROM tasks WHERE state = 'leased' AND lease_owner = ?`),
      release: db.prepare(
        `UPDATE tasks SET state = 'pending', attempts = attempts - 1, run_at = ?, lease_until = NULL, lease_owner = NULL, updated_at = ?
         WHERE seq = ? AND state = 'leased' AND lease_owner = ?`,
      ),
      leasedProbe: db.prepare(`SELECT 1 FROM tasks WHERE queue = ? AND state = 'leased' LIMIT 1`),
      readyProbe: db.prepare(
        `SELECT 1 FROM tasks WHERE queue = ? AND state = 'pending' AND run_at <= ? LIMIT 1`,
      ),
      nextRunAt: db.prepare(`SELECT min(run_at) AS at FROM tasks WHERE queue = ? AND state = 'pending'`),
      nextRunAfter: db.prepare(
        `SELECT min(run_at) AS at FROM tasks WHERE queue = ? AND state = 'pending' AND run_at > ?`,
      ),
      stats: db.prepare(
        // A task ordered before its enqueue (EnqueueOptions.order) has waited since its enqueue, not since its order.
        `SELECT state, count(*) AS n, min(CASE WHEN run_at <= ? THEN max(run_at, created_at) END) AS oldest
         FROM tasks WHERE queue = ? AND state IN ('pending', 'leased', 'dead') GROUP BY state`,
      ),
    };
  }

  /** Returns false when a task with this id is already in the queue (done ones included): the dedupe. */
  insert(task: NewTask, now: number): boolean {
    const info = this.#run(
      this.#sql.insert,
      task.queue,
      task.id,
      task.json,
      task.maxAttempts,
      task.runAt,
      task.orderingKey,
      task.fairKey,
      task.fairWeight,
      task.priority,
      task.traceparent,
      task.rank,
      now,
      now,
    );
    return Number(info.changes) > 0;
  }

  /** Runs a statement on its own (outside a transaction): a full disk comes out as StorageFullError. */
  #run(statement: StatementSync, ...params: SQLInputValue[]): StatementResultingChanges {
    try {
      return statement.run(...params);
    } catch (error) {
      throw storageError(error);
    }
  }

  /** Leases up to `limit` ready tasks in one statement, oldest first, holding back later tasks of a busy ordering key. */
  claim(queue: string, limit: number, now: number, leaseUntil: number): ClaimedTask[] {
    const stmt = this.#sql.hasOrdered.get(queue) ? this.#sql.claimOrdered : this.#sql.claim;
    const rows = stmt.all(leaseUntil, this.#owner, now, queue, now, limit) as unknown as ClaimedTask[];
    return rows.sort((a, b) => a.seq - b.seq);
  }

  /** Whether the queue has pending tasks with a fairness key (checked once, at start). */
  hasKeyed(queue: string): boolean {
    return Boolean(this.#sql.keyedProbe.get(queue));
  }

  /** Gives the queue's pending tasks without a key the empty key, once the queue turns fair. */
  keyUnkeyed(queue: string): void {
    this.#sql.keyUnkeyed.run(queue);
  }

  /** Up to `perKey` ready tasks of every key with pending work, oldest first, with the key's weight. */
  readyByKey(
    queue: string,
    perKey: number,
    now: number,
  ): Array<{ key: string; weight: number; seqs: number[] }> {
    const keys = this.#sql.fairKeys.all(queue) as Array<{ key: string }>;
    const ready: Array<{ key: string; weight: number; seqs: number[] }> = [];
    for (const { key } of keys) {
      const rows = this.#sql.fairHeads.all(queue, key, now, perKey) as Array<{ seq: number; weight: number }>;
      if (rows.length > 0) ready.push({ key, weight: rows[0]?.weight ?? 1, seqs: rows.map((r) => r.seq) });
    }
    return ready;
  }

  /** Leases the given tasks (still pending ones only), in the order given. */
  claimSeqs(seqs: readonly number[], now: number, leaseUntil: number): ClaimedTask[] {
    if (seqs.length === 0) return [];
    const rows = this.#sql.claimSeqs.all(
      leaseUntil,
      this.#owner,
      now,
      JSON.stringify(seqs),
    ) as unknown as ClaimedTask[];
    const order = new Map(seqs.map((seq, i) => [seq, i]));
    return rows.sort((a, b) => (order.get(a.seq) ?? 0) - (order.get(b.seq) ?? 0));
  }

  /** Every gate a pending task is parked on (the queue's cache of them starts here). */
  parkedGates(): string[] {
    return (this.#sql.parkedGates.all() as Array<{ gate: string }>).map((row) => row.gate);
  }

  /** Makes up to `count` tasks deferred on `gate` ready now, highest priority then oldest first; returns which. */
  wake(gate: string, count: number, now: number): Array<{ queue: string; fairKey: string | null }> {
    if (count <= 0) return [];
    return this.#sql.wake.all(now, gate, count) as Array<{ queue: string; fairKey: string | null }>;
  }

  /** Records many finished attempts in one transaction: the group commit. */
  settle(results: Array<{ task: ClaimedTask; outcome: TaskOutcome }>, now: number): void {
    inTransaction(this.#db, () => {
      for (const { task, outcome } of results) {
        const key = [task.seq, this.#owner, task.attempts] as const;
        if (outcome.kind === 'done') this.#sql.done.run(now, ...key);
        else if (outcome.kind === 'dead') this.#sql.dead.run(outcome.error, now, ...key);
        else if (outcome.kind === 'defer') this.#sql.defer.run(outcome.runAt, outcome.gate, now, ...key);
        else this.#sql.retry.run(outcome.runAt, outcome.error, now, ...key);
      }
    });
  }

  /** Hands back this process's leases without counting the attempt (a graceful stop). */
  releaseOwned(now: number): number {
    return inTransaction(this.#db, () => {
      let released = 0;
      for (const row of this.#sql.ownedLeases.all(this.#owner) as Array<{ seq: number }>) {
        released += Number(this.#sql.release.run(now, now, row.seq, this.#owner).changes);
      }
      return released;
    });
  }

  /** Leases past their time, or held by an owner that is gone: the attempt counts as failed. */
  recoverExpired(now: number): { recovered: number; deadened: number } {
    return inTransaction(this.#db, () => {
      const expired = `state = 'leased' AND (lease_until < ? OR lease_owner != ?)`;
      const deadened = Number(
        this.#db
          .prepare(
            `UPDATE tasks SET state = 'dead', last_error = coalesce(last_error || ' | ', '') || '${LEASE_LOST}', lease_owner = NULL, lease_until = NULL, updated_at = ?
             WHERE ${expired} AND attempts >= max_attempts`,
          )
          .run(now, now, this.#owner).changes,
      );
      const recovered = Number(
        this.#db
          .prepare(
            `UPDATE tasks SET state = 'pending', run_at = ?, last_error = '${LEASE_LOST}', lease_owner = NULL, lease_until = NULL, updated_at = ?
             WHERE ${expired}`,
          )
          .run(now, now, now, this.#owner).changes,
      );
      return { recovered, deadened };
    });
  }

  /** Deletes finished tasks older than `before`, in bounded batches. */
  purgeDone(before: number): number {
    return Number(
      this.#db
        .prepare(
          `DELETE FROM tasks WHERE seq IN (SELECT seq FROM tasks WHERE state = 'done' AND updated_at < ? LIMIT 5000)`,
        )
        .run(before).changes,
    );
  }

  /** Whether anything in the queue is running or ready to run: one indexed probe each. */
  busy(queue: string, now: number): boolean {
    return Boolean(this.#sql.leasedProbe.get(queue) || this.#sql.readyProbe.get(queue, now));
  }

  nextRunAt(queue: string): number | null {
    return (this.#sql.nextRunAt.get(queue) as { at: number | null }).at;
  }

  /** The earliest run time after `now` of a pending task (ready ones left out). */
  nextRunAfter(queue: string, now: number): number | null {
    return (this.#sql.nextRunAfter.get(queue, now) as { at: number | null }).at;
  }

  stats(queue: string, now: number): QueueStats {
    const rows = this.#sql.stats.all(now, queue) as Array<{
      state: string;
      n: number;
      oldest: number | null;
    }>;
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

  listDead(queue: string | undefined, limit: number): DeadTask[] {
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
  replayDead(queue: string, id: string, now: number): boolean {
    const info = this.#db
      .prepare(
        `UPDATE tasks SET state = 'pending', attempts = 0, run_at = ?, updated_at = ? WHERE queue = ? AND id = ? AND state = 'dead'`,
      )
      .run(now, now, queue, id);
    return Number(info.changes) > 0;
  }
}

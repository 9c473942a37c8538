/**
 * The embedded runtime's one SQLite file: documents, the event log, the
 * task table and blob metadata live together, so a document write, the change it publishes and
 * the tasks it enqueues commit atomically.
 *
 * Schema changes are numbered migrations. A file from a newer Seraphim, a
 * file that is not Seraphim's, a damaged file, or an empty one where a
 * database was expected stops start-up with a clear message: data is never
 * silently recreated or dropped. Query indexes are not migrations: they are
 * derived from firestore.indexes.json each time the file opens
 * (document-indexes.ts).
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { StorageFullError } from '../../platform/errors.js';
import { type IndexSpec, loadIndexSpec, syncDerivedIndexes } from './document-indexes.js';

/** "SRPH" as an int: marks the file as ours. */
const APPLICATION_ID = 0x53525048;

const MIGRATIONS: readonly string[] = [
  // 1: the foundation
  `
  CREATE TABLE documents (
    path TEXT PRIMARY KEY,
    parent TEXT NOT NULL,
    id TEXT NOT NULL,
    data TEXT NOT NULL,
    version INTEGER NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX documents_parent ON documents (parent, id);

  CREATE TABLE events (
    "offset" INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    topic TEXT NOT NULL,
    data TEXT NOT NULL,
    attributes TEXT NOT NULL,
    ordering_key TEXT,
    publish_time INTEGER NOT NULL
  );
  CREATE INDEX events_topic ON events (topic, "offset");

  CREATE TABLE subscriptions (
    name TEXT PRIMARY KEY,
    topic TEXT NOT NULL,
    cursor INTEGER NOT NULL,
    generation INTEGER NOT NULL DEFAULT 0
  );

  CREATE TABLE tasks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    id TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'leased', 'done', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_at INTEGER NOT NULL,
    ordering_key TEXT,
    lease_until INTEGER,
    lease_owner TEXT,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (queue, id)
  );
  CREATE INDEX tasks_ready ON tasks (queue, state, run_at, seq);
  CREATE INDEX tasks_ordering ON tasks (queue, ordering_key, seq) WHERE ordering_key IS NOT NULL;
  CREATE INDEX tasks_lease ON tasks (state, lease_until) WHERE state = 'leased';
  `,
  // 2: fair dispatch across keys (workspaces), and tasks deferred in place until a gate wakes them
  `
  ALTER TABLE tasks ADD COLUMN fair_key TEXT;
  ALTER TABLE tasks ADD COLUMN fair_weight REAL NOT NULL DEFAULT 1;
  ALTER TABLE tasks ADD COLUMN priority INTEGER NOT NULL DEFAULT 1;
  ALTER TABLE tasks ADD COLUMN gate TEXT;
  ALTER TABLE tasks ADD COLUMN deferrals INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX tasks_fair ON tasks (queue, state, fair_key, run_at, seq) WHERE fair_key IS NOT NULL;
  CREATE INDEX tasks_gate ON tasks (gate, priority, seq) WHERE gate IS NOT NULL;
  `,
  // 3: tracing: the trace a task continues, and the recent spans (spans.ts), kept for a waterfall
  `
  ALTER TABLE tasks ADD COLUMN traceparent TEXT;
  CREATE TABLE spans (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    trace_id TEXT NOT NULL,
    span_id TEXT NOT NULL,
    parent_span_id TEXT,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    start_us INTEGER NOT NULL,
    end_us INTEGER NOT NULL,
    status TEXT NOT NULL,
    status_message TEXT,
    attributes TEXT NOT NULL,
    recorded_at INTEGER NOT NULL
  );
  CREATE INDEX spans_trace ON spans (trace_id, start_us);
  `,
  // 4: blob metadata; the content is a file under <dataDir>/blobs/data named by \`file\`
  `
  CREATE TABLE blobs (
    path TEXT PRIMARY KEY,
    file TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // 5: collection groups (queryGroup): a document's collection id, the parent path's last segment,
  // and the recovery sweep's index on an execution's lease expiry (\`recoverAt\`, executions/recovery.ts)
  `
  ALTER TABLE documents ADD COLUMN collection TEXT
    GENERATED ALWAYS AS (replace(parent, rtrim(parent, replace(parent, '/', '')), '')) VIRTUAL;
  CREATE INDEX documents_collection ON documents (collection, path);
  CREATE INDEX documents_recover_at ON documents (collection, json_extract(data, '$.recoverAt'), path)
    WHERE json_extract(data, '$.recoverAt') IS NOT NULL;
  `,
  // 6: a task's order among due tasks (EnqueueOptions.order): a deferred task woken keeps its place
  `
  ALTER TABLE tasks ADD COLUMN rank INTEGER;
  DROP INDEX tasks_gate;
  CREATE INDEX tasks_gate ON tasks (gate, priority, rank, seq) WHERE gate IS NOT NULL;
  `,
  // 7: query indexes are derived from firestore.indexes.json at open (document-indexes.ts), the
  // recovery sweep's among them
  `
  DROP INDEX IF EXISTS documents_recover_at;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export class DatabaseStateError extends Error {
  override name = 'DatabaseStateError';
}

const SQLITE_CORRUPT = 11;
const SQLITE_FULL = 13;
const SQLITE_NOTADB = 26;

/** The primary SQLite result code of an error node:sqlite threw (`errcode` carries extended codes too). */
export function sqliteErrorCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('errcode' in error)) return undefined;
  return typeof error.errcode === 'number' ? error.errcode & 0xff : undefined;
}

/**
 * A full disk (SQLITE_FULL: ENOSPC, or `max_page_count` reached) as the
 * platform's StorageFullError, so a request answers 507 and a task waits
 * without spending an attempt; any other error is returned as it is.
 */
export function storageError(error: unknown): unknown {
  if (sqliteErrorCode(error) !== SQLITE_FULL) return error;
  return new StorageFullError(
    'The disk holding the database is full: nothing was written. Free some space; work resumes by itself.',
    { cause: error },
  );
}

export interface OpenOptions {
  /** `:memory:` for tests that need no file. */
  file: string;
  /**
   * WAL with synchronous=NORMAL survives a killed process (every commit is in
   * the WAL); FULL also survives power loss, at a cost per commit.
   * @default 'NORMAL'
   */
  synchronous?: 'NORMAL' | 'FULL';
  /** Migrates only this far: for tests of what a later migration does to an older file. @default SCHEMA_VERSION */
  schemaVersion?: number;
  /** What the query indexes derive from. @default firestore.indexes.json at the repository root */
  indexes?: IndexSpec;
  /**
   * Why the file must already hold a database (its folder has been used
   * before: the runtime names what it found). An empty file is then refused
   * rather than started as a new, empty database. @default undefined (a first start may create it)
   */
  usedBefore?: string;
}

export function openDatabase(opts: OpenOptions): DatabaseSync {
  const onDisk = opts.file !== ':memory:';
  if (onDisk) {
    mkdirSync(dirname(opts.file), { recursive: true });
    if (opts.usedBefore !== undefined) refuseEmpty(opts.file, opts.usedBefore);
  }
  const db = new DatabaseSync(opts.file, { timeout: 5000 });
  try {
    // Before anything writes: a damaged file is refused exactly as it was found.
    if (onDisk) checkIntegrity(db, opts.file);
    db.exec('PRAGMA journal_mode = WAL');
    db.exec(`PRAGMA synchronous = ${opts.synchronous ?? 'NORMAL'}`);
    db.exec('PRAGMA foreign_keys = ON');
    const target = opts.schemaVersion ?? SCHEMA_VERSION;
    migrate(db, opts.file, target);
    // Derived indexes name columns of the current schema: an older one (tests) goes without.
    if (target === SCHEMA_VERSION) syncDerivedIndexes(db, opts.indexes ?? loadIndexSpec());
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/** A zero-length file where a database was: a truncation or a failed copy, never a first start. */
function refuseEmpty(file: string, usedBefore: string): void {
  if (!existsSync(file) || statSync(file).size > 0) return;
  throw new DatabaseStateError(
    `${file} is empty, but this data folder has been used before (${usedBefore}): its database was lost, ` +
      'and starting would begin again with no data. Nothing was changed. Restore seraphim.db from a backup; ' +
      'to start afresh on purpose, move the whole data folder aside.',
  );
}

/**
 * SQLite's quick_check: every page of every b-tree is read and checked
 * (indexes are not compared with their tables: that is integrity_check, far
 * slower). 0.15 to 0.2 s for a 110 MB file on a warm cache (a cold start also reads the file
 * from disk once); it stops at the first fault.
 */
function checkIntegrity(db: DatabaseSync, file: string): void {
  let fault: string | undefined;
  try {
    const rows = db.prepare('PRAGMA quick_check(1)').all() as Array<Record<string, unknown>>;
    const first = String(Object.values(rows[0] ?? {})[0] ?? 'no answer');
    // quick_check's first line names the schema ("*** in database main ***"); the fault is what follows.
    if (first !== 'ok') fault = first.replace(/^\*\*\* in database \w+ \*\*\*\s*/, '').replace(/\s+/g, ' ');
  } catch (error) {
    const code = sqliteErrorCode(error);
    if (code !== SQLITE_CORRUPT && code !== SQLITE_NOTADB) throw error;
    fault = error instanceof Error ? error.message : String(error);
  }
  if (fault === undefined) return;
  throw new DatabaseStateError(
    `${file} is damaged (SQLite's integrity check: ${fault}). Seraphim will not run on it, so nothing was changed. ` +
      `Restore seraphim.db from a backup, or salvage what it holds with \`sqlite3 ${file} .recover\` into a new file.`,
  );
}

function pragmaNumber(db: DatabaseSync, name: string): number {
  const row = db.prepare(`PRAGMA ${name}`).get() as Record<string, number> | undefined;
  return Number(row?.[name] ?? 0);
}

function migrate(db: DatabaseSync, file: string, target: number): void {
  const appId = pragmaNumber(db, 'application_id');
  const version = pragmaNumber(db, 'user_version');
  const tables = db.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'`).get() as {
    n: number;
  };
  if (appId !== APPLICATION_ID && (tables.n > 0 || version > 0)) {
    throw new DatabaseStateError(
      `${file} is not a Seraphim database (it has other tables). Point SERAPHIM_DATA_DIR at an empty folder; nothing was changed.`,
    );
  }
  if (version > SCHEMA_VERSION) {
    throw new DatabaseStateError(
      `${file} was written by a newer Seraphim (schema ${version}); this build understands up to schema ${SCHEMA_VERSION}. ` +
        'Upgrade Seraphim, or point SERAPHIM_DATA_DIR elsewhere. Nothing was changed.',
    );
  }
  for (let next = version + 1; next <= target; next++) {
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec(MIGRATIONS[next - 1] as string);
      db.exec(`PRAGMA application_id = ${APPLICATION_ID}`);
      db.exec(`PRAGMA user_version = ${next}`);
      db.exec('COMMIT');
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw storageError(error);
    }
  }
}

/**
 * Runs `fn` inside BEGIN IMMEDIATE … COMMIT. `fn` must be synchronous: nothing else may interleave.
 * A full disk comes out as StorageFullError.
 */
export function inTransaction<T>(db: DatabaseSync, fn: () => T): T {
  if (db.isTransaction) return fn();
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = fn();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    // SQLite has already rolled back after some errors (SQLITE_FULL among them): a ROLLBACK then
    // throws "no transaction is active", which would hide the real error.
    if (db.isTransaction) db.exec('ROLLBACK');
    throw storageError(error);
  }
}

/**
 * The embedded runtime's one SQLite file: documents, the event log, the
 * task table and blob metadata live together, so a document write, the change it publishes and
 * the tasks it enqueues commit atomically.
 *
 * Schema changes are numbered migrations. A file from a newer Seraphim, or a
 * file that is not Seraphim's, stops start-up with a clear message: data is
 * never silently recreated or dropped. Query indexes are not migrations: they
 * are derived from firestore.indexes.json each time the file opens
 * (document-indexes.ts).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
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
}

export function openDatabase(opts: OpenOptions): DatabaseSync {
  if (opts.file !== ':memory:') mkdirSync(dirname(opts.file), { recursive: true });
  const db = new DatabaseSync(opts.file, { timeout: 5000 });
  try {
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
      db.exec('ROLLBACK');
      throw error;
    }
  }
}

/** Runs `fn` inside BEGIN IMMEDIATE … COMMIT. `fn` must be synchronous: nothing else may interleave. */
export function inTransaction<T>(db: DatabaseSync, fn: () => T): T {
  if (db.isTransaction) return fn();
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = fn();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}

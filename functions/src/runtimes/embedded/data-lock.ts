/**
 * One runtime per data folder: two processes draining one queue file would
 * steal each other's leases.
 *
 * The lock is an OS lock, not a pid in a file: `<dataDir>/seraphim.lock` is a
 * small SQLite file whose write lock (a POSIX advisory lock SQLite takes) is
 * held by a transaction left open for the process's life. The kernel drops
 * it the moment the process dies, even while the process lingers as a zombie
 * nobody has reaped, and no pid is ever compared (a container's runtime is
 * pid 1 on every start). SQLite also keeps two connections of one process
 * apart, so a second runtime in the same process is refused too.
 *
 * The holder's pid and start time are written for the refusal message only.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { z } from 'zod';
import { DatabaseStateError, sqliteErrorCode } from './sqlite.js';

export const LOCK_FILE = 'seraphim.lock';

const SQLITE_BUSY = 5;
const SQLITE_CORRUPT = 11;
const SQLITE_NOTADB = 26;

const HolderSchema = z.object({ pid: z.number().int(), started_at: z.number().int() });

/** The held lock: closing it (or the process ending, however it ends) releases it. */
export interface DataDirLock {
  release(): void;
}

export function acquireDataDirLock(dataDir: string, now: number = Date.now()): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, LOCK_FILE);
  try {
    return lockFile(file, dataDir, now);
  } catch (error) {
    const code = sqliteErrorCode(error);
    if (code !== SQLITE_NOTADB && code !== SQLITE_CORRUPT) throw error;
  }
  // An older Seraphim's lock held a pid as text; a lock file a crash tore is as good as none.
  rmSync(file, { force: true });
  return lockFile(file, dataDir, now);
}

function lockFile(file: string, dataDir: string, now: number): DataDirLock {
  // No waiting: a held lock means another runtime, now.
  const db = new DatabaseSync(file, { timeout: 0 });
  try {
    db.exec('PRAGMA synchronous = OFF'); // what it records is for a message; it needs no durability
    db.exec(
      'CREATE TABLE IF NOT EXISTS holder (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, started_at INTEGER NOT NULL)',
    );
    db.exec('BEGIN IMMEDIATE');
    db.prepare('INSERT OR REPLACE INTO holder (id, pid, started_at) VALUES (1, ?, ?)').run(process.pid, now);
    db.exec('COMMIT');
    // The lock itself: a write transaction never ended. Another start that slipped in
    // between the commit and this line holds it instead, and this one is refused.
    db.exec('BEGIN IMMEDIATE');
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    const busy = sqliteErrorCode(error) === SQLITE_BUSY;
    const holder = busy ? readHolder(db) : undefined;
    db.close();
    if (!busy) throw error;
    const who = holder
      ? `pid ${holder.pid}, started ${new Date(holder.started_at).toISOString()}`
      : 'starting just now';
    throw new DatabaseStateError(
      `Another Seraphim is running on this data dir ${dataDir} (${who}). Stop it first, or use another SERAPHIM_DATA_DIR.`,
    );
  }
  return { release: () => db.close() };
}

function readHolder(db: DatabaseSync): z.infer<typeof HolderSchema> | undefined {
  try {
    // The holder may be mid-commit: give it a moment to let go of the file.
    db.exec('PRAGMA busy_timeout = 200');
    const parsed = HolderSchema.safeParse(
      db.prepare('SELECT pid, started_at FROM holder WHERE id = 1').get(),
    );
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

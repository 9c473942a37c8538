/** WAL checkpoints in a worker thread, off the event loop that serves requests and dispatches steps. */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, MemorySink } from '../../platform/logger.js';
import { startTestRuntime } from '../../test-support/embedded.js';
import { openDatabase } from './sqlite.js';
import { BACKSTOP_PAGES, WalCheckpointer } from './wal-checkpointer.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function freshDatabase(): { db: DatabaseSync; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'seraphim-wal-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'seraphim.db');
  const db = openDatabase({ file });
  cleanups.push(() => {
    if (db.isOpen) db.close();
  });
  db.exec('CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  return { db, file };
}

/** `rows` commits of one ~4 KB row each: about a WAL page apiece, and more with the b-tree's. */
function fill(db: DatabaseSync, rows: number, from = 0): void {
  const insert = db.prepare('INSERT INTO filler (id, body) VALUES (?, ?)');
  for (let i = from; i < from + rows; i++) insert.run(i, 'x'.repeat(4000));
}

function autocheckpointMark(db: DatabaseSync): number {
  return Number(
    (db.prepare('PRAGMA wal_autocheckpoint').get() as { wal_autocheckpoint: number }).wal_autocheckpoint,
  );
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('the WAL checkpointer', () => {
  it('defect (issue 9, item 6): commits no longer run the checkpoint at 1,000 pages; a worker copies the WAL back', async () => {
    const { db, file } = freshDatabase();
    const logs = new MemorySink();
    const checkpointer = new WalCheckpointer(db, { file, logger: createLogger({ sink: logs }), everyMs: 10 });
    cleanups.push(() => checkpointer.stop());
    // The main connection checkpoints only at the backstop, far above SQLite's 1,000.
    expect(autocheckpointMark(db)).toBe(BACKSTOP_PAGES);
    fill(db, 600);
    // The worker reports the WAL's frames copied back into the database file (600 commits: over 1,000
    // frames, under the 8,000 at which the WAL starts again).
    await until(() => checkpointer.walPages >= 1000, 'a checkpoint that saw the 600 commits');
    expect(checkpointer.checkpoints).toBeGreaterThan(0);
    await checkpointer.stop();
    // Stopped, the commits checkpoint themselves again, at SQLite's own mark.
    expect(autocheckpointMark(db)).toBe(1000);
    expect(logs.entries.filter((e) => e.severity === 'WARNING')).toEqual([]);
  });

  it('keeps the WAL bounded under writes that never pause: the backstop restarts it', async () => {
    const { db, file } = freshDatabase();
    // A worker that never gets a turn: only the backstop (200 pages here) keeps the WAL from growing.
    const checkpointer = new WalCheckpointer(db, {
      file,
      logger: createLogger({ sink: new MemorySink() }),
      everyMs: 3_600_000,
      backstopPages: 200,
    });
    cleanups.push(() => checkpointer.stop());
    fill(db, 2000);
    // 2,000 commits of over a page each, about 8 MB, in a WAL that restarts after ~200 pages. A restart
    // can be missed while the worker's own connection happens to be reading (a CI run once saw 538
    // pages): the bound is half of what an unbounded WAL would reach, not two restarts' worth.
    expect(statSync(`${file}-wal`).size).toBeLessThan(1000 * 4096);
    expect(Number((db.prepare('SELECT count(*) AS n FROM filler').get() as { n: number }).n)).toBe(2000);
  });

  it('starts the WAL again once it is long and copied back, and truncates the file', async () => {
    const { db, file } = freshDatabase();
    const checkpointer = new WalCheckpointer(db, {
      file,
      logger: createLogger({ sink: new MemorySink() }),
      everyMs: 5,
      restartPages: 200,
    });
    cleanups.push(() => checkpointer.stop());
    // Commits in batches with the event loop free between them, as the runtime writes.
    for (let batch = 0; checkpointer.restarts < 2; batch++) {
      if (batch > 2000) throw new Error('no restart after 2,000 batches');
      fill(db, 20, batch * 20);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    fill(db, 1, 1_000_000);
    // Restarted, the WAL holds only what came after, in a file cut to 200 pages' worth.
    expect(statSync(`${file}-wal`).size).toBeLessThanOrEqual(200 * 4096 * 1.1);
  });

  it('runs while an on-disk runtime runs, and the data survives its stop and a reopen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seraphim-wal-runtime-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const first = await startTestRuntime([], { dataDir: dir });
    const checkpointer = first.runtime.checkpointer;
    expect(checkpointer).toBeDefined();
    for (let i = 0; i < 300; i++)
      await first.runtime.documents.create(`notes/n${i}`, { body: 'y'.repeat(3000) });
    await until(() => (checkpointer?.checkpoints ?? 0) > 0, 'a checkpoint while the runtime runs');
    await first.stop();
    const second = await startTestRuntime([], { dataDir: dir });
    cleanups.push(() => second.stop());
    expect((await second.runtime.documents.get('notes/n299'))?.data).toEqual({ body: 'y'.repeat(3000) });
  });
});

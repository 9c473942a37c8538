/**
 * Start-up refuses a database it cannot trust: pages overwritten with
 * garbage, or a file emptied after the folder was used. A truly first start
 * still begins with an empty database.
 */
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import system from '../../orchestrators/system/index.js';
import { createLogger, MemorySink } from '../../platform/logger.js';
import { startRuntimeProcess } from '../../test-support/runtime-process.js';
import { SqliteDocumentStore } from './documents.js';
import { EmbeddedRuntime } from './runtime.js';
import { DatabaseStateError, openDatabase } from './sqlite.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'seraphim-db-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const start = (dataDir: string) =>
  new EmbeddedRuntime({
    orchestrators: [system],
    dataDir,
    version: 't',
    logger: createLogger({ sink: new MemorySink() }),
  });

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** A database with a few hundred documents, closed cleanly (its WAL folded into the file). */
async function filledDatabase(file: string): Promise<number> {
  const db = openDatabase({ file });
  const store = new SqliteDocumentStore(db, { now: Date.now });
  for (let i = 0; i < 300; i++) {
    await store.create(`workspaces/w/executions/e${i}`, { status: 'succeeded', note: 'x'.repeat(200) });
  }
  const { page_size: pageSize } = db.prepare('PRAGMA page_size').get() as { page_size: number };
  db.close();
  return pageSize;
}

describe('database start-up checks', () => {
  it('silent corruption: a database with 3 overwritten b-tree pages is refused at start with exit 2, unchanged', async () => {
    const dataDir = tempDir();
    const file = join(dataDir, 'seraphim.db');
    const pageSize = await filledDatabase(file);
    // Pages 2 to 4 are the first tables' and indexes' b-tree roots (page 1 is the schema).
    const fd = openSync(file, 'r+');
    for (let k = 1; k <= 3; k++) writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, pageSize * k);
    closeSync(fd);
    const before = sha256(file);

    expect(() => openDatabase({ file })).toThrow(DatabaseStateError);
    expect(() => openDatabase({ file })).toThrow(/seraphim\.db is damaged \(SQLite's integrity check: .+\)/);
    await expect(startRuntimeProcess({ dataDir, args: ['--no-demo'] })).rejects.toThrow(
      /exited with 2 before listening[\s\S]*seraphim\.db is damaged[\s\S]*Restore seraphim\.db from a backup/,
    );
    expect(sha256(file)).toBe(before);
  }, 60_000);

  it('a 0-byte database after a first start is refused, not started as a new empty one', async () => {
    const dataDir = tempDir();
    const first = start(dataDir);
    await first.ports.documents.create('workspaces/kept', { name: 'kept' });
    await first.stop();
    truncateSync(join(dataDir, 'seraphim.db'), 0);

    expect(() => start(dataDir)).toThrow(DatabaseStateError);
    expect(() => start(dataDir)).toThrow(
      /seraphim\.db is empty, but this data folder has been used before \(it holds cli-token and blobs\)[\s\S]*move the whole data folder aside/,
    );
    expect(readFileSync(join(dataDir, 'seraphim.db')).length).toBe(0);
  });

  it('a truly first start creates the database, in an empty folder or beside an empty file', async () => {
    const fresh = start(tempDir());
    expect(await fresh.ports.documents.get('workspaces/none')).toBeNull();
    await fresh.stop();

    // A 0-byte file alone (touched by a tool, or a crash before the first commit) is no data lost.
    const dataDir = tempDir();
    closeSync(openSync(join(dataDir, 'seraphim.db'), 'w'));
    const runtime = start(dataDir);
    await runtime.ports.documents.create('workspaces/new', { name: 'new' });
    await runtime.stop();
  });
});

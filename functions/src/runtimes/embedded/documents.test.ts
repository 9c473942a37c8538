/**
 * What the SQLite documents store adds to the port's contract (which
 * contracts/ checks): collection groups on files from before them, the query
 * indexes derived from firestore.indexes.json (created and dropped as the file
 * changes), and the recovery sweep's query read through its index, not by
 * scanning the table.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { derivedIndexes, type IndexSpec, loadIndexSpec } from './document-indexes.js';
import { SqliteDocumentStore } from './documents.js';
import { openDatabase } from './sqlite.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Every SQL statement the store prepares, with the database. */
function recording(db: DatabaseSync): string[] {
  const statements: string[] = [];
  const prepare = db.prepare.bind(db);
  db.prepare = (sql: string) => {
    statements.push(sql);
    return prepare(sql);
  };
  return statements;
}

describe('SQLite documents', () => {
  it('a file from before collection groups gains them on upgrade, with its documents in them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seraphim-docs-'));
    dirs.push(dir);
    const file = join(dir, 'seraphim.db');
    const old = openDatabase({ file, schemaVersion: 4 });
    await new SqliteDocumentStore(old, { now: Date.now }).create('workspaces/a/executions/e1', {
      status: 'running',
      recoverAt: 5,
    });
    old.close();

    const db = openDatabase({ file });
    const store = new SqliteDocumentStore(db, { now: Date.now });
    await store.create('workspaces/b/executions/e2', { status: 'queued', recoverAt: 7 });
    const page = await store.queryGroup('executions', {
      where: [{ field: 'recoverAt', op: '<=', value: 10 }],
      orderBy: [{ field: 'recoverAt' }],
      limit: 10,
    });
    expect(page.docs.map((d) => d.path)).toEqual([
      'workspaces/a/executions/e1',
      'workspaces/b/executions/e2',
    ]);
    db.close();
  });

  it("reads the recovery sweep's query through the lease-expiry index, not the table", async () => {
    const db = openDatabase({ file: ':memory:' });
    const store = new SqliteDocumentStore(db, { now: Date.now });
    await store.create('workspaces/a/executions/e1', { recoverAt: 5 });
    const statements = recording(db);
    await store.queryGroup('executions', {
      where: [{ field: 'recoverAt', op: '<=', value: 10 }],
      orderBy: [{ field: 'recoverAt' }],
      limit: 100,
    });
    const sql = statements.find((s) => s.startsWith('SELECT'));
    expect(sql).toBeDefined();
    const plan = db
      .prepare(`EXPLAIN QUERY PLAN ${sql}`)
      .all(10, 101)
      .map((row) => String((row as { detail: string }).detail));
    expect(plan.join('\n')).toMatch(/USING INDEX documents_ix_/);
    expect(plan.join('\n')).not.toMatch(/SCAN documents|USE TEMP B-TREE/);
    db.close();
  });

  it('creates the indexes firestore.indexes.json declares, and drops those it no longer does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seraphim-docs-'));
    dirs.push(dir);
    const file = join(dir, 'seraphim.db');
    const names = (db: DatabaseSync) =>
      (
        db
          .prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'documents_ix_%'`)
          .all() as Array<{ name: string }>
      )
        .map((r) => r.name)
        .sort();
    const spec = loadIndexSpec();
    const declared = derivedIndexes(spec).map((d) => d.name);
    expect(declared.length).toBeGreaterThan(0);
    let db = openDatabase({ file });
    expect(names(db)).toEqual([...declared].sort());
    db.close();

    const fewer: IndexSpec = { ...spec, indexes: spec.indexes.slice(1) };
    db = openDatabase({ file, indexes: fewer });
    expect(names(db)).toEqual(
      derivedIndexes(fewer)
        .map((d) => d.name)
        .sort(),
    );
    expect(names(db).length).toBe(declared.length - 1);
    db.close();
  });

  it('an index and its mirror image derive one SQLite index (SQLite reads indexes backwards too)', () => {
    const field = (order: 'ASCENDING' | 'DESCENDING') => ({
      collectionGroup: 'things',
      fieldPath: 'at',
      indexes: [{ order, queryScope: 'COLLECTION' as const }],
    });
    const both = derivedIndexes({ indexes: [], fieldOverrides: [field('ASCENDING'), field('DESCENDING')] });
    expect(both).toHaveLength(1);
    expect(both[0]?.sql).toContain(
      `ON documents (parent, json_extract(data, '$.at'), id) WHERE collection = 'things' AND json_extract(data, '$.at') IS NOT NULL`,
    );
  });
});

/**
 * SQLite expression indexes derived from firestore.indexes.json, so that one
 * file says what every query needs on both runtimes: each composite index and
 * each ordered field override there becomes a partial index over the documents
 * of its collection id.
 *
 * They are created when the database opens (named by a hash of their
 * definition; derived indexes no longer declared are dropped), not written as
 * numbered migrations: an index holds no data of its own and can be rebuilt
 * from the table at any time, and a numbered migration per change of the JSON
 * file would copy every definition into sqlite.ts a second time.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { z } from 'zod';
import { checkCollectionId, checkField } from '../../platform/document-rules.js';
import { REPO_ROOT } from './settings.js';

export const INDEX_SPEC_FILE = join(REPO_ROOT, 'firestore.indexes.json');

/** Derived indexes are named `documents_ix_<hash>`: the prefix tells them from the migrations' own. */
const PREFIX = 'documents_ix_';

const Scope = z.enum(['COLLECTION', 'COLLECTION_GROUP']);
const Order = z.enum(['ASCENDING', 'DESCENDING']);

/** The part of Firestore's index file format the embedded store reads (the rest passes through). */
export const IndexSpecSchema = z.object({
  indexes: z
    .array(
      z.object({
        collectionGroup: z.string(),
        queryScope: Scope,
        fields: z
          .array(
            z.union([
              z.object({ fieldPath: z.string(), order: Order }),
              z.object({ fieldPath: z.string(), arrayConfig: z.literal('CONTAINS') }),
            ]),
          )
          .min(1),
      }),
    )
    .default([]),
  fieldOverrides: z
    .array(
      z.object({
        collectionGroup: z.string(),
        fieldPath: z.string(),
        indexes: z.array(
          z.union([
            z.object({ order: Order, queryScope: Scope }),
            z.object({ arrayConfig: z.literal('CONTAINS'), queryScope: Scope }),
          ]),
        ),
      }),
    )
    .default([]),
});
export type IndexSpec = z.infer<typeof IndexSpecSchema>;

export interface DerivedIndex {
  name: string;
  sql: string;
}

let loaded: IndexSpec | undefined;

/** firestore.indexes.json, read once per process. */
export function loadIndexSpec(file = INDEX_SPEC_FILE): IndexSpec {
  if (file === INDEX_SPEC_FILE && loaded) return loaded;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(
      `${file} is missing: the embedded runtime derives its query indexes from it (${String(error)})`,
    );
  }
  const spec = IndexSpecSchema.parse(JSON.parse(text));
  if (file === INDEX_SPEC_FILE) loaded = spec;
  return spec;
}

/** The expression the documents store filters and orders by: index and query must spell it alike. */
export function fieldExpression(field: string): string {
  return `json_extract(data, '$.${checkField(field)}')`;
}

/** A collection id as an SQL literal: a partial index applies only to a query naming the same literal. */
export function collectionLiteral(collectionId: string): string {
  checkCollectionId(collectionId);
  return `'${collectionId.replaceAll("'", "''")}'`;
}

function derive(
  collectionId: string,
  scope: z.infer<typeof Scope>,
  fields: Array<{ fieldPath: string; order: z.infer<typeof Order> }>,
): DerivedIndex {
  // SQLite reads an index backwards as readily as forwards, so an index and its mirror image serve
  // the same queries: keep one of the two (the one whose first field ascends).
  const mirrored = fields[0]?.order === 'DESCENDING';
  const dir = (order: z.infer<typeof Order>) => ((order === 'DESCENDING') !== mirrored ? ' DESC' : '');
  // The store breaks ties by id within a collection and by path across a group, in the last field's direction.
  const last = fields.at(-1)?.order ?? 'ASCENDING';
  // A group's index leads with `collection` although its WHERE fixes it: without that equality to
  // match, SQLite prefers the plain documents_collection index and sorts.
  const columns = [
    scope === 'COLLECTION' ? 'parent' : 'collection',
    ...fields.map((f) => `${fieldExpression(f.fieldPath)}${dir(f.order)}`),
    `${scope === 'COLLECTION' ? 'id' : 'path'}${dir(last)}`,
  ];
  // Firestore leaves a document out of an index when it lacks an indexed field; so does this.
  const where = [
    `collection = ${collectionLiteral(collectionId)}`,
    ...fields.map((f) => `${fieldExpression(f.fieldPath)} IS NOT NULL`),
  ];
  const body = `ON documents (${columns.join(', ')}) WHERE ${where.join(' AND ')}`;
  const name = `${PREFIX}${createHash('sha256').update(body).digest('hex').slice(0, 16)}`;
  return { name, sql: `CREATE INDEX IF NOT EXISTS ${name} ${body}` };
}

/**
 * The SQLite indexes a spec declares. Array-contains entries have no
 * equivalent here (the store reads those through json_each) and are skipped.
 */
export function derivedIndexes(spec: IndexSpec): DerivedIndex[] {
  const out = new Map<string, DerivedIndex>();
  for (const index of spec.indexes) {
    const ordered = index.fields.flatMap((f) => ('order' in f ? [f] : []));
    if (ordered.length !== index.fields.length) continue;
    const d = derive(index.collectionGroup, index.queryScope, ordered);
    out.set(d.name, d);
  }
  for (const override of spec.fieldOverrides) {
    for (const index of override.indexes) {
      if (!('order' in index)) continue;
      const d = derive(override.collectionGroup, index.queryScope, [
        { fieldPath: override.fieldPath, order: index.order },
      ]);
      out.set(d.name, d);
    }
  }
  return [...out.values()];
}

/**
 * Makes the database's derived indexes exactly those of `spec`: creates the
 * missing ones and drops those no longer declared, in one transaction. On a
 * start with nothing changed this reads the catalogue and writes nothing.
 */
export function syncDerivedIndexes(
  db: DatabaseSync,
  spec: IndexSpec,
): { created: string[]; dropped: string[] } {
  const wanted = derivedIndexes(spec);
  const existing = new Set(
    (
      db
        .prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND substr(name, 1, ?) = ?`)
        .all(PREFIX.length, PREFIX) as Array<{ name: string }>
    ).map((row) => row.name),
  );
  const created = wanted.filter((d) => !existing.has(d.name));
  const wantedNames = new Set(wanted.map((d) => d.name));
  const dropped = [...existing].filter((name) => !wantedNames.has(name));
  if (created.length === 0 && dropped.length === 0) return { created: [], dropped: [] };
  db.exec('BEGIN IMMEDIATE');
  try {
    for (const name of dropped) db.exec(`DROP INDEX IF EXISTS ${name}`);
    for (const d of created) db.exec(d.sql);
    db.exec('COMMIT');
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
  return { created: created.map((d) => d.name), dropped };
}

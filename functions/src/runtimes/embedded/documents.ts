/**
 * The documents port on SQLite. Transactions are optimistic, like Firestore's:
 * reads record the versions they saw, writes are buffered, and the commit —
 * one synchronous SQLite transaction — checks those versions and retries the
 * whole function on a conflict. Every committed write can be appended to the
 * change feed in the same SQLite transaction, so a trigger is never lost.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import {
  apply,
  checkField,
  checkQueryLimit,
  decodeCursor,
  encodeCursor,
  normalise,
  readPath,
  splitPath,
  type Write,
} from '../../platform/document-rules.js';
import { ConflictError, InvalidInputError } from '../../platform/errors.js';
import type {
  DocumentData,
  DocumentStore,
  DocumentTransaction,
  Filter,
  Query,
  QueryPage,
  StoredDocument,
  WriteOptions,
} from '../../platform/ports.js';
import { collectionLiteral, fieldExpression } from './document-indexes.js';
import { inTransaction } from './sqlite.js';

export interface DocumentChangeRecord {
  path: string;
  before: StoredDocument | null;
  after: StoredDocument | null;
}

/** Receives every committed change inside the committing transaction. */
export interface ChangeRecorder {
  wants(path: string): boolean;
  record(change: DocumentChangeRecord): void;
}

interface Row {
  path: string;
  id: string;
  data: string;
  version: number;
  create_time: number;
  update_time: number;
}

const MAX_TX_ATTEMPTS = 100;
/** Prepared query statements kept: the shapes a deployment's queries take, with room to spare. */
const STATEMENTS_KEPT = 256;

function toDoc<T extends DocumentData>(row: Row): StoredDocument<T> {
  return {
    path: row.path,
    id: row.id,
    data: JSON.parse(row.data) as T,
    version: row.version,
    createTime: row.create_time,
    updateTime: row.update_time,
  };
}

function sqlValue(value: unknown): string | number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number' || typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** The collection id of a collection path: its last segment. */
function collectionIdOf(collection: string): string {
  return splitPath(collection, 'collection').id;
}

export class SqliteDocumentStore implements DocumentStore {
  readonly #db: DatabaseSync;
  readonly #now: () => number;
  readonly #recorder: ChangeRecorder | undefined;
  readonly #select: StatementSync;
  readonly #insert: StatementSync;
  readonly #replace: StatementSync;
  readonly #remove: StatementSync;
  readonly #statements = new Map<string, StatementSync>();

  constructor(db: DatabaseSync, opts: { now: () => number; recorder?: ChangeRecorder }) {
    this.#db = db;
    this.#now = opts.now;
    this.#recorder = opts.recorder;
    this.#select = db.prepare(
      'SELECT path, id, data, version, create_time, update_time FROM documents WHERE path = ?',
    );
    this.#insert = db.prepare(
      'INSERT INTO documents (path, parent, id, data, version, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.#replace = db.prepare('UPDATE documents SET data = ?, version = ?, update_time = ? WHERE path = ?');
    this.#remove = db.prepare('DELETE FROM documents WHERE path = ?');
  }

  #read(path: string): StoredDocument | null {
    splitPath(path, 'document');
    const row = this.#select.get(path) as Row | undefined;
    return row ? toDoc(row) : null;
  }

  async get(path: string): Promise<StoredDocument | null> {
    return this.#read(path);
  }

  async create<T extends DocumentData>(path: string, data: T): Promise<StoredDocument<T>> {
    return this.#commit([{ kind: 'create', path, data }], new Map())[0] as StoredDocument<T>;
  }

  async set<T extends DocumentData>(
    path: string,
    data: T,
    opts: WriteOptions = {},
  ): Promise<StoredDocument<T>> {
    return this.#commit(
      [{ kind: 'set', path, data, ifVersion: opts.ifVersion }],
      new Map(),
    )[0] as StoredDocument<T>;
  }

  async update(path: string, patch: DocumentData, opts: WriteOptions = {}): Promise<StoredDocument> {
    return this.#commit(
      [{ kind: 'update', path, patch, ifVersion: opts.ifVersion }],
      new Map(),
    )[0] as StoredDocument;
  }

  async delete(path: string, opts: WriteOptions = {}): Promise<boolean> {
    return this.#commit([{ kind: 'delete', path, ifVersion: opts.ifVersion }], new Map())[0] !== null;
  }

  // `collection` is a generated column: the parent path's last segment (sqlite.ts, migration 5). Every
  // query names it as a literal, because the query indexes (document-indexes.ts) are partial indexes
  // over one collection id, and SQLite uses a partial index only when the query names the same value.
  async query(collection: string, query: Query): Promise<QueryPage> {
    const scope = `parent = ? AND collection = ${collectionLiteral(collectionIdOf(collection))}`;
    return this.#page(scope, collection, query, 'id');
  }

  async queryGroup(collectionId: string, query: Query): Promise<QueryPage> {
    return this.#page(`collection = ${collectionLiteral(collectionId)}`, null, query, 'path');
  }

  async count(collection: string, where: Filter[] = []): Promise<number> {
    const clauses = [`parent = ? AND collection = ${collectionLiteral(collectionIdOf(collection))}`];
    const args: Array<string | number | null> = [collection];
    for (const filter of where) this.#filter(filter, clauses, args);
    const row = this.#prepared(`SELECT COUNT(*) AS n FROM documents WHERE ${clauses.join(' AND ')}`).get(
      ...args,
    );
    return Number((row as { n: number }).n);
  }

  /** A query's statement, prepared once per shape: preparing costs more than a small indexed read. */
  #prepared(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement) {
      // Most recently used last, so the oldest is the one dropped.
      this.#statements.delete(sql);
    } else {
      statement = this.#db.prepare(sql);
      if (this.#statements.size >= STATEMENTS_KEPT) {
        const oldest = this.#statements.keys().next().value;
        if (oldest !== undefined) this.#statements.delete(oldest);
      }
    }
    this.#statements.set(sql, statement);
    return statement;
  }

  /**
   * One page of `query` over the documents `scope` selects. `tieBreak` orders equal rows and
   * names the cursor's position: the id within one collection, the full path across a group.
   */
  #page(scope: string, scopeArg: string | null, query: Query, tieBreak: 'id' | 'path'): QueryPage {
    checkQueryLimit(query.limit);
    const where: string[] = [scope];
    const args: Array<string | number | null> = scopeArg === null ? [] : [scopeArg];
    for (const filter of query.where ?? []) this.#filter(filter, where, args);
    const orders = query.orderBy ?? [];
    for (const o of orders) where.push(`${fieldExpression(o.field)} IS NOT NULL`);
    const tieDirection = orders.at(-1)?.direction === 'desc' ? 'desc' : 'asc';
    if (query.cursor) {
      // Lexicographic "after": (f1 > v1) OR (f1 = v1 AND f2 > v2) OR … OR (all equal AND tie > last).
      const cursor = decodeCursor(query.cursor, orders.length);
      const keys = [
        ...orders.map((o, i) => ({
          expr: fieldExpression(o.field),
          dir: o.direction ?? 'asc',
          value: sqlValue(cursor.v[i]),
        })),
        { expr: tieBreak, dir: tieDirection, value: cursor.id as string | number | null },
      ];
      const alternatives: string[] = [];
      keys.forEach((key, i) => {
        const equalities = keys.slice(0, i).map((k) => `${k.expr} = ?`);
        alternatives.push(
          `(${[...equalities, `${key.expr} ${key.dir === 'desc' ? '<' : '>'} ?`].join(' AND ')})`,
        );
        args.push(...keys.slice(0, i).map((k) => k.value), key.value);
      });
      where.push(`(${alternatives.join(' OR ')})`);
      // SQLite cannot seek an index by that OR (nor by a row value over expressions): bounding the
      // first key as well lets it start the scan at the cursor instead of at the first page.
      const first = keys[0];
      if (orders.length > 0 && first) {
        where.push(`${first.expr} ${first.dir === 'desc' ? '<=' : '>='} ?`);
        args.push(first.value);
      }
    }
    const orderSql = [
      ...orders.map((o) => `${fieldExpression(o.field)} ${o.direction ?? 'asc'}`),
      `${tieBreak} ${tieDirection}`,
    ];
    const sql = `SELECT path, id, data, version, create_time, update_time FROM documents WHERE ${where.join(' AND ')} ORDER BY ${orderSql.join(', ')} LIMIT ?`;
    const rows = this.#prepared(sql).all(...args, query.limit + 1) as unknown as Row[];
    const docs = rows.slice(0, query.limit).map((row) => toDoc(row));
    const last = docs.at(-1);
    const nextCursor =
      rows.length > query.limit && last
        ? encodeCursor(
            orders.map((o) => readPath(last.data, o.field)),
            last[tieBreak],
          )
        : undefined;
    return { docs, nextCursor };
  }

  #filter(filter: Filter, where: string[], args: Array<string | number | null>): void {
    const expr = fieldExpression(filter.field);
    switch (filter.op) {
      case 'in': {
        if (!Array.isArray(filter.value) || filter.value.length === 0 || filter.value.length > 30) {
          throw new InvalidInputError(`"in" on ${filter.field} needs 1 to 30 values`);
        }
        where.push(`${expr} IN (${filter.value.map(() => '?').join(', ')})`);
        args.push(...filter.value.map(sqlValue));
        return;
      }
      case 'array-contains':
        where.push(`EXISTS (SELECT 1 FROM json_each(data, '$.${checkField(filter.field)}') WHERE value = ?)`);
        args.push(sqlValue(filter.value));
        return;
      case '==':
        if (filter.value === null) where.push(`json_type(data, '$.${checkField(filter.field)}') = 'null'`);
        else {
          where.push(`${expr} = ?`);
          args.push(sqlValue(filter.value));
        }
        return;
      case '!=':
      case '<':
      case '<=':
      case '>':
      case '>=':
        where.push(`${expr} ${filter.op} ?`);
        args.push(sqlValue(filter.value));
        return;
      default:
        throw new InvalidInputError(`Unknown filter operator "${String((filter as Filter).op)}"`);
    }
  }

  async transaction<R>(fn: (tx: DocumentTransaction) => Promise<R>): Promise<R> {
    for (let attempt = 1; ; attempt++) {
      const seen = new Map<string, number>();
      const writes: Write[] = [];
      const tx: DocumentTransaction = {
        get: async (path: string) => {
          if (writes.length > 0)
            throw new InvalidInputError('Transactions must do all reads before any write');
          const doc = this.#read(path);
          seen.set(path, doc?.version ?? 0);
          return doc;
        },
        create: (path, data) => void writes.push({ kind: 'create', path, data }),
        set: (path, data) => void writes.push({ kind: 'set', path, data }),
        update: (path, patch, opts = {}) =>
          void writes.push({ kind: 'update', path, patch, ifVersion: opts.ifVersion }),
        delete: (path, opts = {}) => void writes.push({ kind: 'delete', path, ifVersion: opts.ifVersion }),
      };
      const result = await fn(tx);
      try {
        this.#commit(writes, seen);
        return result;
      } catch (error) {
        if (!(error instanceof StaleReadError) || attempt >= MAX_TX_ATTEMPTS) {
          if (error instanceof StaleReadError) {
            throw new ConflictError(`Transaction gave up after ${attempt} attempts under contention`);
          }
          throw error;
        }
        // Another writer got there first: run the function again on fresh reads.
        if (attempt > 3) await new Promise((resolve) => setTimeout(resolve, Math.random() * attempt));
      }
    }
  }

  /** Applies writes atomically after checking that every read is still current. */
  #commit(writes: Write[], seen: Map<string, number>): Array<StoredDocument | null> {
    // Validate and size-check whole documents before taking the write lock.
    const checked = writes.map((w) =>
      w.kind === 'create' || w.kind === 'set' ? { ...w, data: normalise(w.path, w.data) } : w,
    );
    return inTransaction(this.#db, () => {
      for (const [path, version] of seen) {
        const row = this.#select.get(path) as Row | undefined;
        if ((row?.version ?? 0) !== version) throw new StaleReadError();
      }
      const now = this.#now();
      return checked.map((write) => this.#apply(write, now));
    });
  }

  #apply(write: Write, now: number): StoredDocument | null {
    const { parent, id } = splitPath(write.path, 'document');
    const row = this.#select.get(write.path) as Row | undefined;
    const before = row ? toDoc(row) : null;
    const after = apply(write, before, now);
    if (after) {
      const json = JSON.stringify(after.data);
      if (before) this.#replace.run(json, after.version, now, write.path);
      else this.#insert.run(write.path, parent, id, json, after.version, after.createTime, after.updateTime);
    } else if (before) {
      this.#remove.run(write.path);
    } else {
      return null; // deleting what is not there changes nothing and records nothing
    }
    if (this.#recorder?.wants(write.path)) this.#recorder.record({ path: write.path, before, after });
    return write.kind === 'delete' ? before : after;
  }
}

class StaleReadError extends Error {}

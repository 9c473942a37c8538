/**
 * The documents port on Cloud Firestore, with the embedded SQLite store's
 * semantics: an integer version that starts at 1 and grows by one per write,
 * create that refuses an existing document, `ifVersion` preconditions, the
 * 1 MiB limit, bounded queries with an opaque cursor, transactions. How
 * documents are encoded, and the write rules, are in firestore-codec.ts.
 *
 * firebase-admin is imported for types only; the `Firestore` is resolved on
 * first use, so an instance that never touches documents never loads it.
 */
import type {
  DocumentReference,
  Firestore,
  Query as FirestoreQuery,
  Transaction,
} from 'firebase-admin/firestore';
import {
  apply,
  checkCollectionId,
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
import { DOCUMENT_ID, fromSnapshot, MAX_TX_ATTEMPTS, toPlatformError, toStored } from './firestore-codec.js';

export { fromSnapshot } from './firestore-codec.js';

export interface FirestoreDocumentStoreOptions {
  /** Resolves the database on first use, so an instance that never touches documents never loads Firestore. */
  firestore: () => Promise<Firestore> | Firestore;
  now: () => number;
}

export class FirestoreDocumentStore implements DocumentStore {
  readonly #resolve: () => Promise<Firestore> | Firestore;
  readonly #now: () => number;
  #db: Firestore | undefined;

  constructor(opts: FirestoreDocumentStoreOptions) {
    this.#resolve = opts.firestore;
    this.#now = opts.now;
  }

  async #firestore(): Promise<Firestore> {
    this.#db ??= await this.#resolve();
    return this.#db;
  }

  async #ref(path: string): Promise<DocumentReference> {
    splitPath(path, 'document');
    return (await this.#firestore()).doc(path);
  }

  async get(path: string): Promise<StoredDocument | null> {
    const ref = await this.#ref(path);
    try {
      return fromSnapshot(await ref.get());
    } catch (error) {
      throw toPlatformError(error, `get ${path}`);
    }
  }

  async create<T extends DocumentData>(path: string, data: T): Promise<StoredDocument<T>> {
    const ref = await this.#ref(path);
    const now = this.#now();
    const doc = {
      path,
      id: ref.id,
      data: normalise(path, data),
      version: 1,
      createTime: now,
      updateTime: now,
    };
    try {
      // One RPC with Firestore's own exists precondition: no transaction needed.
      await ref.create(toStored(doc));
    } catch (error) {
      const mapped = toPlatformError(error, `create ${path}`);
      throw mapped instanceof ConflictError
        ? new ConflictError(`Document ${path} already exists`, { path })
        : mapped;
    }
    return doc as StoredDocument<T>;
  }

  async set<T extends DocumentData>(
    path: string,
    data: T,
    opts: WriteOptions = {},
  ): Promise<StoredDocument<T>> {
    const [doc] = await this.#run([{ kind: 'set', path, data, ifVersion: opts.ifVersion }]);
    return doc as StoredDocument<T>;
  }

  async update(path: string, patch: DocumentData, opts: WriteOptions = {}): Promise<StoredDocument> {
    const [doc] = await this.#run([{ kind: 'update', path, patch, ifVersion: opts.ifVersion }]);
    return doc as StoredDocument;
  }

  async delete(path: string, opts: WriteOptions = {}): Promise<boolean> {
    const [before] = await this.#run([{ kind: 'delete', path, ifVersion: opts.ifVersion }]);
    return before !== null && before !== undefined;
  }

  /** How many documents of `collection` match: an aggregation, billed per 1000 index entries, not per document. */
  async count(collection: string, where: Filter[] = []): Promise<number> {
    splitPath(collection, 'collection');
    let q: FirestoreQuery = (await this.#firestore()).collection(collection);
    for (const f of where) q = this.#where(q, f);
    try {
      return (await q.count().get()).data().count;
    } catch (error) {
      throw toPlatformError(error, `count ${collection}`);
    }
  }

  async query(collection: string, query: Query): Promise<QueryPage> {
    splitPath(collection, 'collection');
    return this.#page((await this.#firestore()).collection(collection), query, collection, 'id');
  }

  async queryGroup(collectionId: string, query: Query): Promise<QueryPage> {
    checkCollectionId(collectionId);
    return this.#page(
      (await this.#firestore()).collectionGroup(collectionId),
      query,
      `group ${collectionId}`,
      'path',
    );
  }

  /**
   * One page of `query` on `base`. The document's name breaks ties, so a cursor names one
   * position exactly, as in the SQLite store; across a collection group that name is the
   * full path (Firestore orders a group by it, and starts after one only given a path).
   */
  async #page(
    base: FirestoreQuery,
    query: Query,
    label: string,
    tieBreak: 'id' | 'path',
  ): Promise<QueryPage> {
    checkQueryLimit(query.limit);
    let q = base;
    for (const f of query.where ?? []) q = this.#where(q, f);
    const orders = query.orderBy ?? [];
    for (const o of orders) q = q.orderBy(checkField(o.field), o.direction ?? 'asc');
    q = q.orderBy(DOCUMENT_ID, orders.at(-1)?.direction === 'desc' ? 'desc' : 'asc');
    if (query.cursor) {
      const cursor = decodeCursor(query.cursor, orders.length);
      q = q.startAfter(...cursor.v, cursor.id);
    }
    try {
      const snapshot = await q.limit(query.limit + 1).get();
      const docs = snapshot.docs.slice(0, query.limit).map((s) => fromSnapshot(s) as StoredDocument);
      const last = docs.at(-1);
      const nextCursor =
        snapshot.docs.length > query.limit && last
          ? encodeCursor(
              orders.map((o) => readPath(last.data, o.field)),
              last[tieBreak],
            )
          : undefined;
      return { docs, nextCursor };
    } catch (error) {
      throw toPlatformError(error, `query ${label}`);
    }
  }

  #where(q: FirestoreQuery, filter: Filter): FirestoreQuery {
    const field = checkField(filter.field);
    if (
      filter.op === 'in' &&
      (!Array.isArray(filter.value) || filter.value.length === 0 || filter.value.length > 30)
    ) {
      throw new InvalidInputError(`"in" on ${filter.field} needs 1 to 30 values`);
    }
    const known = ['==', '!=', '<', '<=', '>', '>=', 'in', 'array-contains'];
    if (!known.includes(filter.op))
      throw new InvalidInputError(`Unknown filter operator "${String(filter.op)}"`);
    return q.where(field, filter.op, filter.value);
  }

  async transaction<R>(fn: (tx: DocumentTransaction) => Promise<R>): Promise<R> {
    const db = await this.#firestore();
    try {
      return await db.runTransaction(
        async (t) => {
          const seen = new Map<string, StoredDocument | null>();
          const writes: Write[] = [];
          const tx: DocumentTransaction = {
            get: async (path: string) => {
              if (writes.length > 0)
                throw new InvalidInputError('Transactions must do all reads before any write');
              splitPath(path, 'document');
              const doc = fromSnapshot(await t.get(db.doc(path)));
              seen.set(path, doc);
              return doc;
            },
            create: (path, data) => void writes.push({ kind: 'create', path, data }),
            set: (path, data) => void writes.push({ kind: 'set', path, data }),
            update: (path, patch, opts = {}) =>
              void writes.push({ kind: 'update', path, patch, ifVersion: opts.ifVersion }),
            delete: (path, opts = {}) =>
              void writes.push({ kind: 'delete', path, ifVersion: opts.ifVersion }),
          };
          const result = await fn(tx);
          await this.#commit(db, t, writes, seen);
          return result;
        },
        { maxAttempts: MAX_TX_ATTEMPTS },
      );
    } catch (error) {
      throw toPlatformError(error, 'transaction');
    }
  }

  /** One write outside a caller's transaction: still a transaction, because the version must be read to be bumped. */
  async #run(writes: Write[]): Promise<Array<StoredDocument | null>> {
    const db = await this.#firestore();
    try {
      return await db.runTransaction((t) => this.#commit(db, t, writes, new Map()), {
        maxAttempts: MAX_TX_ATTEMPTS,
      });
    } catch (error) {
      throw toPlatformError(error, `${writes[0]?.kind ?? 'write'} ${writes[0]?.path ?? ''}`);
    }
  }

  /**
   * Reads what the writes touch and the transaction has not read yet (reads
   * must come before writes in Firestore), applies the writes in order to that
   * view, then writes each touched document's final state once. Returns, per
   * write, the document after it (or before it, for a delete).
   */
  async #commit(
    db: Firestore,
    t: Transaction,
    writes: Write[],
    seen: Map<string, StoredDocument | null>,
  ): Promise<Array<StoredDocument | null>> {
    const normalised = writes.map((w): Write => {
      splitPath(w.path, 'document');
      return w.kind === 'create' || w.kind === 'set' ? { ...w, data: normalise(w.path, w.data) } : w;
    });
    const unread = [...new Set(normalised.map((w) => w.path))].filter((path) => !seen.has(path));
    if (unread.length > 0) {
      const snapshots = await t.getAll(...unread.map((path) => db.doc(path)));
      for (const [i, snapshot] of snapshots.entries()) seen.set(unread[i] as string, fromSnapshot(snapshot));
    }
    const state = new Map(seen);
    const now = this.#now();
    const results = normalised.map((w) => {
      const before = state.get(w.path) ?? null;
      const after = apply(w, before, now);
      state.set(w.path, after);
      return w.kind === 'delete' ? before : after;
    });
    for (const path of new Set(normalised.map((w) => w.path))) {
      const final = state.get(path) ?? null;
      if (final) t.set(db.doc(path), toStored(final));
      else if (seen.get(path)) t.delete(db.doc(path));
    }
    return results;
  }
}

/**
 * The rules every documents adapter follows, with no I/O: valid paths and
 * field names, the JSON round trip and 1 MiB limit, what each write does to
 * the document as it stands (versions, create-if-absent, merge), and query
 * cursors. The SQLite and Firestore stores both apply them, so they cannot
 * drift apart.
 */
import { ConflictError, InvalidInputError, NotFoundError, PayloadTooLargeError } from './errors.js';
import { type DocumentData, MAX_DOCUMENT_BYTES, type StoredDocument } from './ports.js';

/** Reserved fields (the Firestore store keeps the version and times there). Never part of `data`. */
export const VERSION_FIELD = '__v';
export const CREATE_TIME_FIELD = '__ct';
export const UPDATE_TIME_FIELD = '__ut';
export const RESERVED_FIELDS: ReadonlySet<string> = new Set([
  VERSION_FIELD,
  CREATE_TIME_FIELD,
  UPDATE_TIME_FIELD,
]);
const RESERVED = RESERVED_FIELDS;

const FIELD = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
/** Every query is bounded by at most this many documents a page. */
export const MAX_QUERY_LIMIT = 1000;

export type Write =
  | { kind: 'create'; path: string; data: DocumentData }
  | { kind: 'set'; path: string; data: DocumentData; ifVersion?: number | undefined }
  | { kind: 'update'; path: string; patch: DocumentData; ifVersion?: number | undefined }
  | { kind: 'delete'; path: string; ifVersion?: number | undefined };

/** Both stores: even segments for a document, odd for a collection, none empty or reserved. */
export function splitPath(path: string, kind: 'document' | 'collection'): { parent: string; id: string } {
  const segments = path.split('/');
  const bad =
    path.length === 0 ||
    Buffer.byteLength(path) > 1500 ||
    segments.some((s) => s === '' || s === '.' || s === '..' || /^__.*__$/.test(s)) ||
    segments.length % 2 !== (kind === 'document' ? 0 : 1);
  if (bad) {
    throw new InvalidInputError(`"${path}" is not a valid ${kind} path`, [
      {
        path: 'path',
        message: `must have ${kind === 'document' ? 'an even' : 'an odd'} number of non-empty segments`,
      },
    ]);
  }
  return { parent: segments.slice(0, -1).join('/'), id: segments[segments.length - 1] as string };
}

/** A collection group's id: one segment, as a collection's last segment. */
export function checkCollectionId(collectionId: string): void {
  if (collectionId.includes('/')) {
    throw new InvalidInputError(`"${collectionId}" is not a collection id`, [
      { path: 'collectionId', message: 'must be one segment, with no "/"' },
    ]);
  }
  splitPath(collectionId, 'collection');
}

/** Every query is bounded: 1 to MAX_QUERY_LIMIT documents a page. */
export function checkQueryLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_QUERY_LIMIT) {
    throw new InvalidInputError(`limit must be an integer from 1 to ${MAX_QUERY_LIMIT}`, [
      { path: 'limit', message: `got ${limit}` },
    ]);
  }
}

/** Firestore's deepest nesting of maps and arrays in a document. */
export const MAX_NESTING_DEPTH = 20;
/** Firestore's longest field name, in bytes. */
const MAX_FIELD_NAME_BYTES = 1500;
/** Field names Firestore keeps for itself (`__name__`, `__key__`, …). */
const RESERVED_FIELD_NAME = /^__.*__$/;

/** A key as one token of a JSON pointer (RFC 6901): `~` becomes `~0`, `/` becomes `~1`. */
export function pointerToken(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

/**
 * What Firestore would refuse in a document's values, wherever it sits:
 * an array directly inside an array, an empty field name, a `__…__` field
 * name, a field name over 1,500 bytes, nesting deeper than 20. Both stores
 * refuse these (normalise), so a value that works on one machine works on
 * Firebase; the engine checks step outputs and inputs with it first, so the
 * problem is reported where it starts. Returns each problem with its JSON
 * pointer, at most `max` of them.
 */
export function firestoreProblems(value: unknown, max = 5): Array<{ pointer: string; message: string }> {
  const problems: Array<{ pointer: string; message: string }> = [];
  const walk = (v: unknown, pointer: string, depth: number, inArray: boolean): void => {
    if (problems.length >= max || v === null || typeof v !== 'object') return;
    if (depth > MAX_NESTING_DEPTH) {
      problems.push({ pointer, message: `nested deeper than ${MAX_NESTING_DEPTH} levels` });
      return;
    }
    if (Array.isArray(v)) {
      if (inArray) {
        problems.push({
          pointer,
          message: 'an array directly inside an array (Firestore stores no nested arrays)',
        });
        return;
      }
      for (const [i, item] of v.entries()) walk(item, `${pointer}/${i}`, depth + 1, true);
      return;
    }
    for (const [key, item] of Object.entries(v)) {
      const here = `${pointer}/${pointerToken(key)}`;
      if (key === '') problems.push({ pointer: here, message: 'an empty field name' });
      else if (RESERVED_FIELD_NAME.test(key))
        problems.push({ pointer: here, message: `field name "${key}" is reserved (__…__)` });
      else if (Buffer.byteLength(key) > MAX_FIELD_NAME_BYTES)
        problems.push({ pointer: here, message: `a field name over ${MAX_FIELD_NAME_BYTES} bytes` });
      else walk(item, here, depth + 1, false);
      if (problems.length >= max) return;
    }
  };
  walk(value, '', 0, false);
  return problems;
}

/** JSON round trip: so both runtimes keep the same values (no `undefined`, dates as strings) and the same size rule. */
export function normalise(path: string, data: DocumentData): DocumentData {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new InvalidInputError(`Document ${path} must be an object`);
  }
  for (const key of Object.keys(data)) {
    if (RESERVED.has(key))
      throw new InvalidInputError(`Field "${key}" of ${path} is reserved for the document version`);
  }
  const problems = firestoreProblems(data);
  if (problems.length > 0) {
    throw new InvalidInputError(
      `Document ${path} cannot be stored: ${problems.map((p) => `${p.pointer}: ${p.message}`).join('; ')}`,
      problems.map((p) => ({ path: `data${p.pointer.replaceAll('/', '.')}`, message: p.message })),
    );
  }
  const json = JSON.stringify(data);
  const bytes = Buffer.byteLength(json);
  if (bytes > MAX_DOCUMENT_BYTES) {
    throw new PayloadTooLargeError(
      `Document ${path} is ${bytes} bytes; the limit is ${MAX_DOCUMENT_BYTES} (Firestore's 1 MiB). Store large payloads by reference.`,
    );
  }
  return JSON.parse(json) as DocumentData;
}

/** Applies one write to the document as it stands; the one set of rules both stores follow. */
export function apply(write: Write, before: StoredDocument | null, now: number): StoredDocument | null {
  const id = write.path.slice(write.path.lastIndexOf('/') + 1);
  if ('ifVersion' in write && write.ifVersion !== undefined && (before?.version ?? 0) !== write.ifVersion) {
    throw new ConflictError(
      `Document ${write.path} is at version ${before?.version ?? 0}, not ${write.ifVersion}`,
      {
        path: write.path,
        expected: write.ifVersion,
        actual: before?.version ?? 0,
      },
    );
  }
  const next = (data: DocumentData): StoredDocument =>
    before
      ? { ...before, data, version: before.version + 1, updateTime: now }
      : { path: write.path, id, data, version: 1, createTime: now, updateTime: now };
  switch (write.kind) {
    case 'create':
      if (before) throw new ConflictError(`Document ${write.path} already exists`, { path: write.path });
      return next(write.data);
    case 'set':
      return next(write.data);
    case 'update': {
      if (!before) throw new NotFoundError(`Document ${write.path} not found`);
      const merged: DocumentData = { ...before.data, ...write.patch };
      for (const [k, v] of Object.entries(write.patch)) if (v === undefined) delete merged[k];
      return next(normalise(write.path, merged));
    }
    case 'delete':
      return null;
  }
}

// ---------------------------------------------------------------- cursors

export function encodeCursor(values: unknown[], id: string): string {
  return Buffer.from(JSON.stringify({ v: values, id })).toString('base64url');
}

export function decodeCursor(cursor: string, fields: number): { v: unknown[]; id: string } {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as {
      v: unknown[];
      id: string;
    };
    if (Array.isArray(parsed.v) && parsed.v.length === fields && typeof parsed.id === 'string') return parsed;
  } catch {
    // fall through
  }
  throw new InvalidInputError('Invalid cursor', [
    { path: 'cursor', message: 'not a cursor returned by this query' },
  ]);
}

export function readPath(data: DocumentData, field: string): unknown {
  let value: unknown = data;
  for (const key of field.split('.')) value = (value as Record<string, unknown> | undefined)?.[key];
  return value;
}

export function checkField(field: string): string {
  if (!FIELD.test(field) || RESERVED.has(field.split('.')[0] as string)) {
    throw new InvalidInputError(`"${field}" is not a queryable field name`);
  }
  return field;
}

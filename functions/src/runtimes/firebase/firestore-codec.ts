/**
 * How the firebase runtime's documents look in Firestore, and the write rules
 * they follow: the part of the Firestore document store with no I/O, shared
 * with the document-trigger wrapper (which decodes snapshots the same way).
 *
 * The version and the create/update times live in reserved top-level fields
 * and are stripped from `data`, so handlers see what the embedded SQLite store
 * gives them. Data goes through JSON before it is written, as in the SQLite
 * store, so both runtimes keep the same values (no `undefined`, dates as
 * strings) and apply the same size rule.
 *
 * firebase-admin is imported for types only: loading Firestore (gRPC) is left
 * to whoever supplies the database, at first use.
 */
import type { DocumentSnapshot } from 'firebase-admin/firestore';
import {
  CREATE_TIME_FIELD,
  RESERVED_FIELDS,
  UPDATE_TIME_FIELD,
  VERSION_FIELD,
} from '../../platform/document-rules.js';
import {
  ConflictError,
  errorMessage,
  InvalidInputError,
  NotFoundError,
  PayloadTooLargeError,
  PermanentError,
  RetryableError,
  SeraphimError,
} from '../../platform/errors.js';
import type { DocumentData, StoredDocument } from '../../platform/ports.js';

const RESERVED = RESERVED_FIELDS;

/** Firestore's default is 5; the contract's 50 concurrent increments on one document need more, as SQLite's store allows. */
export const MAX_TX_ATTEMPTS = 50;
/** Ordering by `__name__` is ordering by document id (FieldPath.documentId()), without loading the SDK here. */
export const DOCUMENT_ID = '__name__';

// ---------------------------------------------------------------- codec

/** Firestore timestamps written by something other than this store read back as ms, like ours. */
function plain(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if ('toMillis' in value && typeof value.toMillis === 'function') return value.toMillis() as number;
  if (Array.isArray(value)) return value.map(plain);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = plain(v);
  return out;
}

function millis(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

/**
 * A snapshot as the port's StoredDocument, or null when it does not exist.
 * Documents written without the reserved fields (the console, an import) read
 * as version 1 with Firestore's own times.
 */
export function fromSnapshot<T extends DocumentData = DocumentData>(
  snapshot: Pick<DocumentSnapshot, 'exists' | 'id' | 'ref' | 'data' | 'createTime' | 'updateTime'>,
): StoredDocument<T> | null {
  if (!snapshot.exists) return null;
  const raw = snapshot.data() ?? {};
  const data: DocumentData = {};
  for (const [k, v] of Object.entries(raw)) if (!RESERVED.has(k)) data[k] = plain(v);
  const createTime = millis(raw[CREATE_TIME_FIELD], snapshot.createTime?.toMillis() ?? 0);
  return {
    path: snapshot.ref.path,
    id: snapshot.id,
    data: data as T,
    version: millis(raw[VERSION_FIELD], 1),
    createTime,
    updateTime: millis(raw[UPDATE_TIME_FIELD], snapshot.updateTime?.toMillis() ?? createTime),
  };
}

export function toStored(doc: StoredDocument): DocumentData {
  return {
    ...doc.data,
    [VERSION_FIELD]: doc.version,
    [CREATE_TIME_FIELD]: doc.createTime,
    [UPDATE_TIME_FIELD]: doc.updateTime,
  };
}

// ---------------------------------------------------------------- errors

/** gRPC status codes Firestore reports, sorted by what the platform should do. */
const RETRYABLE_CODES = new Set([1, 2, 4, 8, 13, 14]); // cancelled, unknown, deadline, exhausted, internal, unavailable

/** Turns a Firestore failure into the platform's error hierarchy; our own errors pass through. */
export function toPlatformError(error: unknown, what: string): unknown {
  if (error instanceof SeraphimError) return error;
  const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
  const message = errorMessage(error);
  if (typeof code !== 'number') return error; // not from Firestore (e.g. credentials): left as is, retried by default
  if (code === 6) return new ConflictError(`${what}: already exists`);
  if (code === 5) return new NotFoundError(`${what}: not found`);
  if (code === 3 && /exceeds the maximum allowed size|too (big|large)/i.test(message)) {
    return new PayloadTooLargeError(`${what}: ${message}`);
  }
  if (code === 3 || code === 11) return new InvalidInputError(`${what}: ${message}`);
  // Aborted after every transaction attempt: the SQLite store reports the same contention as a conflict.
  if (code === 10) return new ConflictError(`${what}: gave up under contention (${message})`);
  if (RETRYABLE_CODES.has(code)) return new RetryableError(`${what}: ${message}`, { cause: error });
  // permission, authentication, a missing index (failed-precondition): retrying cannot help.
  return new PermanentError(`${what}: ${message}`, { cause: error });
}

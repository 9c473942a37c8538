/**
 * Stored documents, parsed on read. Each kind of document an orchestrator
 * stores is declared once: its zod schema, its schema version, and how to
 * bring data written under every older version forward. A read migrates what
 * it finds, then parses it: a document that does not match its schema is
 * reported as corrupt (a permanent error naming the path and the fields),
 * never handed on as a cast. A write stamps the current version.
 *
 * Versions count from 1. Data with no stamp is version 1: everything stored
 * before kinds had versions.
 */
import type { z } from 'zod';
import { PermanentError } from './errors.js';
import type { DocumentData, DocumentStore, DocumentTransaction, QueryPage, StoredDocument } from './ports.js';
import { zodFields } from './problem.js';

/** The field a document's schema version is stamped in. */
export const SCHEMA_VERSION_FIELD = 'schemaVersion';

export interface DocumentKindDefinition<T extends DocumentData> {
  /** For messages: `execution`, `use case`, … */
  name: string;
  schema: z.ZodType<T>;
  /** The version written now. @default 1 */
  version?: number;
  /** `migrations[n]` turns data of version `n` into data of version `n + 1`; one for every older version. */
  migrations?: Record<number, (data: DocumentData) => DocumentData>;
}

export interface DocumentKind<T extends DocumentData> {
  readonly name: string;
  readonly version: number;
  /** Migrates and parses stored data; throws CorruptDocumentError or a newer-version error. */
  parse(path: string, data: DocumentData): T;
  /** The data to write: the value, stamped with the current schema version. */
  stamp(value: T): DocumentData;
}

/** A stored document that does not match its kind's schema: it is reported, not used. */
export class CorruptDocumentError extends PermanentError {
  constructor(kind: string, path: string, issues: string) {
    super(`Stored ${kind} ${path} does not match its schema: ${issues}`, {
      details: { path, kind },
    });
  }
}

export function defineDocumentKind<T extends DocumentData>(def: DocumentKindDefinition<T>): DocumentKind<T> {
  const version = def.version ?? 1;
  const migrations = def.migrations ?? {};
  for (let v = 1; v < version; v++) {
    if (!migrations[v]) throw new Error(`Document kind ${def.name}: no migration from version ${v}`);
  }
  return {
    name: def.name,
    version,
    parse(path, stored) {
      const { [SCHEMA_VERSION_FIELD]: stamped, ...rest } = stored;
      const from = stamped === undefined ? 1 : stamped;
      if (typeof from !== 'number' || !Number.isInteger(from) || from < 1) {
        throw new CorruptDocumentError(def.name, path, `${SCHEMA_VERSION_FIELD} is ${JSON.stringify(from)}`);
      }
      if (from > version) {
        throw new PermanentError(
          `Stored ${def.name} ${path} has schema version ${from}, newer than this Seraphim knows (${version}): upgrade Seraphim`,
          { details: { path, kind: def.name, schemaVersion: from } },
        );
      }
      let data: DocumentData = rest;
      for (let v = from; v < version; v++) data = (migrations[v] as (d: DocumentData) => DocumentData)(data);
      const parsed = def.schema.safeParse(data);
      if (!parsed.success) {
        const issues = zodFields(parsed.error, '')
          .slice(0, 5)
          .map((f) => `${f.path || '(root)'}: ${f.message}`)
          .join('; ');
        throw new CorruptDocumentError(def.name, path, issues);
      }
      return parsed.data;
    },
    stamp(value) {
      return { ...value, [SCHEMA_VERSION_FIELD]: version };
    },
  };
}

/** A stored document with its data parsed by its kind. */
export type Parsed<T extends DocumentData> = Omit<StoredDocument, 'data'> & { data: T };

function parsed<T extends DocumentData>(kind: DocumentKind<T>, doc: StoredDocument): Parsed<T> {
  return { ...doc, data: kind.parse(doc.path, doc.data) };
}

/** Reads one document of `kind` (in a transaction when given one); null when absent. */
export async function readDocument<T extends DocumentData>(
  from: Pick<DocumentStore, 'get'> | Pick<DocumentTransaction, 'get'>,
  kind: DocumentKind<T>,
  path: string,
): Promise<Parsed<T> | null> {
  const doc = await from.get(path);
  return doc ? parsed(kind, doc) : null;
}

/** A page of a query, every document parsed by `kind`. */
export function readPage<T extends DocumentData>(
  kind: DocumentKind<T>,
  page: QueryPage,
): { docs: Parsed<T>[]; nextCursor: string | undefined } {
  return { docs: page.docs.map((doc) => parsed(kind, doc)), nextCursor: page.nextCursor };
}

/**
 * What both blob adapters share, with no I/O: the rules for paths and
 * options, the metered hash a body streams through, and the listing cursor.
 * One copy here keeps Cloud Storage and the data directory refusing exactly
 * the same input.
 */
import { createHash, type Hash } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { z } from 'zod';
import { InvalidInputError, PayloadTooLargeError } from './errors.js';
import type { BlobBody, BlobPutOptions, BlobUploadOptions } from './ports.js';
import { zodFields } from './problem.js';

/** Cloud Storage allows 1024 bytes of UTF-8; the safe subset is ASCII, so characters and bytes agree. */
export const MAX_BLOB_PATH_LENGTH = 1024;
/** Cloud Storage's limit for a V4 signed URL. */
export const MAX_UPLOAD_URL_SECONDS = 7 * 24 * 3600;

const SAFE = /^[A-Za-z0-9._/-]+$/;

/**
 * Checks a blob path: `[A-Za-z0-9._/-]`, no leading or trailing `/`, no empty
 * segment, and no segment starting with `.`, which keeps `..` out and leaves
 * dot names to the adapters (their temporary uploads live there).
 */
export function blobPath(path: string, field = 'path'): string {
  const problem = pathProblem(path);
  if (problem)
    throw new InvalidInputError(`Invalid blob path: ${problem}`, [{ path: field, message: problem }]);
  return path;
}

function pathProblem(path: string): string | undefined {
  if (path.length === 0) return 'must not be empty';
  if (path.length > MAX_BLOB_PATH_LENGTH) return `must be at most ${MAX_BLOB_PATH_LENGTH} characters`;
  if (!SAFE.test(path)) return 'may contain only A-Z a-z 0-9 . _ / -';
  const segments = path.split('/');
  if (segments.some((s) => s === '')) return 'must not start or end with / or contain //';
  if (segments.some((s) => s.startsWith('.')))
    return 'no segment may start with . (.. and hidden names are refused)';
  return undefined;
}

/** A listing prefix: `''`, or the start of a valid path (it may end with `/`). */
export function blobPrefix(prefix: string): string {
  if (prefix === '') return prefix;
  const trimmed = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  const problem = pathProblem(trimmed);
  if (problem)
    throw new InvalidInputError(`Invalid blob prefix: ${problem}`, [{ path: 'prefix', message: problem }]);
  return prefix;
}

const ContentTypeSchema = z
  .string()
  .max(255)
  .regex(
    /^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+(\s*;\s*[^\r\n]*)?$/,
    'must be a media type like text/csv',
  );

const PutOptionsSchema = z.object({
  contentType: ContentTypeSchema,
  maxBytes: z.number().int().positive().optional(),
  ifAbsent: z.boolean().optional(),
});

const UploadOptionsSchema = z.object({
  contentType: ContentTypeSchema,
  maxBytes: z.number().int().positive(),
  expiresInSeconds: z.number().int().min(1).max(MAX_UPLOAD_URL_SECONDS),
});

const ListLimitSchema = z.number().int().min(1).max(1000);

export function putOptions(opts: BlobPutOptions): BlobPutOptions {
  return parseOptions(PutOptionsSchema, opts);
}

export function uploadOptions(opts: BlobUploadOptions): BlobUploadOptions {
  return parseOptions(UploadOptionsSchema, opts);
}

export function listLimit(limit: number): number {
  return parseOptions(ListLimitSchema, limit, 'limit');
}

function parseOptions<T>(schema: z.ZodType<T>, value: unknown, prefix = 'options'): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const fields = zodFields(parsed.error, prefix);
  throw new InvalidInputError(
    `Invalid blob ${prefix}: ${fields.map((f) => `${f.path}: ${f.message}`).join('; ')}`,
    fields,
  );
}

/** Any accepted body as a byte stream; a buffer or string becomes one chunk, not a copy per character. */
export function bodyStream(body: BlobBody): Readable {
  if (typeof body === 'string' || body instanceof Uint8Array) return Readable.from([Buffer.from(body)]);
  return body;
}

/**
 * Counts and hashes what streams through it, and fails with
 * PayloadTooLargeError the moment the count passes `maxBytes`, so a refused
 * body is never read (or stored) to its end.
 */
export class BlobMeter extends Transform {
  readonly #hash: Hash = createHash('sha256');
  readonly #maxBytes: number;
  #size = 0;
  #sha256: string | undefined;

  constructor(maxBytes = Number.POSITIVE_INFINITY) {
    super();
    this.#maxBytes = maxBytes;
  }

  override _transform(chunk: Buffer | string, encoding: BufferEncoding, done: TransformCallback): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk;
    this.#size += bytes.length;
    if (this.#size > this.#maxBytes) {
      done(new PayloadTooLargeError(`The blob is over the limit of ${this.#maxBytes} bytes`));
      return;
    }
    this.#hash.update(bytes);
    done(null, bytes);
  }

  override _flush(done: TransformCallback): void {
    this.#sha256 = this.#hash.digest('hex');
    done();
  }

  get size(): number {
    return this.#size;
  }

  /** The hex digest, once the whole body has passed. */
  get sha256(): string {
    if (this.#sha256 === undefined) throw new Error('BlobMeter: the body has not finished');
    return this.#sha256;
  }
}

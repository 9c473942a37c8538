/**
 * The blob port on one machine: content in files under `<dataDir>/blobs`,
 * metadata in a row of the runtime's SQLite file.
 *
 * Each put writes a new file with a fresh name (in `tmp/`, flushed to disk,
 * then renamed into `data/`) and publishes it by swapping the path's row in
 * one transaction; the file it replaced is removed after the commit. So the
 * row is the atomic switch: a reader sees the old content or the new, never a
 * torn file, concurrent puts to one path end with the last commit winning,
 * and `ifAbsent` is decided inside the transaction, not by a racy probe.
 * A row (not a sidecar JSON file) also makes `list` an indexed range scan in
 * path order instead of a walk of the directory tree.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import {
  BlobMeter,
  blobPath,
  blobPrefix,
  bodyStream,
  listLimit,
  putOptions,
  uploadOptions,
} from '../../platform/blobs.js';
import type { Clock } from '../../platform/clock.js';
import { ConflictError, InvalidInputError } from '../../platform/errors.js';
import type {
  BlobBody,
  BlobListOptions,
  BlobMeta,
  BlobPage,
  BlobPutOptions,
  BlobStore,
  BlobUploadOptions,
  BlobUploadUrl,
  Ports,
} from '../../platform/ports.js';
import { blobUploadHandler, signUploadToken, UPLOAD_ROUTE } from './blob-uploads.js';
import type { RawHandler } from './server.js';
import { inTransaction } from './sqlite.js';

const RowSchema = z.object({
  path: z.string(),
  file: z.string(),
  size: z.number().int().nonnegative(),
  content_type: z.string(),
  sha256: z.string(),
  created_at: z.number().int(),
});
type Row = z.infer<typeof RowSchema>;
const RemovedSchema = z.object({ file: z.string() }).optional();

/** A reader that lost a race with a replacing put looks the row up again; more than this many losses in a row is a fault. */
const MAX_READ_RACES = 8;

export interface EmbeddedBlobStoreOptions {
  /** `<dataDir>/blobs`; created if missing. */
  dir: string;
  clock: Clock;
}

export class EmbeddedBlobStore implements BlobStore {
  readonly #clock: Clock;
  readonly #tmp: string;
  readonly #data: string;
  readonly #db: DatabaseSync;
  /** Signs upload tokens: kept in the data directory so tokens survive a restart and die with the folder. */
  readonly #secret: Buffer;
  readonly #select: StatementSync;
  readonly #upsert: StatementSync;
  readonly #remove: StatementSync;
  readonly #page: StatementSync;
  readonly #fileExists: StatementSync;

  constructor(db: DatabaseSync, opts: EmbeddedBlobStoreOptions) {
    this.#clock = opts.clock;
    this.#tmp = join(opts.dir, 'tmp');
    this.#data = join(opts.dir, 'data');
    mkdirSync(this.#tmp, { recursive: true });
    mkdirSync(this.#data, { recursive: true });
    this.#secret = uploadSecret(join(opts.dir, 'upload-secret'));
    this.#select = db.prepare('SELECT * FROM blobs WHERE path = ?');
    this.#upsert = db.prepare(
      `INSERT INTO blobs (path, file, size, content_type, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (path) DO UPDATE SET file = excluded.file, size = excluded.size,
         content_type = excluded.content_type, sha256 = excluded.sha256, created_at = excluded.created_at`,
    );
    this.#remove = db.prepare('DELETE FROM blobs WHERE path = ? RETURNING file');
    // Allowed path characters all sort below 0x7f, so `prefix || char(127)` bounds the range.
    this.#page = db.prepare(
      'SELECT * FROM blobs WHERE path >= ? AND path < ? AND path > ? ORDER BY path LIMIT ?',
    );
    this.#fileExists = db.prepare('SELECT 1 FROM blobs WHERE file = ?');
    this.#db = db;
    this.#sweep();
  }

  /** The upload path for links from {@link createUploadUrl}, for the embedded server's raw handlers. */
  uploadHandler(ports: Pick<Ports, 'ids' | 'logger'>): RawHandler {
    return blobUploadHandler({ blobs: this, secret: this.#secret, clock: this.#clock, ports });
  }

  /**
   * Removes what a crash left: files still in `tmp/`, and files in `data/`
   * whose row never committed. Runs before the store serves anything, so no
   * put is in flight.
   */
  #sweep(): void {
    for (const name of readdirSync(this.#tmp)) rmSync(join(this.#tmp, name), { force: true });
    for (const name of readdirSync(this.#data)) {
      if (!this.#fileExists.get(name)) rmSync(join(this.#data, name), { force: true });
    }
  }

  #row(path: string): Row | undefined {
    const raw = this.#select.get(path);
    return raw === undefined ? undefined : RowSchema.parse(raw);
  }

  async put(path: string, body: BlobBody, opts: BlobPutOptions): Promise<BlobMeta> {
    blobPath(path);
    const o = putOptions(opts);
    // Refused before a byte is read; the transaction below decides for real.
    if (o.ifAbsent && this.#row(path)) throw alreadyExists(path);
    const file = randomUUID();
    const tmp = join(this.#tmp, file);
    const stored = join(this.#data, file);
    const meter = new BlobMeter(o.maxBytes);
    try {
      // `flush` fsyncs before close: the rename below must never publish a file whose bytes are still in flight.
      await pipeline(bodyStream(body), meter, createWriteStream(tmp, { flags: 'wx', flush: true }));
      await rename(tmp, stored);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
    const meta: BlobMeta = {
      path,
      size: meter.size,
      contentType: o.contentType,
      sha256: meter.sha256,
      createdAt: this.#clock.now(),
    };
    let replaced: string | undefined;
    try {
      replaced = inTransaction(this.#db, () => {
        const previous = this.#row(path);
        if (previous && o.ifAbsent) throw alreadyExists(path);
        this.#upsert.run(path, file, meta.size, meta.contentType, meta.sha256, meta.createdAt);
        return previous?.file;
      });
    } catch (error) {
      await rm(stored, { force: true });
      throw error;
    }
    // A reader that opened the replaced file keeps reading it: unlinking an open file leaves it readable.
    if (replaced) await rm(join(this.#data, replaced), { force: true });
    return meta;
  }

  async get(path: string): Promise<{ stream: Readable; meta: BlobMeta } | null> {
    blobPath(path);
    for (let race = 0; race < MAX_READ_RACES; race++) {
      const row = this.#row(path);
      if (!row) return null;
      let handle: FileHandle;
      try {
        handle = await open(join(this.#data, row.file), 'r');
      } catch (error) {
        // Replaced (or deleted) between the row read and the open: read the row again.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      return { stream: handle.createReadStream(), meta: toMeta(row) };
    }
    throw new Error(`Blob ${path} kept changing while it was being opened`);
  }

  async head(path: string): Promise<BlobMeta | null> {
    blobPath(path);
    const row = this.#row(path);
    return row ? toMeta(row) : null;
  }

  async delete(path: string): Promise<boolean> {
    blobPath(path);
    const removed = RemovedSchema.parse(this.#remove.get(path));
    if (!removed) return false;
    await rm(join(this.#data, removed.file), { force: true });
    return true;
  }

  async list(prefix: string, opts: BlobListOptions): Promise<BlobPage> {
    blobPrefix(prefix);
    const limit = listLimit(opts.limit);
    const after = opts.cursor === undefined ? '' : decodeCursor(opts.cursor);
    const rows = this.#page.all(prefix, `${prefix}\x7f`, after, limit + 1).map((raw) => RowSchema.parse(raw));
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      blobs: page.map(toMeta),
      nextCursor: rows.length > limit && last ? Buffer.from(last.path).toString('base64url') : undefined,
    };
  }

  async createUploadUrl(path: string, opts: BlobUploadOptions): Promise<BlobUploadUrl> {
    blobPath(path);
    const o = uploadOptions(opts);
    const expiresAt = this.#clock.now() + o.expiresInSeconds * 1000;
    const token = signUploadToken(this.#secret, {
      path,
      contentType: o.contentType,
      maxBytes: o.maxBytes,
      expiresAt,
    });
    return {
      url: `${UPLOAD_ROUTE}${token}`,
      method: 'PUT',
      headers: { 'content-type': o.contentType },
      expiresAt,
    };
  }
}

function toMeta(row: Row): BlobMeta {
  return {
    path: row.path,
    size: row.size,
    contentType: row.content_type,
    sha256: row.sha256,
    createdAt: row.created_at,
  };
}

function alreadyExists(path: string): ConflictError {
  return new ConflictError(`A blob already exists at ${path}`, { path });
}

function decodeCursor(cursor: string): string {
  const path = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[A-Za-z0-9._/-]+$/.test(path))
    throw new InvalidInputError('Invalid blob cursor', [
      { path: 'cursor', message: 'is not from this listing' },
    ]);
  return path;
}

/** The folder's signing key: made once with owner-only permissions, then read at every start. */
function uploadSecret(file: string): Buffer {
  try {
    writeFileSync(file, randomBytes(32).toString('hex'), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const secret = Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
  if (secret.length < 32)
    throw new Error(`${file} is not a Seraphim upload secret; remove it to make a new one`);
  return secret;
}

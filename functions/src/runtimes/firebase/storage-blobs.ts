/**
 * The blob port on Cloud Storage, through firebase-admin's bucket.
 *
 * A put streams the body to a temporary object under `.seraphim-uploads/`
 * (hashing and metering it on the way; a body over `maxBytes` aborts the
 * upload, so no object is made), then copies it to its path in one rewrite
 * that sets the content hash as custom metadata. Cloud Storage publishes an
 * object only when its upload completes, and the copy carries content and
 * hash together, so a reader never sees a partial blob or one without its
 * hash; `ifAbsent` is the copy's `ifGenerationMatch: 0` precondition.
 *
 * A browser upload through a signed URL goes straight to the path and has no
 * hash: the first read hashes it once and stores the hash on the object.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
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
import { ConflictError } from '../../platform/errors.js';
import type {
  BlobBody,
  BlobListOptions,
  BlobMeta,
  BlobPage,
  BlobPutOptions,
  BlobStore,
  BlobUploadOptions,
  BlobUploadUrl,
} from '../../platform/ports.js';

/** Blob paths never have a segment starting with `.`, so nothing a caller names can land here. */
export const TEMPORARY_PREFIX = '.seraphim-uploads/';
/** Bodies known to be smaller than this go up in one request; the rest (and every stream) resumably. */
const SINGLE_UPLOAD_BYTES = 5 * 1024 * 1024;
/** A reader that lost a race with a replacing put looks again; more than this many losses in a row is a fault. */
const MAX_READ_RACES = 8;

/** The part of a Cloud Storage `File` this adapter uses; a fake one serves the unit tests. */
export interface StorageFile {
  readonly name: string;
  readonly metadata: unknown;
  createWriteStream(opts: {
    resumable: boolean;
    contentType: string;
    metadata: { contentType: string };
    preconditionOpts: { ifGenerationMatch: number };
  }): Writable;
  createReadStream(): Readable;
  copy(
    destination: string,
    opts: {
      contentType: string;
      metadata: Record<string, string>;
      preconditionOpts?: { ifGenerationMatch: number };
    },
  ): Promise<[unknown, unknown]>;
  delete(opts: { ignoreNotFound: boolean }): Promise<unknown>;
  getMetadata(): Promise<[unknown, ...unknown[]]>;
  setMetadata(
    metadata: { metadata: Record<string, string> },
    opts: { ifMetagenerationMatch: number },
  ): Promise<unknown>;
  getSignedUrl(cfg: {
    version: 'v4';
    action: 'write';
    expires: number;
    contentType: string;
    extensionHeaders: Record<string, string>;
  }): Promise<[string]>;
}

export interface StorageBucket {
  file(name: string, opts?: { generation?: number }): StorageFile;
  getFiles(query: {
    prefix: string;
    maxResults: number;
    pageToken?: string;
    autoPaginate: false;
  }): Promise<[StorageFile[], ...unknown[]]>;
}

const Int = z.union([z.number(), z.string().regex(/^\d+$/)]).transform(Number);

/** The object resource fields the meta comes from; parsed, as everything Cloud Storage returns is. */
const ObjectSchema = z.object({
  name: z.string(),
  size: Int,
  contentType: z.string().optional(),
  timeCreated: z.string(),
  generation: Int,
  metageneration: Int,
  metadata: z.record(z.string(), z.unknown()).nullish(),
});
type StoredObject = z.infer<typeof ObjectSchema>;

const NextQuerySchema = z.object({ pageToken: z.string().optional() }).nullish();
const RewriteSchema = z.object({ resource: ObjectSchema });

/** The hash as custom metadata, under the name `x-goog-meta-sha256` carries over HTTP. */
const HASH_KEY = 'sha256';

export interface StorageBlobStoreOptions {
  /** Loaded on first use: firebase-admin's storage client is not loaded until a handler needs it. */
  bucket: () => Promise<StorageBucket>;
  clock: Clock;
}

export class StorageBlobStore implements BlobStore {
  readonly #load: () => Promise<StorageBucket>;
  readonly #clock: Clock;
  #loaded: Promise<StorageBucket> | undefined;

  constructor(opts: StorageBlobStoreOptions) {
    this.#load = opts.bucket;
    this.#clock = opts.clock;
  }

  /** Kept once made; a failure (say, no emulator) is not kept, so the next call says it again or succeeds. */
  #bucket(): Promise<StorageBucket> {
    this.#loaded ??= this.#load().catch((error: unknown) => {
      this.#loaded = undefined;
      throw error;
    });
    return this.#loaded;
  }

  async put(path: string, body: BlobBody, opts: BlobPutOptions): Promise<BlobMeta> {
    blobPath(path);
    const o = putOptions(opts);
    // Refused before the body is sent; the copy's precondition decides for real.
    if (o.ifAbsent && (await this.#object(path))) throw alreadyExists(path);
    const bucket = await this.#bucket();
    const temporary = bucket.file(`${TEMPORARY_PREFIX}${randomUUID()}`);
    const meter = new BlobMeter(o.maxBytes);
    const known =
      typeof body === 'string'
        ? Buffer.byteLength(body)
        : body instanceof Uint8Array
          ? body.length
          : undefined;
    try {
      await pipeline(
        bodyStream(body),
        meter,
        temporary.createWriteStream({
          resumable: known === undefined || known >= SINGLE_UPLOAD_BYTES,
          contentType: o.contentType,
          metadata: { contentType: o.contentType },
          preconditionOpts: { ifGenerationMatch: 0 },
        }),
      );
      const [, response] = await temporary.copy(path, {
        contentType: o.contentType,
        metadata: { [HASH_KEY]: meter.sha256 },
        ...(o.ifAbsent ? { preconditionOpts: { ifGenerationMatch: 0 } } : {}),
      });
      return toMeta(RewriteSchema.parse(response).resource, meter.sha256);
    } catch (error) {
      if (statusOf(error) === 412) throw alreadyExists(path);
      throw error;
    } finally {
      // An aborted upload made no object; a finished one is a copy now. Either way the temporary goes.
      await temporary.delete({ ignoreNotFound: true }).catch(() => undefined);
    }
  }

  async get(path: string): Promise<{ stream: Readable; meta: BlobMeta } | null> {
    for (let race = 0; race < MAX_READ_RACES; race++) {
      const object = await this.#object(path);
      if (!object) return null;
      const meta = await this.#meta(object);
      // Pinned to the generation the meta describes: a put racing this read cannot swap the content under it.
      const stream = (await this.#bucket()).file(path, { generation: object.generation }).createReadStream();
      try {
        await once(stream, 'readable');
        return { stream, meta };
      } catch (error) {
        stream.destroy();
        // That generation was replaced (or deleted) before its download began: look again.
        if (statusOf(error) !== 404) throw error;
      }
    }
    throw new Error(`Blob ${path} kept changing while it was being opened`);
  }

  async head(path: string): Promise<BlobMeta | null> {
    const object = await this.#object(path);
    return object ? this.#meta(object) : null;
  }

  async delete(path: string): Promise<boolean> {
    blobPath(path);
    try {
      await (await this.#bucket()).file(path).delete({ ignoreNotFound: false });
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw error;
    }
  }

  async list(prefix: string, opts: BlobListOptions): Promise<BlobPage> {
    blobPrefix(prefix);
    const limit = listLimit(opts.limit);
    const [files, next] = await (await this.#bucket()).getFiles({
      prefix,
      maxResults: limit,
      autoPaginate: false,
      ...(opts.cursor === undefined ? {} : { pageToken: opts.cursor }),
    });
    const blobs: BlobMeta[] = [];
    for (const file of files) {
      // Uploads in progress; the page may come back short of `limit` by them, and stays bounded.
      if (file.name.startsWith(TEMPORARY_PREFIX)) continue;
      blobs.push(await this.#meta(ObjectSchema.parse(file.metadata)));
    }
    return { blobs, nextCursor: NextQuerySchema.parse(next)?.pageToken };
  }

  async createUploadUrl(path: string, opts: BlobUploadOptions): Promise<BlobUploadUrl> {
    blobPath(path);
    const o = uploadOptions(opts);
    const expiresAt = this.#clock.now() + o.expiresInSeconds * 1000;
    // Cloud Storage refuses a body outside this range; the signature makes the browser send it.
    const range = { 'x-goog-content-length-range': `0,${o.maxBytes}` };
    const [url] = await (await this.#bucket()).file(path).getSignedUrl({
      version: 'v4',
      action: 'write',
      expires: expiresAt,
      contentType: o.contentType,
      extensionHeaders: range,
    });
    return { url, method: 'PUT', headers: { 'content-type': o.contentType, ...range }, expiresAt };
  }

  async #object(path: string): Promise<StoredObject | null> {
    blobPath(path);
    try {
      const [metadata] = await (await this.#bucket()).file(path).getMetadata();
      return ObjectSchema.parse(metadata);
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw error;
    }
  }

  /** The object's meta, hashing it first if it came in through a signed URL. */
  async #meta(object: StoredObject): Promise<BlobMeta> {
    const stored = object.metadata?.[HASH_KEY];
    if (typeof stored === 'string') return toMeta(object, stored);
    const file = (await this.#bucket()).file(object.name, { generation: object.generation });
    const meter = new BlobMeter();
    await pipeline(file.createReadStream(), meter, async (chunks: AsyncIterable<unknown>) => {
      for await (const _ of chunks); // the meter has seen the bytes; nothing else wants them
    });
    try {
      await file.setMetadata(
        { metadata: { [HASH_KEY]: meter.sha256 } },
        { ifMetagenerationMatch: object.metageneration },
      );
    } catch (error) {
      // Someone else stored the hash (or replaced the object) first: this read's hash stays right for this read.
      if (statusOf(error) !== 412 && statusOf(error) !== 404) throw error;
    }
    return toMeta(object, meter.sha256);
  }
}

function toMeta(object: StoredObject, sha256: string): BlobMeta {
  return {
    path: object.name,
    size: object.size,
    contentType: object.contentType ?? 'application/octet-stream',
    sha256,
    createdAt: Date.parse(object.timeCreated),
  };
}

function alreadyExists(path: string): ConflictError {
  return new ConflictError(`A blob already exists at ${path}`, { path });
}

/** The HTTP status of a Cloud Storage client error (its `code`), if it has one. */
function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const code = Number(error.code);
  return Number.isInteger(code) ? code : undefined;
}

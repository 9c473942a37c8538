/**
 * The blob port's contract: one suite every adapter must pass, so files under
 * the data directory and Cloud Storage cannot drift apart.
 *
 * The upload-URL tests PUT over real HTTP to whatever `createUploadUrl`
 * returns. An adapter whose URLs cannot be exercised where it runs (the
 * Storage emulator cannot sign them) registers the suite with
 * `{ uploads: false }` and covers them elsewhere.
 */
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, InvalidInputError, PayloadTooLargeError } from '../../platform/errors.js';
import type { BlobMeta, BlobStore } from '../../platform/ports.js';

export interface BlobContractSubject {
  blobs: BlobStore;
  /** What a relative upload URL resolves against (the embedded server's origin). */
  origin?: string;
  teardown(): Promise<void>;
}

const MiB = 1024 * 1024;

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** `count` chunks of `size` bytes, each filled with its index: a body that exists only as it is read. */
function* chunks(count: number, size: number, pulled?: { count: number }): Generator<Buffer> {
  for (let i = 0; i < count; i++) {
    if (pulled) pulled.count += 1;
    yield Buffer.alloc(size, i % 251);
  }
}

export interface UploadResponse {
  status: number;
  body: string;
}

/** One PUT over real HTTP(S), with the body sent as given; resolves with the answer however early it comes. */
export function sendUpload(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: Uint8Array,
): Promise<UploadResponse> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(
      url,
      { method, headers: { ...headers, 'content-length': String(body.length) } },
      (res) => {
        answered = true;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    // A server that refuses early may close before the body is written: the answer is what counts.
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    req.end(body);
  });
}

export function describeBlobStoreContract(
  name: string,
  setup: () => Promise<BlobContractSubject>,
  opts: { uploads: boolean },
): void {
  describe(`BlobStore contract: ${name}`, () => {
    let subject: BlobContractSubject | undefined;
    let blobs: BlobStore;
    // Paths are unique per test so a shared real bucket needs no emptying between tests.
    const run = Math.random().toString(36).slice(2, 8);
    let testIndex = 0;
    let root = '';
    const at = (suffix: string) => `${root}/${suffix}`;

    beforeEach(async () => {
      subject = await setup();
      blobs = subject.blobs;
      testIndex += 1;
      root = `contract-${run}-${testIndex}`;
    });
    afterEach(async () => {
      await subject?.teardown();
      subject = undefined;
    });

    it('stores a string, bytes and a stream, and gives back the same content and meta', async () => {
      const bodies = {
        text: 'id,amount\n1,10\n',
        bytes: new Uint8Array([0, 1, 2, 255]),
        stream: Readable.from([Buffer.from('{"a":1}\n'), Buffer.from('{"a":2}\n')]),
      };
      const expected = {
        text: Buffer.from(bodies.text),
        bytes: Buffer.from(bodies.bytes),
        stream: Buffer.from('{"a":1}\n{"a":2}\n'),
      };
      for (const key of ['text', 'bytes', 'stream'] as const) {
        const before = Date.now();
        const meta = await blobs.put(at(key), bodies[key], { contentType: 'application/x-ndjson' });
        expect(meta).toEqual({
          path: at(key),
          size: expected[key].length,
          contentType: 'application/x-ndjson',
          sha256: sha256(expected[key]),
          createdAt: expect.any(Number),
        });
        // A minute of slack either way for a remote server's clock.
        expect(Math.abs(meta.createdAt - before)).toBeLessThan(60_000);
        expect(await blobs.head(at(key))).toEqual(meta);
        const got = await blobs.get(at(key));
        expect(got?.meta).toEqual(meta);
        expect(await readAll(got?.stream ?? Readable.from([]))).toEqual(expected[key]);
      }
    });

    it('stores an empty blob', async () => {
      const meta = await blobs.put(at('empty'), '', { contentType: 'text/plain' });
      expect(meta).toMatchObject({ size: 0, sha256: sha256('') });
      const got = await blobs.get(at('empty'));
      expect((await readAll(got?.stream ?? Readable.from([]))).length).toBe(0);
    });

    it('streams a 20 MiB body in and out, with its size and hash', async () => {
      const hash = createHash('sha256');
      for (const chunk of chunks(320, 64 * 1024)) hash.update(chunk);
      const meta = await blobs.put(at('large.bin'), Readable.from(chunks(320, 64 * 1024)), {
        contentType: 'application/octet-stream',
      });
      expect(meta.size).toBe(20 * MiB);
      expect(meta.sha256).toBe(hash.digest('hex'));
      const got = await blobs.get(at('large.bin'));
      const back = createHash('sha256');
      let size = 0;
      for await (const chunk of got?.stream ?? Readable.from([])) {
        back.update(chunk as Uint8Array);
        size += (chunk as Uint8Array).length;
      }
      expect(size).toBe(20 * MiB);
      expect(back.digest('hex')).toBe(meta.sha256);
    });

    it('refuses a body as it passes maxBytes, stops reading it and leaves nothing (nor harms what was there)', async () => {
      const pulled = { count: 0 };
      await expect(
        blobs.put(at('new.bin'), Readable.from(chunks(64, 64 * 1024, pulled)), {
          contentType: 'application/octet-stream',
          maxBytes: 100 * 1024,
        }),
      ).rejects.toBeInstanceOf(PayloadTooLargeError);
      // Refused at the second chunk: a few more may be in flight in stream buffers, never the whole body.
      expect(pulled.count).toBeLessThan(16);
      expect(await blobs.head(at('new.bin'))).toBeNull();
      expect((await blobs.list(root, { limit: 10 })).blobs).toEqual([]);

      const kept = await blobs.put(at('kept.txt'), 'keep me', { contentType: 'text/plain' });
      await expect(
        blobs.put(at('kept.txt'), 'x'.repeat(2048), { contentType: 'text/plain', maxBytes: 1024 }),
      ).rejects.toBeInstanceOf(PayloadTooLargeError);
      expect(await blobs.head(at('kept.txt'))).toEqual(kept);
      expect(
        await blobs.put(at('exact.txt'), 'x'.repeat(1024), { contentType: 'text/plain', maxBytes: 1024 }),
      ).toMatchObject({ size: 1024 });
    });

    it('ifAbsent stores once, then refuses with ConflictError and keeps the first content', async () => {
      const first = await blobs.put(at('once'), 'first', { contentType: 'text/plain', ifAbsent: true });
      await expect(
        blobs.put(at('once'), 'second', { contentType: 'text/plain', ifAbsent: true }),
      ).rejects.toBeInstanceOf(ConflictError);
      expect(await blobs.head(at('once'))).toEqual(first);
      // Without it, a put replaces.
      const second = await blobs.put(at('once'), 'second', { contentType: 'text/csv' });
      expect(await blobs.head(at('once'))).toEqual(second);
      expect(second.sha256).toBe(sha256('second'));
    });

    it('of concurrent puts to one path, one wins whole: never a mix, never a torn read', async () => {
      const body = (fill: number) =>
        Readable.from(Array.from({ length: 8 }, () => Buffer.alloc(32 * 1024, fill)));
      await blobs.put(at('contended'), body(0), { contentType: 'application/octet-stream' });
      const readWhole = async () => {
        const got = await blobs.get(at('contended'));
        const content = await readAll(got?.stream ?? Readable.from([]));
        expect(content.length).toBe(got?.meta.size);
        expect(sha256(content)).toBe(got?.meta.sha256);
        expect(new Set(content).size).toBe(1); // every byte from the same writer
        return got?.meta;
      };
      let writing = true;
      const reader = (async () => {
        let reads = 0;
        while (writing || reads === 0) {
          await readWhole();
          reads += 1;
        }
        return reads;
      })();
      const metas = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          blobs.put(at('contended'), body(i + 1), { contentType: 'application/octet-stream' }),
        ),
      );
      writing = false;
      expect(await reader).toBeGreaterThan(0);
      const final = await readWhole();
      expect(metas.map((m) => m.sha256)).toContain(final?.sha256);
    });

    it('refuses paths outside the safe subset with InvalidInputError, on every operation', async () => {
      const bad = [
        '',
        '/leading',
        'trailing/',
        'a//b',
        '../escape',
        'a/../b',
        'a/./b',
        '.hidden',
        'a/.hidden',
        'space here',
        'unicodé',
        'back\\slash',
        'q?x',
        'x'.repeat(1025),
      ];
      for (const path of bad) {
        await expect(blobs.put(path, 'x', { contentType: 'text/plain' }), path).rejects.toBeInstanceOf(
          InvalidInputError,
        );
        await expect(blobs.get(path), path).rejects.toBeInstanceOf(InvalidInputError);
        await expect(blobs.head(path), path).rejects.toBeInstanceOf(InvalidInputError);
        await expect(blobs.delete(path), path).rejects.toBeInstanceOf(InvalidInputError);
        await expect(
          blobs.createUploadUrl(path, { contentType: 'text/plain', maxBytes: 10, expiresInSeconds: 60 }),
          path,
        ).rejects.toBeInstanceOf(InvalidInputError);
      }
      await expect(blobs.list('../', { limit: 10 })).rejects.toBeInstanceOf(InvalidInputError);
      expect(await blobs.put('x'.repeat(1024), 'x', { contentType: 'text/plain' })).toMatchObject({
        size: 1,
      });
      await blobs.delete('x'.repeat(1024));
    });

    it('refuses bad options with InvalidInputError', async () => {
      await expect(blobs.put(at('o'), 'x', { contentType: 'not a type' })).rejects.toBeInstanceOf(
        InvalidInputError,
      );
      await expect(
        blobs.put(at('o'), 'x', { contentType: 'text/plain', maxBytes: 0 }),
      ).rejects.toBeInstanceOf(InvalidInputError);
      await expect(blobs.list(root, { limit: 0 })).rejects.toBeInstanceOf(InvalidInputError);
      await expect(
        blobs.createUploadUrl(at('o'), {
          contentType: 'text/plain',
          maxBytes: 10,
          expiresInSeconds: 8 * 24 * 3600,
        }),
      ).rejects.toBeInstanceOf(InvalidInputError);
      expect(await blobs.head(at('o'))).toBeNull();
    });

    it('lists by prefix in path order, one bounded page at a time', async () => {
      const names = ['a/3', 'a/1', 'a/sub/2', 'a/0', 'a/5', 'a/4', 'a/6', 'b/1', 'b/2', 'ab'];
      for (const n of names) await blobs.put(at(n), n, { contentType: 'text/plain' });
      const seen: BlobMeta[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await blobs.list(at('a/'), { limit: 3, ...(cursor ? { cursor } : {}) });
        expect(page.blobs.length).toBeLessThanOrEqual(3);
        seen.push(...page.blobs);
        cursor = page.nextCursor;
        pages += 1;
      } while (cursor && pages < 10);
      expect(seen.map((m) => m.path)).toEqual(['a/0', 'a/1', 'a/3', 'a/4', 'a/5', 'a/6', 'a/sub/2'].map(at));
      expect(seen.every((m) => m.sha256 === sha256(m.path.slice(root.length + 1)))).toBe(true);
      expect((await blobs.list(at('b/'), { limit: 10 })).blobs.map((m) => m.path)).toEqual([
        at('b/1'),
        at('b/2'),
      ]);
      expect((await blobs.list(at('a'), { limit: 100 })).blobs).toHaveLength(8);
      expect(await blobs.list(at('none/'), { limit: 10 })).toEqual({ blobs: [], nextCursor: undefined });
    });

    it('deletes, reporting whether there was a blob, and leaves its neighbours', async () => {
      await blobs.put(at('gone'), 'x', { contentType: 'text/plain' });
      const neighbour = await blobs.put(at('gone2'), 'y', { contentType: 'text/plain' });
      expect(await blobs.delete(at('gone'))).toBe(true);
      expect(await blobs.get(at('gone'))).toBeNull();
      expect(await blobs.head(at('gone'))).toBeNull();
      expect(await blobs.delete(at('gone'))).toBe(false);
      expect(await blobs.head(at('gone2'))).toEqual(neighbour);
      // A deleted path takes a new blob, ifAbsent included.
      expect(await blobs.put(at('gone'), 'z', { contentType: 'text/plain', ifAbsent: true })).toMatchObject({
        size: 1,
      });
    });

    it('answers null for what is not there', async () => {
      expect(await blobs.get(at('missing'))).toBeNull();
      expect(await blobs.head(at('missing'))).toBeNull();
    });

    if (!opts.uploads) return;

    const urlOf = (url: string) => new URL(url, subject?.origin);

    it('an upload URL takes a PUT of up to maxBytes with its headers, and the blob is stored', async () => {
      const link = await blobs.createUploadUrl(at('up.csv'), {
        contentType: 'text/csv',
        maxBytes: 1024,
        expiresInSeconds: 300,
      });
      expect(link.method).toBe('PUT');
      expect(link.headers['content-type']).toBe('text/csv');
      expect(link.expiresAt).toBeGreaterThan(Date.now() + 200_000);
      const body = Buffer.alloc(1024, 'a');
      const res = await sendUpload(urlOf(link.url), link.method, link.headers, body);
      expect(res.status, res.body).toBeGreaterThanOrEqual(200);
      expect(res.status, res.body).toBeLessThan(300);
      expect(await blobs.head(at('up.csv'))).toMatchObject({
        path: at('up.csv'),
        size: 1024,
        contentType: 'text/csv',
        sha256: sha256(body),
      });
    });

    it('an upload URL refuses a bigger body, another content type and, once expired, anything; nothing is stored', async () => {
      const link = await blobs.createUploadUrl(at('capped'), {
        contentType: 'text/csv',
        maxBytes: 1024,
        expiresInSeconds: 1,
      });
      const big = await sendUpload(urlOf(link.url), link.method, link.headers, Buffer.alloc(1025, 'a'));
      expect(big.status).toBeGreaterThanOrEqual(400);
      const wrongType = await sendUpload(
        urlOf(link.url),
        link.method,
        { ...link.headers, 'content-type': 'text/html' },
        Buffer.from('<b>'),
      );
      expect(wrongType.status).toBeGreaterThanOrEqual(400);
      expect(await blobs.head(at('capped'))).toBeNull();
      await new Promise((r) => setTimeout(r, Math.max(0, link.expiresAt - Date.now()) + 100));
      const late = await sendUpload(urlOf(link.url), link.method, link.headers, Buffer.from('a'));
      expect(late.status).toBeGreaterThanOrEqual(400);
      expect(late.status).toBeLessThan(500);
      expect(await blobs.head(at('capped'))).toBeNull();
    });
  });
}

/**
 * StorageBlobStore's own logic without Cloud Storage: how paths, metadata and
 * signed-URL options map onto the bucket, on an in-memory bucket that keeps
 * Cloud Storage's rules this adapter relies on (an object appears only when
 * its upload completes; generation preconditions answer 412). The adapter
 * against the real service is storage.contract.test.ts, under
 * `npm run test:emulators`.
 */
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type Clock, ManualClock, systemClock } from '../../platform/clock.js';
import { describeBlobStoreContract, readAll } from '../contracts/blobs.contract.js';
import { StorageBlobStore, type StorageBucket, type StorageFile, TEMPORARY_PREFIX } from './storage-blobs.js';

interface FakeObject {
  data: Buffer;
  generation: number;
  metageneration: number;
  contentType: string | undefined;
  metadata: Record<string, string>;
  timeCreated: string;
}

const status = (code: number, message: string) => Object.assign(new Error(message), { code });

class FakeBucket implements StorageBucket {
  readonly objects = new Map<string, FakeObject>();
  readonly calls: Array<{ op: string; name: string; opts?: unknown }> = [];
  #generation = 1;
  constructor(readonly clock: Clock = new ManualClock()) {}

  resource(name: string, o: FakeObject) {
    return {
      name,
      size: String(o.data.length),
      contentType: o.contentType,
      timeCreated: o.timeCreated,
      generation: String(o.generation),
      metageneration: String(o.metageneration),
      metadata: o.metadata,
    };
  }

  store(name: string, data: Buffer, contentType: string | undefined, metadata: Record<string, string>) {
    const o: FakeObject = {
      data,
      generation: this.#generation++,
      metageneration: 1,
      contentType,
      metadata,
      timeCreated: new Date(this.clock.now()).toISOString(),
    };
    this.objects.set(name, o);
    return o;
  }

  file(name: string, opts: { generation?: number } = {}): StorageFile {
    const bucket = this;
    const current = () => {
      const o = bucket.objects.get(name);
      if (!o || (opts.generation !== undefined && o.generation !== opts.generation))
        throw status(404, `No such object: ${name}`);
      return o;
    };
    return {
      name,
      get metadata() {
        return bucket.resource(name, current());
      },
      createWriteStream(o) {
        bucket.calls.push({ op: 'write', name, opts: o });
        const parts: Buffer[] = [];
        return new Writable({
          write(chunk: Buffer, _enc, done) {
            parts.push(chunk);
            done();
          },
          final(done) {
            if (o.preconditionOpts.ifGenerationMatch === 0 && bucket.objects.has(name))
              return done(status(412, 'precondition'));
            bucket.store(name, Buffer.concat(parts), o.contentType, {});
            done();
          },
        });
      },
      createReadStream() {
        bucket.calls.push({ op: 'read', name });
        try {
          return Readable.from([current().data]);
        } catch (error) {
          return new Readable({
            read() {
              this.destroy(error as Error);
            },
          });
        }
      },
      async copy(destination, o) {
        bucket.calls.push({ op: 'copy', name, opts: { destination, ...o } });
        const source = current();
        if (o.preconditionOpts?.ifGenerationMatch === 0 && bucket.objects.has(destination))
          throw status(412, 'precondition');
        const copied = bucket.store(destination, source.data, o.contentType, o.metadata);
        return [bucket.file(destination), { resource: bucket.resource(destination, copied) }];
      },
      async delete(o) {
        bucket.calls.push({ op: 'delete', name });
        if (!bucket.objects.delete(name) && !o.ignoreNotFound) throw status(404, 'not found');
        return [];
      },
      async getMetadata() {
        return [bucket.resource(name, current())];
      },
      async setMetadata(meta, o) {
        bucket.calls.push({ op: 'setMetadata', name, opts: { meta, ...o } });
        const obj = current();
        if (obj.metageneration !== o.ifMetagenerationMatch) throw status(412, 'precondition');
        obj.metadata = { ...obj.metadata, ...meta.metadata };
        obj.metageneration += 1;
        return [];
      },
      async getSignedUrl(cfg) {
        bucket.calls.push({ op: 'sign', name, opts: cfg });
        return [`https://storage.example/${name}?X-Goog-Signature=fake`];
      },
    };
  }

  async getFiles(query: {
    prefix: string;
    maxResults: number;
    pageToken?: string;
  }): Promise<[StorageFile[], ...unknown[]]> {
    const names = [...this.objects.keys()]
      .filter((n) => n.startsWith(query.prefix) && (query.pageToken === undefined || n > query.pageToken))
      .sort();
    const page = names.slice(0, query.maxResults);
    const more = names.length > query.maxResults;
    return [page.map((n) => this.file(n)), more ? { pageToken: page.at(-1) } : null];
  }
}

const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

describeBlobStoreContract(
  'Cloud Storage adapter on an in-memory bucket',
  async () => {
    const bucket = new FakeBucket(systemClock);
    return {
      blobs: new StorageBlobStore({ bucket: async () => bucket, clock: systemClock }),
      teardown: async () => {},
    };
  },
  { uploads: false },
);

describe('StorageBlobStore mapping onto the bucket', () => {
  const make = () => {
    const clock = new ManualClock();
    const bucket = new FakeBucket(clock);
    return { bucket, clock, blobs: new StorageBlobStore({ bucket: async () => bucket, clock }) };
  };

  it('uploads to a temporary object, then copies it to the path with the hash as custom metadata', async () => {
    const { bucket, blobs } = make();
    const meta = await blobs.put('ws/in.csv', 'a,b\n', { contentType: 'text/csv', ifAbsent: true });
    const [write, copy] = bucket.calls;
    expect(write).toMatchObject({
      op: 'write',
      opts: {
        resumable: false,
        contentType: 'text/csv',
        preconditionOpts: { ifGenerationMatch: 0 },
      },
    });
    expect(write?.name.startsWith(TEMPORARY_PREFIX)).toBe(true);
    expect(copy).toMatchObject({
      op: 'copy',
      name: write?.name,
      opts: {
        destination: 'ws/in.csv',
        contentType: 'text/csv',
        metadata: { sha256: sha256('a,b\n') },
        preconditionOpts: { ifGenerationMatch: 0 },
      },
    });
    expect([...bucket.objects.keys()]).toEqual(['ws/in.csv']);
    expect(bucket.objects.get('ws/in.csv')?.metadata).toEqual({ sha256: meta.sha256 });
    // A stream's length is unknown: it goes up resumably.
    await blobs.put('ws/s', Readable.from([Buffer.from('x')]), { contentType: 'text/plain' });
    expect(bucket.calls.filter((c) => c.op === 'write').at(-1)?.opts).toMatchObject({ resumable: true });
  });

  it('a refused body leaves no object, temporary or final', async () => {
    const { bucket, blobs } = make();
    await expect(
      blobs.put('ws/big', Readable.from([Buffer.alloc(600), Buffer.alloc(600)]), {
        contentType: 'application/octet-stream',
        maxBytes: 1000,
      }),
    ).rejects.toMatchObject({ code: 'payload-too-large' });
    expect(bucket.objects.size).toBe(0);
    expect(bucket.calls.some((c) => c.op === 'copy')).toBe(false);
  });

  it('hashes a blob uploaded through a signed URL on its first read, once, under a metageneration precondition', async () => {
    const { bucket, blobs } = make();
    bucket.store('ws/direct.csv', Buffer.from('1,2\n'), 'text/csv', {});
    const meta = await blobs.head('ws/direct.csv');
    expect(meta).toEqual({
      path: 'ws/direct.csv',
      size: 4,
      contentType: 'text/csv',
      sha256: sha256('1,2\n'),
      createdAt: Date.UTC(2026, 0, 1),
    });
    expect(bucket.calls.filter((c) => c.op === 'setMetadata')).toEqual([
      {
        op: 'setMetadata',
        name: 'ws/direct.csv',
        opts: { meta: { metadata: { sha256: sha256('1,2\n') } }, ifMetagenerationMatch: 1 },
      },
    ]);
    const reads = bucket.calls.filter((c) => c.op === 'read').length;
    const got = await blobs.get('ws/direct.csv');
    expect(got?.meta).toEqual(meta);
    expect((await readAll(got?.stream ?? Readable.from([]))).toString()).toBe('1,2\n');
    // One read to hash, one to serve the get: the hash is not computed twice.
    expect(bucket.calls.filter((c) => c.op === 'read').length).toBe(reads + 1);
  });

  it('a read that loses a race with a replacing put looks again and serves the new blob whole', async () => {
    const { bucket, blobs } = make();
    await blobs.put('ws/r', 'old', { contentType: 'text/plain' });
    const file = bucket.file.bind(bucket);
    let raced = false;
    // The replacing put lands between the read's metadata and its download of that generation.
    bucket.file = (name, opts) => {
      if (!raced && name === 'ws/r' && opts?.generation !== undefined) {
        raced = true;
        bucket.store(name, Buffer.from('new!'), 'text/plain', { sha256: sha256('new!') });
      }
      return file(name, opts);
    };
    const got = await blobs.get('ws/r');
    expect(raced).toBe(true);
    expect(got?.meta).toMatchObject({ size: 4, sha256: sha256('new!') });
    expect((await readAll(got?.stream ?? Readable.from([]))).toString()).toBe('new!');
  });

  it('signs a V4 PUT URL that pins the content type and caps the length', async () => {
    const { bucket, clock, blobs } = make();
    const link = await blobs.createUploadUrl('ws/up.ndjson', {
      contentType: 'application/x-ndjson',
      maxBytes: 5000,
      expiresInSeconds: 900,
    });
    expect(bucket.calls).toEqual([
      {
        op: 'sign',
        name: 'ws/up.ndjson',
        opts: {
          version: 'v4',
          action: 'write',
          expires: clock.now() + 900_000,
          contentType: 'application/x-ndjson',
          extensionHeaders: { 'x-goog-content-length-range': '0,5000' },
        },
      },
    ]);
    expect(link).toEqual({
      url: 'https://storage.example/ws/up.ndjson?X-Goog-Signature=fake',
      method: 'PUT',
      headers: { 'content-type': 'application/x-ndjson', 'x-goog-content-length-range': '0,5000' },
      expiresAt: clock.now() + 900_000,
    });
  });

  it('lists without uploads in progress, passing the cursor as the page token', async () => {
    const { bucket, blobs } = make();
    await blobs.put('a', 'x', { contentType: 'text/plain' });
    bucket.store(`${TEMPORARY_PREFIX}in-flight`, Buffer.from('y'), 'text/plain', {});
    await blobs.put('b', 'x', { contentType: 'text/plain' });
    const first = await blobs.list('', { limit: 2 });
    // The page held the temporary object and `a`: it comes back short, and still bounded.
    expect(first.blobs.map((b) => b.path)).toEqual(['a']);
    expect(first.nextCursor).toBe('a');
    const second = await blobs.list('', { limit: 2, cursor: first.nextCursor });
    expect(second).toEqual({ blobs: [expect.objectContaining({ path: 'b' })], nextCursor: undefined });
  });

  it('loads the bucket on first use and does not keep a failure to load it', async () => {
    const bucket = new FakeBucket();
    let attempts = 0;
    const blobs = new StorageBlobStore({
      bucket: async () => {
        attempts += 1;
        if (attempts === 1) throw new Error('Cloud Storage is not emulated here');
        return bucket;
      },
      clock: new ManualClock(),
    });
    expect(attempts).toBe(0);
    await expect(blobs.head('x')).rejects.toThrow('not emulated');
    expect(await blobs.head('x')).toBeNull();
    expect(await blobs.head('y')).toBeNull();
    expect(attempts).toBe(2);
  });
});

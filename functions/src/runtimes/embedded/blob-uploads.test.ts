/**
 * The embedded upload path beyond the contract: the cap enforced while the
 * body streams, what a refused or abandoned upload leaves (nothing), the
 * token's checks, and what survives a restart. Real server, real files.
 */
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { type IncomingMessage, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startTestRuntime, type TestRuntime } from '../../test-support/embedded.js';
import { readAll, sendUpload } from '../contracts/blobs.contract.js';
import { UPLOAD_ROUTE } from './blob-uploads.js';

const KiB = 1024;
const started: TestRuntime[] = [];
const folders: string[] = [];

afterEach(async () => {
  for (const rt of started.splice(0)) await rt.dispose();
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function runtime(dataDir?: string): Promise<TestRuntime> {
  const rt = await startTestRuntime([], dataDir ? { dataDir } : {});
  started.push(rt);
  return rt;
}

function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'seraphim-blob-uploads-'));
  folders.push(dir);
  return dir;
}

const files = (dataDir: string, sub: 'tmp' | 'data') => readdirSync(join(dataDir, 'blobs', sub));

/**
 * Streams up to `total` bytes as a chunked body (no content-length), a chunk
 * at a time, and stops writing as soon as the server answers.
 */
async function streamUpload(
  url: URL,
  headers: Record<string, string>,
  total: number,
): Promise<{ status: number; headers: IncomingMessage['headers']; body: string; written: number }> {
  const req = request(url, { method: 'PUT', headers });
  req.on('error', () => {}); // the server may close while we write: its answer is what counts
  const answered = once(req, 'response') as Promise<[IncomingMessage]>;
  let response: IncomingMessage | undefined;
  void answered.then(([res]) => {
    response = res;
  });
  let written = 0;
  const chunk = Buffer.alloc(64 * KiB, 'a');
  while (!response && written < total) {
    written += chunk.length;
    if (!req.write(chunk)) await Promise.race([once(req, 'drain'), answered]);
  }
  if (!response) req.end();
  const [res] = await answered;
  const body = (await readAll(res)).toString('utf8');
  return { status: res.statusCode ?? 0, headers: res.headers, body, written };
}

describe('embedded blob upload path', () => {
  it('answers 201 with the blob meta', async () => {
    const rt = await runtime();
    const link = await rt.runtime.ports.blobs.createUploadUrl('uploads/a.csv', {
      contentType: 'text/csv',
      maxBytes: 100,
      expiresInSeconds: 60,
    });
    expect(link.url.startsWith(UPLOAD_ROUTE)).toBe(true);
    const res = await sendUpload(new URL(link.url, rt.url), 'PUT', link.headers, Buffer.from('a,b\n1,2\n'));
    expect(res.status).toBe(201);
    expect(JSON.parse(res.body)).toEqual(await rt.runtime.ports.blobs.head('uploads/a.csv'));
  });

  it('refuses a streamed body with 413 as soon as it passes the cap, closes the connection and keeps nothing', async () => {
    const dataDir = folder();
    const rt = await runtime(dataDir);
    const link = await rt.runtime.ports.blobs.createUploadUrl('uploads/big.bin', {
      contentType: 'application/octet-stream',
      maxBytes: 256 * KiB,
      expiresInSeconds: 60,
    });
    const total = 64 * 1024 * KiB;
    const res = await streamUpload(new URL(link.url, rt.url), link.headers, total);
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toMatchObject({ status: 413, code: 'payload-too-large' });
    expect(res.headers.connection).toBe('close');
    expect(res.written).toBeLessThan(total);
    expect(await rt.runtime.ports.blobs.head('uploads/big.bin')).toBeNull();
    expect(files(dataDir, 'tmp')).toEqual([]);
    expect(files(dataDir, 'data')).toEqual([]);
  });

  it('refuses a declared content-length over the cap before reading the body', async () => {
    const rt = await runtime();
    const link = await rt.runtime.ports.blobs.createUploadUrl('uploads/declared', {
      contentType: 'text/plain',
      maxBytes: 10,
      expiresInSeconds: 60,
    });
    // Headers only: the answer comes without a byte of the body sent.
    const req = request(new URL(link.url, rt.url), {
      method: 'PUT',
      headers: { ...link.headers, 'content-length': '1000000' },
    });
    req.on('error', () => {});
    req.flushHeaders();
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    expect(res.statusCode).toBe(413);
    res.resume();
    req.destroy();
    expect(await rt.runtime.ports.blobs.head('uploads/declared')).toBeNull();
  });

  it('cleans up after a client that gives up halfway', async () => {
    const dataDir = folder();
    const rt = await runtime(dataDir);
    const link = await rt.runtime.ports.blobs.createUploadUrl('uploads/abandoned', {
      contentType: 'application/octet-stream',
      maxBytes: 64 * 1024 * KiB,
      expiresInSeconds: 60,
    });
    const req = request(new URL(link.url, rt.url), { method: 'PUT', headers: link.headers });
    req.on('error', () => {});
    req.write(Buffer.alloc(128 * KiB));
    await vi.waitFor(() => expect(files(dataDir, 'tmp')).toHaveLength(1));
    req.destroy();
    await vi.waitFor(() => expect(files(dataDir, 'tmp')).toEqual([]));
    expect(files(dataDir, 'data')).toEqual([]);
    expect(await rt.runtime.ports.blobs.head('uploads/abandoned')).toBeNull();
  });

  it('refuses a forged or foreign token (401), another content type (400) and other methods (405)', async () => {
    const rt = await runtime();
    const other = await runtime();
    const opts = { contentType: 'text/plain', maxBytes: 100, expiresInSeconds: 60 };
    const link = await rt.runtime.ports.blobs.createUploadUrl('uploads/t', opts);
    const foreign = await other.runtime.ports.blobs.createUploadUrl('uploads/t', opts);
    const token = link.url.slice(UPLOAD_ROUTE.length);
    const [payload = '', mac = ''] = token.split('.');
    const forgedClaims = Buffer.from(
      JSON.stringify({ path: 'uploads/t', contentType: 'text/plain', maxBytes: 1e9, expiresAt: 9e15 }),
    ).toString('base64url');
    for (const url of [
      `${UPLOAD_ROUTE}${forgedClaims}.${mac}`,
      `${UPLOAD_ROUTE}${payload}.${mac.slice(0, -2)}AA`,
      `${UPLOAD_ROUTE}${payload}`,
      `${UPLOAD_ROUTE}garbage`,
      foreign.url,
    ]) {
      const res = await sendUpload(new URL(url, rt.url), 'PUT', link.headers, Buffer.from('x'));
      expect(res.status, url).toBe(401);
      expect(JSON.parse(res.body), url).toMatchObject({ code: 'unauthenticated' });
    }
    const wrongType = await sendUpload(
      new URL(link.url, rt.url),
      'PUT',
      { 'content-type': 'text/html' },
      Buffer.from('x'),
    );
    expect(wrongType.status).toBe(400);
    expect(JSON.parse(wrongType.body)).toMatchObject({
      code: 'invalid-input',
      errors: [{ path: 'headers.content-type', message: 'must be text/plain' }],
    });
    const post = await sendUpload(new URL(link.url, rt.url), 'POST', link.headers, Buffer.from('x'));
    expect(post.status).toBe(405);
    expect(await rt.runtime.ports.blobs.head('uploads/t')).toBeNull();
  });
});

describe('embedded blob store across restarts', () => {
  it('keeps blobs and the signing secret, and sweeps what a crash left behind', async () => {
    const dataDir = folder();
    const first = await runtime(dataDir);
    const meta = await first.runtime.ports.blobs.put('keep/me.txt', 'kept', { contentType: 'text/plain' });
    const link = await first.runtime.ports.blobs.createUploadUrl('keep/later.txt', {
      contentType: 'text/plain',
      maxBytes: 100,
      expiresInSeconds: 60,
    });
    await first.stop();
    started.splice(started.indexOf(first), 1);
    // What a crash mid-put leaves: a temporary file, and a renamed file whose row never committed.
    writeFileSync(join(dataDir, 'blobs', 'tmp', 'crashed'), 'partial');
    writeFileSync(join(dataDir, 'blobs', 'data', 'orphan'), 'never published');

    const second = await runtime(dataDir);
    expect(files(dataDir, 'tmp')).toEqual([]);
    expect(files(dataDir, 'data')).toHaveLength(1);
    const got = await second.runtime.ports.blobs.get('keep/me.txt');
    expect(got?.meta).toEqual(meta);
    expect((await readAll(got?.stream ?? Readable.from([]))).toString()).toBe('kept');
    const res = await sendUpload(new URL(link.url, second.url), 'PUT', link.headers, Buffer.from('later'));
    expect(res.status).toBe(201);
    expect(existsSync(join(dataDir, 'blobs', 'upload-secret'))).toBe(true);
  });
});

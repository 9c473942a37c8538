/**
 * The embedded runtime's browser upload path, the local twin of a Cloud
 * Storage signed URL: `PUT /api/blobs/upload/<token>`, where the token names
 * the path, content type, size cap and expiry, signed with the data folder's
 * secret (HMAC-SHA256). The body streams straight into the blob store and is
 * refused with 413 the moment it passes the cap; it never goes through the
 * JSON front door, which buffers bodies whole.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import { z } from 'zod';
import type { Clock } from '../../platform/clock.js';
import { InvalidInputError, PayloadTooLargeError, UnauthenticatedError } from '../../platform/errors.js';
import { type ApiResponse, errorResponse, problemResponse } from '../../platform/http.js';
import type { BlobStore, Ports } from '../../platform/ports.js';
import { problem } from '../../platform/problem.js';
import type { RawHandler } from './server.js';

/** The route's prefix; the token follows it. */
export const UPLOAD_ROUTE = '/api/blobs/upload/';

const ClaimsSchema = z.object({
  path: z.string(),
  contentType: z.string(),
  maxBytes: z.number().int().positive(),
  expiresAt: z.number().int(),
});
export type UploadClaims = z.infer<typeof ClaimsSchema>;

function signature(secret: Buffer, payload: string): Buffer {
  return createHmac('sha256', secret).update(payload).digest();
}

/** `<claims as base64url JSON>.<HMAC of that, base64url>`: URL-safe as it is. */
export function signUploadToken(secret: Buffer, claims: UploadClaims): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${payload}.${signature(secret, payload).toString('base64url')}`;
}

/** The claims of a token this folder signed and that has not expired; UnauthenticatedError otherwise. */
export function verifyUploadToken(secret: Buffer, token: string, now: number): UploadClaims {
  const [payload, mac, ...rest] = token.split('.');
  const invalid = new UnauthenticatedError('The upload link is invalid');
  if (!payload || !mac || rest.length > 0) throw invalid;
  const given = Buffer.from(mac, 'base64url');
  const expected = signature(secret, payload);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid;
  let claims: UploadClaims;
  try {
    claims = ClaimsSchema.parse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
  } catch {
    throw invalid;
  }
  if (now >= claims.expiresAt)
    throw new UnauthenticatedError(`The upload link expired at ${new Date(claims.expiresAt).toISOString()}`);
  return claims;
}

export interface BlobUploadDeps {
  blobs: BlobStore;
  secret: Buffer;
  clock: Clock;
  ports: Pick<Ports, 'ids' | 'logger'>;
}

/** The raw handler the embedded server consults before the API. */
export function blobUploadHandler(deps: BlobUploadDeps): RawHandler {
  return (req, res, url) => {
    if (!url.pathname.startsWith(UPLOAD_ROUTE)) return false;
    const where = `${req.method} ${UPLOAD_ROUTE}…`;
    acceptUpload(req, url.pathname.slice(UPLOAD_ROUTE.length), deps).then(
      (response) => send(res, response),
      (error: unknown) => {
        // The rest of a refused body is never read: closing after the answer drops it.
        res.setHeader('connection', 'close');
        send(res, errorResponse(error, deps.ports, where));
      },
    );
    return true;
  };
}

async function acceptUpload(req: IncomingMessage, token: string, deps: BlobUploadDeps): Promise<ApiResponse> {
  if (req.method !== 'PUT') {
    return problemResponse(
      problem(405, 'method-not-allowed', 'Method not allowed', { detail: 'Upload links take PUT' }),
      { allow: 'PUT', connection: 'close' },
    );
  }
  const claims = verifyUploadToken(deps.secret, token, deps.clock.now());
  const contentType = (req.headers['content-type'] ?? '').trim();
  if (contentType.toLowerCase() !== claims.contentType.toLowerCase()) {
    throw new InvalidInputError(`This upload link takes content-type ${claims.contentType}`, [
      { path: 'headers.content-type', message: `must be ${claims.contentType}` },
    ]);
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > claims.maxBytes)
    throw new PayloadTooLargeError(
      `The body is ${declared} bytes; this upload link takes at most ${claims.maxBytes}`,
    );
  // The store destroys its source when it refuses a body; a pass-through keeps that from
  // destroying the socket before the 413 is written.
  const body = new PassThrough();
  req.on('error', (error) => body.destroy(error));
  req.on('close', () => {
    if (!req.complete) body.destroy(new Error('The upload was aborted by the client'));
  });
  req.pipe(body);
  const meta = await deps.blobs.put(claims.path, body, {
    contentType: claims.contentType,
    maxBytes: claims.maxBytes,
  });
  return {
    status: 201,
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify(meta),
  };
}

function send(res: ServerResponse, response: ApiResponse): void {
  res.writeHead(response.status, { 'cache-control': 'no-store', ...response.headers });
  res.end(response.body);
}

/**
 * The `api` function of a group: Express's request mapped onto the shared
 * front door (platform/http.ts), and callers identified by Firebase Auth ID
 * tokens.
 */
import { PayloadTooLargeError, UnauthenticatedError } from '../../platform/errors.js';
import {
  type ApiHandler,
  type ApiRequest,
  type ApiResponse,
  createApiHandler,
  errorResponse,
  type IdentityResolver,
} from '../../platform/http.js';
import type { Orchestrator } from '../../platform/orchestrator.js';
import type { Ports } from '../../platform/ports.js';
import { PLATFORM_ADMIN_CLAIM } from './people.js';
import { adminApp } from './ports.js';

/** The parts of Express's request and response the front door uses. */
export interface HttpRequestLike {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  /** The body exactly as received, kept by the Functions framework. */
  rawBody?: Uint8Array;
}
export interface HttpResponseLike {
  status(code: number): unknown;
  setHeader(name: string, value: string): unknown;
  send(body: string): unknown;
}

export function toApiRequest(req: HttpRequestLike): ApiRequest {
  // Concatenated rather than resolved: a path starting `//` must stay a path, not become a host.
  const url = new URL(`http://function.invalid${req.url.startsWith('/') ? '' : '/'}${req.url}`);
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  const body = req.rawBody && req.rawBody.byteLength > 0 ? req.rawBody : undefined;
  return { method: req.method, path: url.pathname, query: url.searchParams, headers, body };
}

export interface ApiDeps {
  ports: () => Ports | Promise<Ports>;
  resolvers: readonly IdentityResolver[];
  openApi: () => Promise<unknown>;
  maxBodyBytes: number;
}

/** The `api` function's plain handler: the shared front door over this orchestrator's routes. */
export function apiRequestHandler(
  o: Orchestrator,
  deps: ApiDeps,
): (req: HttpRequestLike, res: HttpResponseLike) => Promise<void> {
  let api: ApiHandler | undefined;
  return async (req, res) => {
    const ports = await deps.ports();
    api ??= createApiHandler([o], {
      ports,
      resolvers: deps.resolvers,
      openApi: deps.openApi,
      maxBodyBytes: deps.maxBodyBytes,
    });
    // The framework has buffered the body already; refuse it before it is decoded or parsed.
    const declared = Number(req.headers['content-length'] ?? 0);
    const size = Math.max(Number.isFinite(declared) ? declared : 0, req.rawBody?.byteLength ?? 0);
    const response: ApiResponse =
      size > deps.maxBodyBytes
        ? errorResponse(
            new PayloadTooLargeError(`Body is ${size} bytes; the limit is ${deps.maxBodyBytes}`),
            ports,
            `${req.method} ${req.url}`,
          )
        : await api(toApiRequest(req));
    for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
    res.status(response.status);
    res.send(response.body);
  };
}

/** What the resolver needs from a verified ID token. */
export interface VerifiedToken {
  uid: string;
  email?: string | undefined;
  name?: unknown;
  [claim: string]: unknown;
}

/**
 * Resolves the caller from `Authorization: Bearer <Firebase ID token>`.
 * Roles come from membership documents alone (platform/identity.ts); the
 * `seraphimAdmin: true` custom claim makes a user platform admin.
 */
export function firebaseIdTokenResolver(
  verify: (idToken: string) => Promise<VerifiedToken>,
): IdentityResolver {
  return async (request) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
    if (!match) return null;
    let token: VerifiedToken;
    try {
      token = await verify(match[1] as string);
    } catch (error) {
      const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
      // A bad, expired or revoked token is the caller's problem; anything else (fetching Google's keys) is ours.
      if (code.startsWith('auth/') && code !== 'auth/internal-error') {
        throw new UnauthenticatedError(`The ID token was rejected (${code})`);
      }
      throw error;
    }
    return {
      uid: token.uid,
      kind: 'user',
      email: token.email ?? null,
      displayName: typeof token.name === 'string' ? token.name : null,
      platformAdmin: token[PLATFORM_ADMIN_CLAIM] === true,
    };
  };
}

/**
 * Verifies an ID token with Firebase Auth (or its emulator, when
 * FIREBASE_AUTH_EMULATOR_HOST is set), revocation checked: a user whose
 * refresh tokens were revoked (signed out everywhere, disabled) is refused.
 */
export async function verifyWithFirebaseAuth(idToken: string): Promise<VerifiedToken> {
  const [{ getAuth }, app] = await Promise.all([import('firebase-admin/auth'), adminApp()]);
  return getAuth(app).verifyIdToken(idToken, true);
}

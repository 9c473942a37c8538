/**
 * Signing in on the embedded runtime: scrypt passwords, cookie sessions and
 * one-time links, all stored as documents; failed attempts counted in kv.
 * A session id is 256 random bits, stored only as its sha256, so a copy of
 * the data file signs nobody in.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { z } from 'zod';
import type { Clock } from '../../platform/clock.js';
import { readCookie, SESSION_COOKIE } from '../../platform/cookies.js';
import {
  ConflictError,
  InvalidInputError,
  RateLimitedError,
  UnauthenticatedError,
} from '../../platform/errors.js';
import type { IdentityResolver } from '../../platform/http.js';
import { type Identity, LOCAL_OWNER } from '../../platform/identity.js';
import type { DocumentStore, KeyValueStore, SessionAuthority, SessionGrant } from '../../platform/ports.js';
import {
  emailIndexPath,
  LinkDocSchema,
  type LocalDirectory,
  linkPath,
  normaliseEmail,
  OWNER_LINK_TTL_MS,
  OWNER_MARKER,
  type PersonDoc,
  personPath,
  sha256,
} from './people.js';

export const SESSION_TTL_MS = 14 * 24 * 3600_000;
/** A session's expiry slides forward at most this often, so reads are not writes. */
const SESSION_SLIDE_MS = 3600_000;
export const MIN_PASSWORD_LENGTH = 12;
const FAILURE_LIMIT = 10;
const FAILURE_WINDOW_MS = 15 * 60_000;
/** Who redeems the owner link signs in later with this address and the password they chose. */
export const OWNER_EMAIL = 'owner@localhost';

const SessionDocSchema = z.object({ uid: z.string(), expiresAt: z.number(), touchedAt: z.number() });

const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: Buffer,
  keylen: number,
  opts: { N: number; r: number; p: number },
) => Promise<Buffer>;
const SCRYPT = { N: 16384, r: 8, p: 1 };
const KEY_LENGTH = 32;

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, KEY_LENGTH, SCRYPT);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), key.toString('base64url')].join(
    '$',
  );
}

/** Constant-time; a malformed hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await scryptAsync(password, Buffer.from(salt, 'base64url'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** Checked against when the email is unknown, so that answer takes as long as a wrong password. */
const DUMMY_HASH = hashPassword(randomBytes(16).toString('hex'));

export interface EmbeddedSessionsOptions {
  directory: LocalDirectory;
  documents: DocumentStore;
  kv: KeyValueStore;
  clock: Clock;
}

export class EmbeddedSessions implements SessionAuthority {
  readonly #o: EmbeddedSessionsOptions;

  constructor(opts: EmbeddedSessionsOptions) {
    this.#o = opts;
  }

  async signIn(email: string, password: string): Promise<SessionGrant> {
    const { documents, kv, clock } = this.#o;
    const failures = `signin-failures:${sha256(normaliseEmail(email))}`;
    if (Number((await kv.get(failures)) ?? 0) >= FAILURE_LIMIT) {
      const ttl = (await kv.ttl(failures)) ?? FAILURE_WINDOW_MS;
      throw new RateLimitedError('Too many failed sign-ins for this email; try again later', ttl);
    }
    const index = await documents.get(emailIndexPath(email));
    const uid = z.object({ uid: z.string() }).safeParse(index?.data);
    const person = uid.success ? await this.#o.directory.getDoc(uid.data.uid) : null;
    const ok = await verifyPassword(password, person?.passwordHash ?? (await DUMMY_HASH));
    if (!person || person.passwordHash === null || !ok) {
      await kv.incr(failures, 1, { ttlMs: FAILURE_WINDOW_MS });
      throw new UnauthenticatedError('Wrong email or password');
    }
    await kv.del(failures);
    return this.#openSession(person.uid, clock.now());
  }

  async redeemLink(token: string, password: string | undefined): Promise<SessionGrant> {
    const { documents, clock, directory } = this.#o;
    const invalid = () => new UnauthenticatedError('This sign-in link is not valid any more');
    const found = await documents.get(linkPath(token));
    const link = LinkDocSchema.safeParse(found?.data);
    if (!link.success || link.data.expiresAt <= clock.now()) throw invalid();
    const person = link.data.uid === null ? null : await directory.getDoc(link.data.uid);
    if (link.data.purpose === 'invitation' && !person) throw invalid();
    // Checked before the link is spent, so a missing password does not burn it.
    if (!person?.passwordHash && (password === undefined || password.length < MIN_PASSWORD_LENGTH)) {
      throw new InvalidInputError(`Choose a password of at least ${MIN_PASSWORD_LENGTH} characters`, [
        { path: 'body.password', message: `required, at least ${MIN_PASSWORD_LENGTH} characters` },
      ]);
    }
    const passwordHash = password === undefined ? null : await hashPassword(password);
    const now = clock.now();
    const uid = await documents.transaction(async (tx) => {
      // Every read first: Firestore's rule, kept by the embedded store too.
      const current = await tx.get(linkPath(token));
      const marker = link.data.purpose === 'owner' ? await tx.get(OWNER_MARKER) : null;
      const ownerIndex = link.data.purpose === 'owner' ? await tx.get(emailIndexPath(OWNER_EMAIL)) : null;
      if (!current) throw invalid(); // redeemed meanwhile: single use
      if (link.data.purpose === 'invitation') {
        tx.delete(linkPath(token));
        if (!person) throw invalid();
        const uid = person.uid;
        if (passwordHash !== null) tx.update(personPath(uid), { passwordHash });
        return uid;
      }
      if (marker) throw new ConflictError('This machine already has an owner');
      const known = z.object({ uid: z.string() }).safeParse(ownerIndex?.data);
      const uid = known.success ? known.data.uid : `owner-${sha256(token).slice(0, 12)}`;
      const owner: PersonDoc = {
        uid,
        email: OWNER_EMAIL,
        displayName: 'Owner',
        passwordHash,
        platformAdmin: true,
        owner: true,
        createdAt: now,
      };
      tx.delete(linkPath(token));
      tx.set(personPath(uid), owner);
      tx.set(emailIndexPath(OWNER_EMAIL), { uid });
      tx.create(OWNER_MARKER, { uid, at: now });
      return uid;
    });
    return this.#openSession(uid, now);
  }

  async signOut(sessionId: string): Promise<void> {
    await this.#o.documents.delete(`sessions/${sessionId}`);
  }

  /** A one-time owner link while the machine has no owner (a new one each start); null once it has. */
  async ownerLink(): Promise<string | null> {
    if (await this.#o.documents.get(OWNER_MARKER)) return null;
    const { token } = await this.#o.directory.createLink({ purpose: 'owner', uid: null }, OWNER_LINK_TTL_MS);
    return this.#o.directory.linkUrl('owner', token);
  }

  async #openSession(uid: string, now: number): Promise<SessionGrant> {
    const token = randomBytes(32).toString('base64url');
    await this.#o.documents.create(`sessions/${sha256(token)}`, {
      uid,
      expiresAt: now + SESSION_TTL_MS,
      touchedAt: now,
    });
    return { uid, token, maxAgeSeconds: SESSION_TTL_MS / 1000 };
  }

  /** The caller of a request with a session cookie; a stale or unknown cookie is a 401. */
  resolver(): IdentityResolver {
    return async (request) => {
      const token = readCookie(request.headers.cookie, SESSION_COOKIE);
      if (!token) return null;
      const { documents, clock, directory } = this.#o;
      const sessionId = sha256(token);
      const doc = await documents.get(`sessions/${sessionId}`);
      const session = SessionDocSchema.safeParse(doc?.data);
      const now = clock.now();
      if (!session.success || session.data.expiresAt <= now)
        throw new UnauthenticatedError('Your session has ended; sign in again');
      const person = await directory.getDoc(session.data.uid);
      if (!person) throw new UnauthenticatedError('Your session has ended; sign in again');
      if (now - session.data.touchedAt > SESSION_SLIDE_MS) {
        await documents.update(`sessions/${sessionId}`, { expiresAt: now + SESSION_TTL_MS, touchedAt: now });
      }
      return personIdentity(person, sessionId);
    };
  }
}

export function personIdentity(person: PersonDoc, sessionId?: string): Identity {
  return {
    uid: person.uid,
    kind: person.owner ? 'local-owner' : 'user',
    email: person.email,
    displayName: person.displayName,
    platformAdmin: person.platformAdmin || person.owner,
    ...(sessionId === undefined ? {} : { sessionId }),
  };
}

/** `Authorization: Bearer <the machine's cli-token>` is the local owner: the CLI on this machine. */
export function cliTokenResolver(token: string): IdentityResolver {
  const expected = Buffer.from(token);
  return async (request) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
    if (!match) return null;
    const given = Buffer.from(match[1] as string);
    if (given.length === expected.length && timingSafeEqual(given, expected)) return LOCAL_OWNER;
    throw new UnauthenticatedError('The bearer token is not this machine’s CLI token');
  };
}

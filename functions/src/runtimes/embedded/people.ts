/**
 * The embedded runtime's directory of people: `people/{uid}` documents, an
 * email index at `peopleByEmail/{sha256(email)}` (an email is not a safe
 * document id), and one-time sign-in links at `signinLinks/{sha256(token)}`.
 * Passwords and sessions are in sessions.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../../platform/clock.js';
import { ConflictError } from '../../platform/errors.js';
import type { Ids } from '../../platform/ids.js';
import type {
  DocumentStore,
  Invitation,
  PeopleDirectory,
  Person,
  SessionAuthority,
  SignInMode,
} from '../../platform/ports.js';

export const PersonDocSchema = z.object({
  uid: z.string(),
  email: z.string().nullable(),
  displayName: z.string().nullable().default(null),
  /** `scrypt$N$r$p$salt$hash`; null until the person first redeems a link. */
  passwordHash: z.string().nullable().default(null),
  platformAdmin: z.boolean().default(false),
  /** The machine's owner (redeemed the owner link): owner of every workspace. */
  owner: z.boolean().default(false),
  createdAt: z.number(),
});
export type PersonDoc = z.infer<typeof PersonDocSchema>;

export const LinkDocSchema = z.object({
  purpose: z.enum(['owner', 'invitation']),
  uid: z.string().nullable(),
  expiresAt: z.number(),
});
export type LinkDoc = z.infer<typeof LinkDocSchema>;

export const OWNER_LINK_TTL_MS = 24 * 3600_000;
export const INVITATION_TTL_MS = 7 * 24 * 3600_000;
/** Marks that the machine has an owner: no owner link is printed once it exists. */
export const OWNER_MARKER = 'system/owner';

export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

export const personPath = (uid: string) => `people/${uid}`;
export const emailIndexPath = (email: string) => `peopleByEmail/${sha256(normaliseEmail(email))}`;
export const linkPath = (token: string) => `signinLinks/${sha256(token)}`;

export function toPerson(doc: PersonDoc): Person {
  return {
    uid: doc.uid,
    email: doc.email,
    displayName: doc.displayName,
    platformAdmin: doc.platformAdmin || doc.owner,
  };
}

export interface LocalDirectoryOptions {
  mode: Exclude<SignInMode, 'firebase'>;
  documents: DocumentStore;
  clock: Clock;
  ids: Ids;
}

export class LocalDirectory implements PeopleDirectory {
  readonly mode: Exclude<SignInMode, 'firebase'>;
  sessions: SessionAuthority | null = null;
  /** Where Mission Control is served, for the links; set once the server listens. */
  baseUrl = '';
  readonly #documents: DocumentStore;
  readonly #clock: Clock;
  readonly #ids: Ids;

  constructor(opts: LocalDirectoryOptions) {
    this.mode = opts.mode;
    this.#documents = opts.documents;
    this.#clock = opts.clock;
    this.#ids = opts.ids;
  }

  async findOrCreateByEmail(email: string): Promise<{ uid: string; email: string; new: boolean }> {
    const address = normaliseEmail(email);
    return this.#documents.transaction(async (tx) => {
      const index = await tx.get(emailIndexPath(address));
      const known = z.object({ uid: z.string() }).safeParse(index?.data);
      if (known.success) return { uid: known.data.uid, email: address, new: false };
      const uid = this.#ids.next().toLowerCase();
      const person: PersonDoc = {
        uid,
        email: address,
        displayName: null,
        passwordHash: null,
        platformAdmin: false,
        owner: false,
        createdAt: this.#clock.now(),
      };
      tx.create(personPath(uid), person);
      tx.create(emailIndexPath(address), { uid });
      return { uid, email: address, new: true };
    });
  }

  async getDoc(uid: string): Promise<PersonDoc | null> {
    const doc = await this.#documents.get(personPath(uid));
    return doc ? PersonDocSchema.parse(doc.data) : null;
  }

  async get(uid: string): Promise<Person | null> {
    const doc = await this.getDoc(uid);
    return doc ? toPerson(doc) : null;
  }

  async list(limit: number): Promise<Person[]> {
    const page = await this.#documents.query('people', { limit });
    return page.docs.map((d) => toPerson(PersonDocSchema.parse(d.data)));
  }

  async remove(uid: string): Promise<boolean> {
    return this.#documents.transaction(async (tx) => {
      const doc = await tx.get(personPath(uid));
      if (!doc) return false;
      const person = PersonDocSchema.parse(doc.data);
      if (person.owner) throw new ConflictError('The machine’s owner cannot be removed');
      tx.delete(personPath(uid));
      if (person.email) tx.delete(emailIndexPath(person.email));
      return true;
    });
  }

  async invitation(uid: string): Promise<Invitation | null> {
    const person = await this.getDoc(uid);
    if (!person || person.passwordHash !== null) return null;
    const { token, expiresAt } = await this.createLink({ purpose: 'invitation', uid }, INVITATION_TTL_MS);
    return { url: this.linkUrl('invite', token), expiresAt };
  }

  /** A new one-time link; only its hash is stored. */
  async createLink(
    link: Omit<LinkDoc, 'expiresAt'>,
    ttlMs: number,
  ): Promise<{ token: string; expiresAt: number }> {
    const token = randomBytes(32).toString('base64url');
    const expiresAt = this.#clock.now() + ttlMs;
    await this.#documents.create(linkPath(token), { ...link, expiresAt });
    return { token, expiresAt };
  }

  linkUrl(kind: 'owner' | 'invite', token: string): string {
    return `${this.baseUrl}/signin#${kind}=${token}`;
  }
}

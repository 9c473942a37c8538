/**
 * The directory of people on the firebase runtime: Firebase Auth, through
 * firebase-admin (loaded on first use). People sign in with the Firebase JS
 * SDK, so there are no sessions or links here.
 */
import type { Auth, UserRecord } from 'firebase-admin/auth';
import type { PeopleDirectory, Person } from '../../platform/ports.js';

/** The custom claim that makes a Firebase user a platform admin. */
export const PLATFORM_ADMIN_CLAIM = 'seraphimAdmin';

function toPerson(user: UserRecord): Person {
  return {
    uid: user.uid,
    email: user.email ?? null,
    displayName: user.displayName ?? null,
    platformAdmin: user.customClaims?.[PLATFORM_ADMIN_CLAIM] === true,
  };
}

function hasCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === code;
}

export function firebasePeople(auth: () => Promise<Auth>): PeopleDirectory {
  return {
    mode: 'firebase',
    sessions: null,
    async findOrCreateByEmail(email) {
      const address = email.trim().toLowerCase();
      const a = await auth();
      try {
        const user = await a.getUserByEmail(address);
        return { uid: user.uid, email: address, new: false };
      } catch (error) {
        if (!hasCode(error, 'auth/user-not-found')) throw error;
      }
      const user = await a.createUser({ email: address });
      return { uid: user.uid, email: address, new: true };
    },
    async get(uid) {
      try {
        return toPerson(await (await auth()).getUser(uid));
      } catch (error) {
        if (hasCode(error, 'auth/user-not-found')) return null;
        throw error;
      }
    },
    async list(limit) {
      const page = await (await auth()).listUsers(Math.min(limit, 1000));
      return page.users.map(toPerson);
    },
    async remove(uid) {
      try {
        await (await auth()).deleteUser(uid);
        return true;
      } catch (error) {
        if (hasCode(error, 'auth/user-not-found')) return false;
        throw error;
      }
    },
    // Firebase Auth sends its own sign-in and password-reset emails.
    invitation: async () => null,
  };
}

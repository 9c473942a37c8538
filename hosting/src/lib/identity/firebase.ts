/**
 * Signing in with Firebase Auth. Only ever imported with `import()` (see `session.svelte.ts`):
 * the SDK is large, and the first page of a runtime that signs in with cookies, or none at all,
 * must not pay for it.
 */
import { initializeApp } from 'firebase/app';
import {
  connectAuthEmulator,
  getAuth,
  GoogleAuthProvider,
  signInWithEmailAndPassword,
  signInWithPopup,
  signOut,
} from 'firebase/auth';
import { ApiError } from '../api.ts';
import type { FirebaseSettings } from './api.ts';

export interface FirebaseSignIn {
  /** Whether someone is signed in, once Firebase restored any earlier sign-in. */
  signedIn(): Promise<boolean>;
  /** A fresh ID token of the signed-in user (the SDK refreshes it when it is near expiry). */
  idToken(): Promise<string | null>;
  withPassword(email: string, password: string): Promise<void>;
  withGoogle(): Promise<void>;
  signOut(): Promise<void>;
}

/** Firebase's `auth/…` failures as the console's `ApiError`, its code kept. */
function asApiError(error: unknown): ApiError {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'firebase-error';
  const wrongCredentials = ['auth/invalid-credential', 'auth/wrong-password', 'auth/user-not-found'].includes(code);
  const message = wrongCredentials
    ? 'Wrong email or password'
    : code === 'auth/too-many-requests'
      ? 'Too many attempts: try again later'
      : error instanceof Error
        ? error.message
        : 'Firebase sign-in failed';
  return new ApiError(code, wrongCredentials ? 401 : code === 'auth/too-many-requests' ? 429 : 0, message, {
    cause: error,
  });
}

async function attempt(run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (error) {
    throw asApiError(error);
  }
}

/** The Auth emulator takes any API key; a runtime pointed at it need not configure one. */
const EMULATOR_API_KEY = 'emulator-api-key';

export function connectFirebase(settings: FirebaseSettings): FirebaseSignIn {
  const apiKey = settings.apiKey ?? (settings.authEmulatorUrl ? EMULATOR_API_KEY : null);
  if (!apiKey) {
    throw new ApiError('firebase-not-configured', 0, 'Firebase sign-in is not configured', {
      detail: 'The runtime sent no Firebase API key (SERAPHIM_FIREBASE_API_KEY).',
    });
  }
  const app = initializeApp({
    apiKey,
    ...(settings.authDomain ? { authDomain: settings.authDomain } : {}),
    ...(settings.projectId ? { projectId: settings.projectId } : {}),
  });
  const auth = getAuth(app);
  if (settings.authEmulatorUrl) {
    // FIREBASE_AUTH_EMULATOR_HOST is `host:port`; the SDK wants a URL.
    const url = /^https?:\/\//.test(settings.authEmulatorUrl)
      ? settings.authEmulatorUrl
      : `http://${settings.authEmulatorUrl}`;
    connectAuthEmulator(auth, url, { disableWarnings: true });
  }
  return {
    async signedIn() {
      await auth.authStateReady();
      return auth.currentUser !== null;
    },
    async idToken() {
      await auth.authStateReady();
      return (await auth.currentUser?.getIdToken()) ?? null;
    },
    withPassword: (email, password) => attempt(() => signInWithEmailAndPassword(auth, email, password)),
    withGoogle: () => attempt(() => signInWithPopup(auth, new GoogleAuthProvider())),
    signOut: () => attempt(() => signOut(auth)),
  };
}

/**
 * Who is using Mission Control, and how they sign in: the runtime's mode (`local`: nobody signs
 * in; `session`: the runtime's own cookie; `firebase`: Firebase Auth) and the signed-in user. One
 * instance, `session`, shared by the layout and the sign-in page.
 */
import { type ApiError, configureApiAuth, toApiError } from './api.ts';
import {
  type AuthMode,
  type FirebaseSettings,
  getSession,
  redeemLink,
  type SessionInfo,
  type SessionUser,
  signIn,
  signOut,
} from './identity/api.ts';
import type { FirebaseSignIn } from './identity/firebase.ts';

export class Session {
  #info = $state.raw<SessionInfo | undefined>();
  #error = $state.raw<ApiError | undefined>();
  #firebase: Promise<FirebaseSignIn> | undefined;

  constructor() {
    configureApiAuth({ onUnauthorized: () => this.#ended() });
  }

  /** Undefined until the runtime answered. */
  get mode(): AuthMode | undefined {
    return this.#info?.mode;
  }

  get user(): SessionUser | null {
    return this.#info?.user ?? null;
  }

  get loaded(): boolean {
    return this.#info !== undefined;
  }

  /** The runtime asks for sign-in and nobody is signed in. */
  get needsSignIn(): boolean {
    const info = this.#info;
    return info !== undefined && info.mode !== 'local' && !info.signedIn;
  }

  /** Why the session could not be read; cleared by the next successful read. */
  get error(): ApiError | undefined {
    return this.#error;
  }

  /** Asks the runtime who is calling: on start, and again after signing in or out. */
  async load(): Promise<void> {
    try {
      let info = await getSession();
      if (info.mode === 'firebase' && info.firebase) {
        // From now on every call carries the Firebase user's ID token; the runtime only knows who
        // is signed in from it, so ask again once Firebase restored an earlier sign-in.
        const firebase = await this.#connectFirebase(info.firebase);
        if (!info.signedIn && (await firebase.signedIn())) info = await getSession();
      }
      this.#info = info;
      this.#error = undefined;
    } catch (error) {
      this.#error = toApiError(error);
    }
  }

  /** Signs in with an email and a password; rejects with the problem (401, 429 with its wait). */
  async signIn(email: string, password: string): Promise<void> {
    const settings = this.#info?.firebase;
    if (this.#info?.mode === 'firebase' && settings) {
      await (await this.#connectFirebase(settings)).withPassword(email, password);
      await this.#reload();
      return;
    }
    this.#info = await signIn(email, password);
  }

  async signInWithGoogle(): Promise<void> {
    const settings = this.#info?.firebase;
    if (!settings) throw toApiError(new Error('Google sign-in needs Firebase Auth'));
    await (await this.#connectFirebase(settings)).withGoogle();
    await this.#reload();
  }

  /** Redeems an owner or invitation link, choosing a password when the person has none yet. */
  async redeem(token: string, password: string | undefined): Promise<void> {
    this.#info = await redeemLink(token, password);
  }

  async signOut(): Promise<void> {
    if (this.#info?.mode === 'firebase' && this.#firebase) await (await this.#firebase).signOut();
    else await signOut();
    await this.#reload();
  }

  async #reload(): Promise<void> {
    this.#info = await getSession();
  }

  /** Any 401: whoever was signed in is no longer (expired, revoked, signed out elsewhere). */
  #ended(): void {
    const info = this.#info;
    if (info && info.mode !== 'local' && info.signedIn) this.#info = { ...info, signedIn: false, user: null };
  }

  #connectFirebase(settings: FirebaseSettings): Promise<FirebaseSignIn> {
    this.#firebase ??= import('./identity/firebase.ts').then(({ connectFirebase }) => {
      const firebase = connectFirebase(settings);
      configureApiAuth({ bearerToken: () => firebase.idToken(), onUnauthorized: () => this.#ended() });
      return firebase;
    });
    return this.#firebase;
  }
}

export const session = new Session();

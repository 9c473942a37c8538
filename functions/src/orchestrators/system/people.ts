/**
 * Signing in and the platform's people, on the `system` orchestrator so the
 * routes exist on both runtimes. Sessions are the embedded runtime's; on
 * Firebase people sign in with Firebase Auth and the POSTs answer 409.
 */

import { SESSION_COOKIE } from '../../platform/cookies.js';
import { ConflictError, NotFoundError } from '../../platform/errors.js';
import { deleteMembership, MY_WORKSPACES_LIMIT } from '../../platform/identity.js';
import { type Context, implement, type RouteDefinition } from '../../platform/orchestrator.js';
import type { Person, SessionAuthority } from '../../platform/ports.js';
import { systemApi } from './api.js';
import type { Session } from './model.js';

const USERS_LIMIT = 500;

function session(ctx: Context, user: Person | null): Session {
  const mode = ctx.people.mode;
  const setting = (name: string) => ctx.config.get(name) ?? null;
  const emulator = setting('FIREBASE_AUTH_EMULATOR_HOST');
  return {
    mode,
    signedIn: user !== null,
    user: user
      ? { uid: user.uid, email: user.email, displayName: user.displayName, platformAdmin: user.platformAdmin }
      : null,
    firebase:
      mode === 'firebase'
        ? {
            apiKey: setting('SERAPHIM_FIREBASE_API_KEY'),
            authDomain: setting('SERAPHIM_FIREBASE_AUTH_DOMAIN'),
            projectId: setting('GCLOUD_PROJECT'),
            authEmulatorUrl: emulator === null ? null : `http://${emulator}`,
          }
        : null,
  };
}

function sessions(ctx: Context): SessionAuthority {
  if (!ctx.people.sessions)
    throw new ConflictError('Sign in with Firebase Auth: this runtime has no password sign-in');
  return ctx.people.sessions;
}

async function signedIn(ctx: Context, uid: string): Promise<Session> {
  const person = await ctx.people.get(uid);
  if (!person) throw new NotFoundError(`No person "${uid}"`);
  return session(ctx, person);
}

export const sessionRoutes: RouteDefinition[] = [
  implement(systemApi.session, async (req, ctx) => session(ctx, req.identity)),
  implement(systemApi.signIn, async (req, ctx) => {
    const grant = await sessions(ctx).signIn(req.body.email, req.body.password);
    req.reply.setCookie(SESSION_COOKIE, grant.token, { maxAgeSeconds: grant.maxAgeSeconds });
    return signedIn(ctx, grant.uid);
  }),
  implement(systemApi.redeemLink, async (req, ctx) => {
    const grant = await sessions(ctx).redeemLink(req.body.token, req.body.password);
    req.reply.setCookie(SESSION_COOKIE, grant.token, { maxAgeSeconds: grant.maxAgeSeconds });
    return signedIn(ctx, grant.uid);
  }),
  implement(systemApi.signOut, async (req, ctx) => {
    const id = req.identity?.sessionId;
    if (id !== undefined && ctx.people.sessions) await ctx.people.sessions.signOut(id);
    req.reply.clearCookie(SESSION_COOKIE);
    return { signedIn: false as const };
  }),
];

export const userRoutes: RouteDefinition[] = [
  implement(systemApi.users, async (_req, ctx) => ({ users: await ctx.people.list(USERS_LIMIT) })),
  implement(systemApi.addUser, async (req, ctx) => {
    const { uid } = await ctx.people.findOrCreateByEmail(req.body.email);
    const user = await ctx.people.get(uid);
    if (!user) throw new NotFoundError(`No person "${uid}"`);
    return { user, invitation: await ctx.people.invitation(uid) };
  }),
  implement(systemApi.removeUser, async (req, ctx) => {
    const { uid } = req.params;
    if (!(await ctx.people.get(uid))) throw new NotFoundError(`No person "${uid}"`);
    const mine = await ctx.documents.query(`users/${uid}/workspaces`, { limit: MY_WORKSPACES_LIMIT });
    for (const doc of mine.docs) {
      await ctx.documents.transaction(async (tx) => deleteMembership(tx, doc.id, uid));
    }
    await ctx.people.remove(uid);
    return { removed: true as const };
  }),
];

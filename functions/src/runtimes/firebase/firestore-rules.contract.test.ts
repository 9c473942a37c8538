/**
 * firestore.rules against the Firestore emulator, with
 * @firebase/rules-unit-testing: members read their workspace by role, the
 * "my workspaces" mirror is its user's alone, and every client write is
 * denied (functions write with firebase-admin, which rules do not bind).
 *
 * The Firestore emulator is a download from Google, so this file runs only
 * where FIRESTORE_EMULATOR_HOST is set (`npm run test:emulators`). Elsewhere
 * it registers no test at all, neither skipped nor passing; `npm test` says
 * so in its NOT RUN line.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  assertFails,
  assertSucceeds,
  initializeTestEnvironment,
  type RulesTestEnvironment,
} from '@firebase/rules-unit-testing';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { REPO_ROOT } from '../embedded/settings.js';

const host = process.env.FIRESTORE_EMULATOR_HOST;

if (host) {
  describe(`firestore.rules (emulator at ${host})`, () => {
    let env: RulesTestEnvironment;
    const [hostname, port] = host.split(':');

    beforeAll(async () => {
      env = await initializeTestEnvironment({
        projectId: `demo-rules-${Date.now().toString(36)}`,
        firestore: {
          rules: readFileSync(join(REPO_ROOT, 'firestore.rules'), 'utf8'),
          host: hostname ?? '127.0.0.1',
          port: Number(port),
        },
      });
      await env.withSecurityRulesDisabled(async (admin) => {
        const db = admin.firestore();
        await db.doc('workspaces/acme').set({ name: 'Acme' });
        await db.doc('workspaces/acme/members/vera').set({ uid: 'vera', role: 'viewer' });
        await db.doc('workspaces/acme/members/olga').set({ uid: 'olga', role: 'owner' });
        await db.doc('workspaces/acme/executions/e1').set({ status: 'running' });
        await db.doc('workspaces/globex').set({ name: 'Globex' });
        await db.doc('users/vera/workspaces/acme').set({ workspace: 'acme', role: 'viewer', name: 'Acme' });
        await db.doc('people/vera').set({ uid: 'vera' });
        await db.doc('deadLetters/d1').set({ source: 'x' });
      });
    });
    afterAll(async () => {
      await env?.cleanup();
    });

    const as = (uid: string | null) =>
      (uid ? env.authenticatedContext(uid) : env.unauthenticatedContext()).firestore();

    it('lets a member read the workspace, its members and its data', async () => {
      for (const uid of ['vera', 'olga']) {
        await assertSucceeds(as(uid).doc('workspaces/acme').get());
        await assertSucceeds(as(uid).collection('workspaces/acme/members').get());
        await assertSucceeds(as(uid).doc('workspaces/acme/executions/e1').get());
      }
    });

    it('hides a workspace from non-members and the signed-out', async () => {
      await assertFails(as('vera').doc('workspaces/globex').get());
      await assertFails(as('nina').doc('workspaces/acme/executions/e1').get());
      await assertFails(as(null).doc('workspaces/acme').get());
    });

    it('keeps users/{uid} to that user, and platform documents to nobody', async () => {
      await assertSucceeds(as('vera').doc('users/vera/workspaces/acme').get());
      await assertFails(as('olga').doc('users/vera/workspaces/acme').get());
      await assertFails(as('vera').doc('people/vera').get());
      await assertFails(as('olga').doc('deadLetters/d1').get());
    });

    it('denies every client write, even an owner’s', async () => {
      await assertFails(as('olga').doc('workspaces/acme').update({ name: 'Mine' }));
      await assertFails(as('olga').doc('workspaces/acme/members/nina').set({ uid: 'nina', role: 'owner' }));
      await assertFails(as('vera').doc('users/vera/workspaces/globex').set({ workspace: 'globex' }));
    });
  });
} else {
  process.stderr.write(
    'firestore.rules tests not run: FIRESTORE_EMULATOR_HOST is not set (npm run test:emulators)\n',
  );
}

/** People for tests of the embedded runtime in session mode: created with a password, signed in over HTTP. */
import { SESSION_COOKIE } from '../platform/cookies.js';
import { type Role, writeMembership } from '../platform/identity.js';
import type { EmbeddedRuntime } from '../runtimes/embedded/runtime.js';
import { hashPassword } from '../runtimes/embedded/sessions.js';

export const TEST_PASSWORD = 'a long test password';

/** A person in the local directory who has chosen a password. */
export async function addPerson(runtime: EmbeddedRuntime, email: string, password = TEST_PASSWORD) {
  const person = await runtime.people.findOrCreateByEmail(email);
  await runtime.documents.update(`people/${person.uid}`, { passwordHash: await hashPassword(password) });
  return person;
}

/** Makes `uid` a member of `workspace` (created if absent) with `role`, as the members API would. */
export async function grant(
  runtime: EmbeddedRuntime,
  workspace: string,
  uid: string,
  role: Role,
): Promise<void> {
  await runtime.documents.transaction(async (tx) => {
    const existing = await tx.get(`workspaces/${workspace}`);
    if (!existing) tx.create(`workspaces/${workspace}`, { name: workspace, createdAt: 0, createdBy: 'test' });
    writeMembership(tx, workspace, { uid, email: null, role, addedAt: 0, addedBy: 'test' }, workspace);
  });
}

/** Signs in through the API and answers the `cookie` header that carries the session. */
export async function signIn(url: string, email: string, password = TEST_PASSWORD): Promise<string> {
  const res = await fetch(`${url}/api/system/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (res.status !== 200) throw new Error(`sign-in of ${email} answered ${res.status}: ${await res.text()}`);
  const cookie = res.headers.get('set-cookie')?.split(';')[0];
  if (!cookie) throw new Error(`sign-in of ${email} set no cookie`);
  return cookie;
}

/** A session opened directly (no route involved), as the `cookie` header that carries it. */
export async function sessionCookie(runtime: EmbeddedRuntime, email: string, password = TEST_PASSWORD) {
  const grant = await runtime.sessions.signIn(email, password);
  return `${SESSION_COOKIE}=${grant.token}`;
}

/**
 * Identity and tenancy. Every resource belongs to a workspace; whether a caller
 * may touch a workspace is decided here and nowhere else.
 */
import { NotFoundError } from './errors.js';
import type { DocumentStore } from './ports.js';

export interface Identity {
  uid: string;
  kind: 'operator' | 'user' | 'api-key';
  email?: string;
  /** Workspaces granted by the credential itself; `*` for the local operator. */
  workspaces: '*' | readonly string[];
}

/** The embedded runtime's default caller: the person at the machine. */
export const LOCAL_OPERATOR: Identity = Object.freeze({
  uid: 'local-operator',
  kind: 'operator',
  workspaces: '*',
});

export const WORKSPACE_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Path of the membership document that grants `uid` access to `workspace`. */
export function membershipPath(workspace: string, uid: string): string {
  return `workspaces/${workspace}/members/${uid}`;
}

/**
 * Throws NotFoundError unless `identity` may use `workspace`. A workspace the
 * caller cannot see answers exactly like one that does not exist, so ids do not
 * leak across tenants.
 */
export async function assertWorkspaceAccess(
  identity: Identity,
  workspace: string,
  documents: Pick<DocumentStore, 'get'>,
): Promise<void> {
  if (!WORKSPACE_ID.test(workspace)) throw new NotFoundError(`Workspace "${workspace}" not found`);
  if (identity.workspaces === '*') return;
  if (identity.workspaces.includes(workspace)) return;
  const member = await documents.get(membershipPath(workspace, identity.uid));
  if (member) return;
  throw new NotFoundError(`Workspace "${workspace}" not found`);
}

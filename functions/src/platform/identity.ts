/**
 * People, workspaces and roles. The front door resolves who calls once, then
 * asks this module which role that caller holds in the route's workspace.
 * Membership documents are the one source of truth for roles:
 * `workspaces/{ws}/members/{uid}`, mirrored at `users/{uid}/workspaces/{ws}`
 * in the same transaction, so "my workspaces" is one bounded query.
 */
import { z } from 'zod';
import type { DocumentStore, DocumentTransaction } from './ports.js';

/** Lowest first: each role can do everything the ones before it can. */
export const ROLES = ['viewer', 'operator', 'admin', 'owner'] as const;
export const RoleSchema = z.enum(ROLES);
export type Role = z.infer<typeof RoleSchema>;

/** What a route demands of its caller; a route with a `:workspace` segment names a Role. */
export type RouteAccess = 'public' | 'signed-in' | 'platform-admin' | Role;
export const ROUTE_ACCESS: readonly RouteAccess[] = ['public', 'signed-in', 'platform-admin', ...ROLES];

export function roleAtLeast(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

export function isRole(access: RouteAccess): access is Role {
  return (ROLES as readonly string[]).includes(access);
}

export interface Identity {
  uid: string;
  /** `local-owner`: the person at the machine (owner of every workspace); `service`: a machine credential. */
  kind: 'local-owner' | 'user' | 'service';
  email: string | null;
  displayName: string | null;
  platformAdmin: boolean;
  /** Set by the embedded session resolver, so signing out ends exactly this session. */
  sessionId?: string;
}

/** What a workspace route's handler learns about its caller's standing there. */
export interface WorkspaceAccess {
  workspace: string;
  role: Role;
}

/** The embedded runtime's owner: the person at the machine, or the CLI with the machine's token. */
export const LOCAL_OWNER: Identity = Object.freeze({
  uid: 'local-owner',
  kind: 'local-owner',
  email: null,
  displayName: 'Local owner',
  platformAdmin: true,
});

export const WORKSPACE_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

export const MemberSchema = z.object({
  uid: z.string(),
  email: z.string().nullable(),
  role: RoleSchema,
  addedAt: z.number(),
  addedBy: z.string(),
});
export type Member = z.infer<typeof MemberSchema>;

export const UserWorkspaceSchema = z.object({
  workspace: z.string(),
  role: RoleSchema,
  name: z.string(),
});
export type UserWorkspace = z.infer<typeof UserWorkspaceSchema>;

export const WorkspaceDocSchema = z.object({
  name: z.string().default(''),
  createdAt: z.number().default(0),
});

export function membershipPath(workspace: string, uid: string): string {
  return `workspaces/${workspace}/members/${uid}`;
}

export function userWorkspacePath(uid: string, workspace: string): string {
  return `users/${uid}/workspaces/${workspace}`;
}

/** Writes a membership and its mirror in the caller's transaction: the two never disagree. */
export function writeMembership(
  tx: DocumentTransaction,
  workspace: string,
  member: Member,
  workspaceName: string,
): void {
  tx.set(membershipPath(workspace, member.uid), {
    uid: member.uid,
    email: member.email,
    role: member.role,
    addedAt: member.addedAt,
    addedBy: member.addedBy,
  });
  tx.set(userWorkspacePath(member.uid, workspace), {
    workspace,
    role: member.role,
    name: workspaceName,
  });
}

export function deleteMembership(tx: DocumentTransaction, workspace: string, uid: string): void {
  tx.delete(membershipPath(workspace, uid));
  tx.delete(userWorkspacePath(uid, workspace));
}

/**
 * The caller's role in `workspace`, or null when they are not a member (or the
 * id is not a workspace id): the front door answers 404 then, exactly as for a
 * workspace that does not exist, so ids do not leak across tenants.
 */
export async function workspaceRole(
  identity: Identity,
  workspace: string,
  documents: Pick<DocumentStore, 'get'>,
): Promise<Role | null> {
  if (!WORKSPACE_ID.test(workspace)) return null;
  if (identity.kind === 'local-owner') return 'owner';
  const doc = await documents.get(membershipPath(workspace, identity.uid));
  if (!doc) return null;
  const member = MemberSchema.pick({ role: true }).safeParse(doc.data);
  return member.success ? member.data.role : null;
}

/** At most this many workspaces are listed for one caller. */
export const MY_WORKSPACES_LIMIT = 200;

/** The workspaces the caller belongs to, with their role: one bounded query (every workspace for the local owner). */
export async function myWorkspaces(
  identity: Identity,
  documents: Pick<DocumentStore, 'query'>,
): Promise<Array<{ id: string; name: string; role: Role }>> {
  if (identity.kind === 'local-owner') {
    const page = await documents.query('workspaces', { limit: MY_WORKSPACES_LIMIT });
    return page.docs.map((d) => ({ id: d.id, name: WorkspaceDocSchema.parse(d.data).name, role: 'owner' }));
  }
  const page = await documents.query(`users/${identity.uid}/workspaces`, { limit: MY_WORKSPACES_LIMIT });
  return page.docs.flatMap((d) => {
    const mine = UserWorkspaceSchema.safeParse(d.data);
    return mine.success ? [{ id: d.id, name: mine.data.name, role: mine.data.role }] : [];
  });
}

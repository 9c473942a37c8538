/**
 * The identity part of the API: the session, workspaces and their members. The answer types are
 * inferred from the parsers that check them, so each shape is written once, here, until one typed
 * client shared with the CLI replaces them.
 */
import { type RequestOptions, requestParsed } from '../api.ts';
import { array, boolean, literal, nullable, object, type Parsed, string, timestamp } from '../shape.ts';

export const ROLES = ['owner', 'admin', 'operator', 'viewer'] as const;
export const AUTH_MODES = ['local', 'session', 'firebase'] as const;

const role = literal(ROLES);

const parseSession = object({
  mode: literal(AUTH_MODES),
  signedIn: boolean,
  user: nullable(
    object({ uid: string, email: nullable(string), displayName: nullable(string), platformAdmin: boolean }),
  ),
  firebase: nullable(
    object({
      apiKey: nullable(string),
      authDomain: nullable(string),
      projectId: nullable(string),
      authEmulatorUrl: nullable(string),
    }),
  ),
});
const workspaceSummary = object({ id: string, name: string, role });
const parseWorkspaceList = object({ workspaces: array(workspaceSummary) });
const parseWorkspace = object({ id: string, name: string, createdAt: nullable(timestamp), role });
const member = object({ uid: string, email: nullable(string), role, addedAt: nullable(timestamp) });
const parseMemberList = object({ members: array(member) });
const parseInvite = object({
  member,
  invitation: nullable(object({ url: string, expiresAt: timestamp })),
});
const parseRemoved = object({ removed: boolean });

export type Role = (typeof ROLES)[number];
export type AuthMode = (typeof AUTH_MODES)[number];
export type SessionInfo = Parsed<typeof parseSession>;
export type SessionUser = NonNullable<SessionInfo['user']>;
export type FirebaseSettings = NonNullable<SessionInfo['firebase']>;
export type WorkspaceSummary = Parsed<typeof workspaceSummary>;
export type Workspace = Parsed<typeof parseWorkspace>;
export type Member = Parsed<typeof member>;
export type Invitation = NonNullable<Parsed<typeof parseInvite>['invitation']>;
export type InviteResult = Parsed<typeof parseInvite>;

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** Whether `role` may do what `needed` may: owner > admin > operator > viewer. */
export function roleAtLeast(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) <= ROLES.indexOf(needed);
}

const segment = encodeURIComponent;
const workspacePath = (workspace: string) => `/api/workspaces/${segment(workspace)}`;
const membersPath = (workspace: string) => `${workspacePath(workspace)}/members`;

export function getSession(options?: RequestOptions): Promise<SessionInfo> {
  return requestParsed('GET', '/api/system/session', parseSession, options);
}

export function signIn(email: string, password: string, options?: RequestOptions): Promise<SessionInfo> {
  return requestParsed('POST', '/api/system/session', parseSession, { ...options, body: { email, password } });
}

/** Redeems a one-time owner or invitation link; `password` is required the first time. */
export function redeemLink(token: string, password: string | undefined, options?: RequestOptions) {
  const body = password === undefined ? { token } : { token, password };
  return requestParsed('POST', '/api/system/session/link', parseSession, { ...options, body });
}

export function signOut(options?: RequestOptions): Promise<unknown> {
  return requestParsed('DELETE', '/api/system/session', object({ signedIn: boolean }), options);
}

export function listWorkspaces(options?: RequestOptions): Promise<WorkspaceSummary[]> {
  return requestParsed('GET', '/api/workspaces', parseWorkspaceList, options).then((list) => list.workspaces);
}

export function createWorkspace(id: string, name: string, options?: RequestOptions): Promise<WorkspaceSummary> {
  return requestParsed('POST', '/api/workspaces', workspaceSummary, { ...options, body: { id, name } });
}

export function getWorkspace(workspace: string, options?: RequestOptions): Promise<Workspace> {
  return requestParsed('GET', workspacePath(workspace), parseWorkspace, options);
}

export function listMembers(workspace: string, options?: RequestOptions): Promise<Member[]> {
  return requestParsed('GET', membersPath(workspace), parseMemberList, options).then((list) => list.members);
}

export function inviteMember(workspace: string, email: string, role: Role, options?: RequestOptions) {
  return requestParsed('POST', membersPath(workspace), parseInvite, { ...options, body: { email, role } });
}

export function changeRole(workspace: string, uid: string, role: Role, options?: RequestOptions): Promise<Member> {
  return requestParsed('PUT', `${membersPath(workspace)}/${segment(uid)}`, member, { ...options, body: { role } });
}

export function removeMember(workspace: string, uid: string, options?: RequestOptions): Promise<unknown> {
  return requestParsed('DELETE', `${membersPath(workspace)}/${segment(uid)}`, parseRemoved, options);
}

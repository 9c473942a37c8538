/**
 * The identity part of the API: the session, workspaces and their members. Calls go through the
 * shared typed client, and the types are the routes' own answers (inferred from the server's
 * schemas); failures arrive as `ApiError`.
 */
import { type ApiResponse, api, type RequestOptions } from '../api.ts';

export type SessionInfo = ApiResponse<'system', 'session'>;
export type AuthMode = SessionInfo['mode'];
export type SessionUser = NonNullable<SessionInfo['user']>;
export type FirebaseSettings = NonNullable<SessionInfo['firebase']>;
export type WorkspaceSummary = ApiResponse<'workspaces', 'create'>;
export type Role = WorkspaceSummary['role'];
export type Workspace = ApiResponse<'workspaces', 'get'>;
export type Member = ApiResponse<'workspaces', 'changeRole'>;
export type InviteResult = ApiResponse<'workspaces', 'addMember'>;
export type Invitation = NonNullable<InviteResult['invitation']>;

/** Highest first, as the member list offers them. */
export const ROLES = ['owner', 'admin', 'operator', 'viewer'] as const satisfies readonly Role[];
export const AUTH_MODES = ['local', 'session', 'firebase'] as const satisfies readonly AuthMode[];

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** Whether `role` may do what `needed` may: owner > admin > operator > viewer. */
export function roleAtLeast(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) <= ROLES.indexOf(needed);
}

const signal = (options: RequestOptions | undefined) => ({ signal: options?.signal });

export function getSession(options?: RequestOptions): Promise<SessionInfo> {
  return api(options).system.session(signal(options));
}

export function signIn(email: string, password: string, options?: RequestOptions): Promise<SessionInfo> {
  return api(options).system.signIn({ body: { email, password }, ...signal(options) });
}

/** Redeems a one-time owner or invitation link; `password` is required the first time. */
export function redeemLink(token: string, password: string | undefined, options?: RequestOptions) {
  const body = password === undefined ? { token } : { token, password };
  return api(options).system.redeemLink({ body, ...signal(options) });
}

export function signOut(options?: RequestOptions): Promise<unknown> {
  return api(options).system.signOut(signal(options));
}

export async function listWorkspaces(options?: RequestOptions): Promise<WorkspaceSummary[]> {
  return (await api(options).workspaces.list(signal(options))).workspaces;
}

export function createWorkspace(id: string, name: string, options?: RequestOptions): Promise<WorkspaceSummary> {
  return api(options).workspaces.create({ body: { id, name }, ...signal(options) });
}

export function getWorkspace(workspace: string, options?: RequestOptions): Promise<Workspace> {
  return api(options).workspaces.get({ params: { workspace }, ...signal(options) });
}

export async function listMembers(workspace: string, options?: RequestOptions): Promise<Member[]> {
  return (await api(options).workspaces.members({ params: { workspace }, ...signal(options) })).members;
}

export function inviteMember(workspace: string, email: string, role: Role, options?: RequestOptions) {
  return api(options).workspaces.addMember({ params: { workspace }, body: { email, role }, ...signal(options) });
}

export function changeRole(workspace: string, uid: string, role: Role, options?: RequestOptions): Promise<Member> {
  return api(options).workspaces.changeRole({ params: { workspace, uid }, body: { role }, ...signal(options) });
}

export function removeMember(workspace: string, uid: string, options?: RequestOptions): Promise<unknown> {
  return api(options).workspaces.removeMember({ params: { workspace, uid }, ...signal(options) });
}

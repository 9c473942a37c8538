/** The workspaces API: my workspaces, creating one, and its members. Thin: parse, check, call the store. */
import { UnauthenticatedError } from '../../platform/errors.js';
import { type Identity, myWorkspaces, type WorkspaceAccess } from '../../platform/identity.js';
import { implement, type RouteDefinition } from '../../platform/orchestrator.js';
import { workspacesApi } from './api.js';
import {
  addMember,
  changeRole,
  createWorkspace,
  getWorkspace,
  listMembers,
  memberView,
  removeMember,
} from './store.js';

/** The front door has checked both already; these narrow the types for the handler. */
function caller(identity: Identity | null): Identity {
  if (!identity) throw new UnauthenticatedError();
  return identity;
}
function standing(
  identity: Identity | null,
  access: WorkspaceAccess | null,
): { uid: string; role: WorkspaceAccess['role'] } {
  if (!access) throw new UnauthenticatedError();
  return { uid: caller(identity).uid, role: access.role };
}

export const workspaceRoutes: RouteDefinition[] = [
  implement(workspacesApi.list, async (req, ctx) => ({
    workspaces: await myWorkspaces(caller(req.identity), ctx.documents),
  })),
  implement(workspacesApi.create, async (req, ctx) => {
    const { id, name } = req.body;
    await createWorkspace(ctx.documents, { id, name, creator: caller(req.identity), now: ctx.clock.now() });
    return { id, name, role: 'owner' as const };
  }),
  implement(workspacesApi.get, async (req, ctx) => {
    const workspace = await getWorkspace(ctx.documents, req.params.workspace);
    return { id: req.params.workspace, ...workspace, role: standing(req.identity, req.access).role };
  }),
  implement(workspacesApi.members, async (req, ctx) => ({
    members: (await listMembers(ctx.documents, req.params.workspace)).map(memberView),
  })),
  implement(workspacesApi.addMember, async (req, ctx) => {
    const person = await ctx.people.findOrCreateByEmail(req.body.email);
    const member = await addMember(ctx.documents, {
      workspace: req.params.workspace,
      person,
      role: req.body.role,
      caller: standing(req.identity, req.access),
      now: ctx.clock.now(),
    });
    return { member: memberView(member), invitation: await ctx.people.invitation(person.uid) };
  }),
  implement(workspacesApi.changeRole, async (req, ctx) => {
    const member = await changeRole(ctx.documents, {
      workspace: req.params.workspace,
      uid: req.params.uid,
      role: req.body.role,
      caller: standing(req.identity, req.access),
    });
    return memberView(member);
  }),
  implement(workspacesApi.removeMember, async (req, ctx) => {
    await removeMember(ctx.documents, {
      workspace: req.params.workspace,
      uid: req.params.uid,
      caller: standing(req.identity, req.access),
    });
    return { removed: true as const };
  }),
];

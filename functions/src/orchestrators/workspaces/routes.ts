/** The workspaces API: my workspaces, creating one, and its members. Thin: parse, check, call the store. */
import { UnauthenticatedError } from '../../platform/errors.js';
import { type Identity, myWorkspaces, type WorkspaceAccess } from '../../platform/identity.js';
import { defineRoute, type RouteDefinition } from '../../platform/orchestrator.js';
import {
  AddedMemberSchema,
  AddMemberBodySchema,
  ChangeRoleBodySchema,
  CreateWorkspaceBodySchema,
  MemberParamsSchema,
  MembersSchema,
  MemberViewSchema,
  MyWorkspaceSchema,
  MyWorkspacesSchema,
  RemovedSchema,
  WorkspaceParamsSchema,
  WorkspaceSchema,
} from './model.js';
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
  defineRoute({
    method: 'GET',
    path: '/',
    access: 'signed-in',
    summary: 'The workspaces you are a member of, with your role in each',
    response: MyWorkspacesSchema,
    handler: async (req, ctx) => ({ workspaces: await myWorkspaces(caller(req.identity), ctx.documents) }),
  }),
  defineRoute({
    method: 'POST',
    path: '/',
    access: 'signed-in',
    summary: 'Create a workspace; you become its owner',
    body: CreateWorkspaceBodySchema,
    status: 201,
    response: MyWorkspaceSchema,
    async handler(req, ctx) {
      const { id, name } = req.body;
      await createWorkspace(ctx.documents, { id, name, creator: caller(req.identity), now: ctx.clock.now() });
      return { id, name, role: 'owner' as const };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/:workspace',
    access: 'viewer',
    summary: 'A workspace, and your role in it',
    params: WorkspaceParamsSchema,
    response: WorkspaceSchema,
    async handler(req, ctx) {
      const workspace = await getWorkspace(ctx.documents, req.params.workspace);
      return { id: req.params.workspace, ...workspace, role: standing(req.identity, req.access).role };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/:workspace/members',
    access: 'viewer',
    summary: 'The members of a workspace and their roles',
    params: WorkspaceParamsSchema,
    response: MembersSchema,
    handler: async (req, ctx) => ({
      members: (await listMembers(ctx.documents, req.params.workspace)).map(memberView),
    }),
  }),
  defineRoute({
    method: 'POST',
    path: '/:workspace/members',
    access: 'admin',
    summary: 'Add a person by email with a role; answers a one-time invitation link when they need one',
    description:
      'Only an owner may grant `owner`. On the embedded runtime a person who has never signed in gets an invitation link (valid 7 days) for the admin to pass on; on Firebase, `invitation` is null.',
    params: WorkspaceParamsSchema,
    body: AddMemberBodySchema,
    status: 201,
    response: AddedMemberSchema,
    async handler(req, ctx) {
      const person = await ctx.people.findOrCreateByEmail(req.body.email);
      const member = await addMember(ctx.documents, {
        workspace: req.params.workspace,
        person,
        role: req.body.role,
        caller: standing(req.identity, req.access),
        now: ctx.clock.now(),
      });
      return { member: memberView(member), invitation: await ctx.people.invitation(person.uid) };
    },
  }),
  defineRoute({
    method: 'PUT',
    path: '/:workspace/members/:uid',
    access: 'admin',
    summary: 'Change a member’s role',
    description:
      'Only an owner may grant or take away `owner`; the last owner cannot be demoted (409); an admin cannot change their own role.',
    params: MemberParamsSchema,
    body: ChangeRoleBodySchema,
    response: MemberViewSchema,
    async handler(req, ctx) {
      const member = await changeRole(ctx.documents, {
        workspace: req.params.workspace,
        uid: req.params.uid,
        role: req.body.role,
        caller: standing(req.identity, req.access),
      });
      return memberView(member);
    },
  }),
  defineRoute({
    method: 'DELETE',
    path: '/:workspace/members/:uid',
    access: 'admin',
    summary: 'Remove a member',
    description: 'Only an owner may remove an owner; the last owner cannot be removed (409).',
    params: MemberParamsSchema,
    response: RemovedSchema,
    async handler(req, ctx) {
      await removeMember(ctx.documents, {
        workspace: req.params.workspace,
        uid: req.params.uid,
        caller: standing(req.identity, req.access),
      });
      return { removed: true as const };
    },
  }),
];

/**
 * The workspaces API's contract: my workspaces, creating one, and its members.
 * Imports only zod and schema modules.
 */
import { defineContract } from '../../platform/contract.js';
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

export const workspacesApi = {
  list: defineContract({
    method: 'GET',
    path: '/',
    access: 'signed-in',
    summary: 'The workspaces you are a member of, with your role in each',
    response: MyWorkspacesSchema,
  }),
  create: defineContract({
    method: 'POST',
    path: '/',
    access: 'signed-in',
    summary: 'Create a workspace; you become its owner',
    body: CreateWorkspaceBodySchema,
    status: 201,
    response: MyWorkspaceSchema,
  }),
  get: defineContract({
    method: 'GET',
    path: '/:workspace',
    access: 'viewer',
    summary: 'A workspace, and your role in it',
    params: WorkspaceParamsSchema,
    response: WorkspaceSchema,
  }),
  members: defineContract({
    method: 'GET',
    path: '/:workspace/members',
    access: 'viewer',
    summary: 'The members of a workspace and their roles',
    params: WorkspaceParamsSchema,
    response: MembersSchema,
  }),
  addMember: defineContract({
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
  }),
  changeRole: defineContract({
    method: 'PUT',
    path: '/:workspace/members/:uid',
    access: 'admin',
    summary: 'Change a member’s role',
    description:
      'Only an owner may grant or take away `owner`; the last owner cannot be demoted (409); an admin cannot change their own role.',
    params: MemberParamsSchema,
    body: ChangeRoleBodySchema,
    response: MemberViewSchema,
  }),
  removeMember: defineContract({
    method: 'DELETE',
    path: '/:workspace/members/:uid',
    access: 'admin',
    summary: 'Remove a member',
    description: 'Only an owner may remove an owner; the last owner cannot be removed (409).',
    params: MemberParamsSchema,
    response: RemovedSchema,
  }),
};

import { z } from 'zod';
import { RoleSchema, WORKSPACE_ID } from '../../platform/identity.js';

export const WorkspaceIdSchema = z
  .string()
  .regex(WORKSPACE_ID, 'lower-case letters, digits and dashes, starting with a letter or digit, at most 63');

export const WorkspaceParamsSchema = z.object({ workspace: z.string() });
export const MemberParamsSchema = WorkspaceParamsSchema.extend({ uid: z.string().min(1).max(128) });

export const MyWorkspaceSchema = z.object({ id: z.string(), name: z.string(), role: RoleSchema });
export const MyWorkspacesSchema = z
  .object({ workspaces: z.array(MyWorkspaceSchema) })
  .meta({ id: 'MyWorkspaces' });

export const CreateWorkspaceBodySchema = z
  .object({ id: WorkspaceIdSchema, name: z.string().trim().min(1).max(120) })
  .strict();

export const WorkspaceSchema = z
  .object({ id: z.string(), name: z.string(), createdAt: z.number(), role: RoleSchema })
  .meta({ id: 'Workspace' });

export const MemberViewSchema = z
  .object({ uid: z.string(), email: z.string().nullable(), role: RoleSchema, addedAt: z.number() })
  .meta({ id: 'Member' });
export type MemberView = z.infer<typeof MemberViewSchema>;

export const MembersSchema = z.object({ members: z.array(MemberViewSchema) }).meta({ id: 'Members' });

export const AddMemberBodySchema = z.object({ email: z.email(), role: RoleSchema }).strict();
export const ChangeRoleBodySchema = z.object({ role: RoleSchema }).strict();

export const InvitationSchema = z.object({ url: z.string(), expiresAt: z.number() });

export const AddedMemberSchema = z
  .object({ member: MemberViewSchema, invitation: InvitationSchema.nullable() })
  .meta({ id: 'AddedMember' });

export const RemovedSchema = z.object({ removed: z.literal(true) });

/** At most this many members are listed for one workspace. */
export const MEMBERS_LIMIT = 500;

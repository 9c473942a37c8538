/**
 * Workspaces and their members, through the documents port. Every change of
 * a membership writes its mirror under `users/{uid}/workspaces` in the same
 * transaction (platform/identity.ts), and the role rules are checked inside
 * that transaction, so two owners demoted at once cannot leave none.
 */
import { ConflictError, ForbiddenError, NotFoundError } from '../../platform/errors.js';
import {
  deleteMembership,
  type Identity,
  type Member,
  MemberSchema,
  membershipPath,
  type Role,
  WorkspaceDocSchema,
  writeMembership,
} from '../../platform/identity.js';
import type { DocumentStore, DocumentTransaction } from '../../platform/ports.js';
import { MEMBERS_LIMIT, type MemberView } from './model.js';

const workspacePath = (id: string) => `workspaces/${id}`;

export function memberView(m: Member): MemberView {
  return { uid: m.uid, email: m.email, role: m.role, addedAt: m.addedAt };
}

export async function createWorkspace(
  documents: DocumentStore,
  input: { id: string; name: string; creator: Identity; now: number },
): Promise<void> {
  await documents.transaction(async (tx) => {
    if (await tx.get(workspacePath(input.id)))
      throw new ConflictError(`Workspace "${input.id}" already exists`, { workspace: input.id });
    tx.create(workspacePath(input.id), {
      name: input.name,
      createdAt: input.now,
      createdBy: input.creator.uid,
    });
    writeMembership(
      tx,
      input.id,
      {
        uid: input.creator.uid,
        email: input.creator.email,
        role: 'owner',
        addedAt: input.now,
        addedBy: input.creator.uid,
      },
      input.name,
    );
  });
}

export async function getWorkspace(
  documents: Pick<DocumentStore, 'get'>,
  id: string,
): Promise<{ name: string; createdAt: number }> {
  const doc = await documents.get(workspacePath(id));
  if (!doc) throw new NotFoundError(`Workspace "${id}" not found`);
  return WorkspaceDocSchema.parse(doc.data);
}

export async function listMembers(documents: DocumentStore, workspace: string): Promise<Member[]> {
  const page = await documents.query(`workspaces/${workspace}/members`, { limit: MEMBERS_LIMIT });
  return page.docs.map((d) => MemberSchema.parse(d.data));
}

async function workspaceName(tx: DocumentTransaction, workspace: string): Promise<string> {
  const doc = await tx.get(workspacePath(workspace));
  if (!doc) throw new NotFoundError(`Workspace "${workspace}" not found`);
  return WorkspaceDocSchema.parse(doc.data).name;
}

async function existingMember(tx: DocumentTransaction, workspace: string, uid: string): Promise<Member> {
  const doc = await tx.get(membershipPath(workspace, uid));
  if (!doc) throw new NotFoundError(`No member "${uid}" in workspace "${workspace}"`);
  return MemberSchema.parse(doc.data);
}

/**
 * Before an owner stops being one: another owner must remain. The query runs
 * outside the transaction (transactions read documents, not queries), so the
 * other owner found is read again inside it: should they be demoted at the
 * same moment, one of the two transactions retries and sees it.
 */
async function otherOwner(documents: DocumentStore, workspace: string, uid: string): Promise<string | null> {
  const owners = await documents.query(`workspaces/${workspace}/members`, {
    where: [{ field: 'role', op: '==', value: 'owner' }],
    limit: 2,
  });
  return owners.docs.find((d) => d.id !== uid)?.id ?? null;
}

async function assertStillOwner(tx: DocumentTransaction, workspace: string, uid: string, other: string) {
  const doc = await tx.get(membershipPath(workspace, other));
  if (!doc || MemberSchema.parse(doc.data).role !== 'owner') throw lastOwner(workspace, uid);
}

function lastOwner(workspace: string, uid: string): ConflictError {
  return new ConflictError(`"${uid}" is the last owner of "${workspace}"; make someone else owner first`);
}

/** Who may touch whose role: only an owner grants or takes away `owner`; an admin never changes their own. */
function assertMayChange(caller: { uid: string; role: Role }, target: Member, next: Role | null): void {
  if ((target.role === 'owner' || next === 'owner') && caller.role !== 'owner')
    throw new ForbiddenError('Only an owner may grant or take away the owner role');
  if (next !== null && target.uid === caller.uid && caller.role === 'admin')
    throw new ForbiddenError('An admin cannot change their own role');
}

export async function addMember(
  documents: DocumentStore,
  input: {
    workspace: string;
    person: { uid: string; email: string };
    role: Role;
    caller: { uid: string; role: Role };
    now: number;
  },
): Promise<Member> {
  if (input.role === 'owner' && input.caller.role !== 'owner')
    throw new ForbiddenError('Only an owner may grant the owner role');
  return documents.transaction(async (tx) => {
    const name = await workspaceName(tx, input.workspace);
    if (await tx.get(membershipPath(input.workspace, input.person.uid)))
      throw new ConflictError(`${input.person.email} is already a member; change their role instead`);
    const member: Member = {
      uid: input.person.uid,
      email: input.person.email,
      role: input.role,
      addedAt: input.now,
      addedBy: input.caller.uid,
    };
    writeMembership(tx, input.workspace, member, name);
    return member;
  });
}

export async function changeRole(
  documents: DocumentStore,
  input: { workspace: string; uid: string; role: Role; caller: { uid: string; role: Role } },
): Promise<Member> {
  const before = await documents.get(membershipPath(input.workspace, input.uid));
  const demotesOwner =
    before !== null && MemberSchema.parse(before.data).role === 'owner' && input.role !== 'owner';
  const other = demotesOwner ? await otherOwner(documents, input.workspace, input.uid) : null;
  return documents.transaction(async (tx) => {
    const name = await workspaceName(tx, input.workspace);
    const member = await existingMember(tx, input.workspace, input.uid);
    assertMayChange(input.caller, member, input.role);
    if (member.role === 'owner' && input.role !== 'owner') {
      if (other === null) throw lastOwner(input.workspace, input.uid);
      await assertStillOwner(tx, input.workspace, input.uid, other);
    }
    const next = { ...member, role: input.role };
    writeMembership(tx, input.workspace, next, name);
    return next;
  });
}

export async function removeMember(
  documents: DocumentStore,
  input: { workspace: string; uid: string; caller: { uid: string; role: Role } },
): Promise<void> {
  const before = await documents.get(membershipPath(input.workspace, input.uid));
  const removesOwner = before !== null && MemberSchema.parse(before.data).role === 'owner';
  const other = removesOwner ? await otherOwner(documents, input.workspace, input.uid) : null;
  await documents.transaction(async (tx) => {
    const member = await existingMember(tx, input.workspace, input.uid);
    assertMayChange(input.caller, member, null);
    if (member.role === 'owner') {
      if (other === null) throw lastOwner(input.workspace, input.uid);
      await assertStillOwner(tx, input.workspace, input.uid, other);
    }
    deleteMembership(tx, input.workspace, input.uid);
  });
}

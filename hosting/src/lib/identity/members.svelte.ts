/**
 * The members of one workspace and what an admin does with them: invite, change a role, remove.
 * Each action's problem is kept next to the action (by key) so the page shows it where it happened.
 */
import { type ApiError, isAbortError, toApiError } from '../api.ts';
import { changeRole, type Invitation, inviteMember, listMembers, type Member, removeMember, type Role } from './api.ts';

/** Which control a problem came from: the invite form, or one member's row. */
export type MemberActionKey = 'invite' | `role:${string}` | `remove:${string}`;

export class MemberDirectory {
  #members = $state.raw<readonly Member[]>([]);
  #loadError = $state.raw<ApiError | undefined>();
  #loading = $state(true);
  #pending = $state<MemberActionKey | undefined>();
  #actionError = $state.raw<{ key: MemberActionKey; error: ApiError } | undefined>();
  #invitation = $state.raw<{ email: string; invitation: Invitation } | undefined>();

  readonly workspace: string;

  constructor(workspace: string) {
    this.workspace = workspace;
  }

  /** Oldest first, as the API lists them. */
  get members(): readonly Member[] {
    return this.#members;
  }

  get loadError(): ApiError | undefined {
    return this.#loadError;
  }

  get loading(): boolean {
    return this.#loading;
  }

  /** The action running now; one at a time. */
  get pending(): MemberActionKey | undefined {
    return this.#pending;
  }

  /** The one-time link of the latest invitation: the API shows it once, so the page must too. */
  get invitation(): { email: string; invitation: Invitation } | undefined {
    return this.#invitation;
  }

  errorOf(key: MemberActionKey): ApiError | undefined {
    return this.#actionError?.key === key ? this.#actionError.error : undefined;
  }

  /** Loads the list. Meant for an `$effect`: the returned function aborts it. */
  load(): () => void {
    const controller = new AbortController();
    void (async () => {
      try {
        this.#members = await listMembers(this.workspace, { signal: controller.signal });
        this.#loadError = undefined;
      } catch (error) {
        if (controller.signal.aborted || isAbortError(error)) return;
        this.#loadError = toApiError(error);
      } finally {
        if (!controller.signal.aborted) this.#loading = false;
      }
    })();
    return () => controller.abort();
  }

  /** Adds `email` with `role`; resolves true when it did (the invitation link, if any, is kept). */
  invite(email: string, role: Role): Promise<boolean> {
    this.#invitation = undefined;
    return this.#act('invite', async () => {
      const result = await inviteMember(this.workspace, email, role);
      this.#upsert(result.member);
      if (result.invitation) this.#invitation = { email, invitation: result.invitation };
    });
  }

  changeRole(uid: string, role: Role): Promise<boolean> {
    return this.#act(`role:${uid}`, async () => this.#upsert(await changeRole(this.workspace, uid, role)));
  }

  remove(uid: string): Promise<boolean> {
    return this.#act(`remove:${uid}`, async () => {
      await removeMember(this.workspace, uid);
      this.#members = this.#members.filter((member) => member.uid !== uid);
    });
  }

  #upsert(member: Member): void {
    const known = this.#members.some((m) => m.uid === member.uid);
    this.#members = known
      ? this.#members.map((m) => (m.uid === member.uid ? member : m))
      : [...this.#members, member];
  }

  async #act(key: MemberActionKey, run: () => Promise<void>): Promise<boolean> {
    if (this.#pending !== undefined) return false;
    this.#pending = key;
    this.#actionError = undefined;
    try {
      await run();
      return true;
    } catch (error) {
      this.#actionError = { key, error: toApiError(error) };
      return false;
    } finally {
      this.#pending = undefined;
    }
  }
}

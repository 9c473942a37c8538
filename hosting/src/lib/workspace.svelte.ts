/**
 * The workspaces the caller can open and the current one (the `ws` of the address, checked
 * against the API, with the caller's role in it). One instance, `workspaces`, shared by the
 * layout, the switcher and the pages.
 */
import { page } from '$app/state';
import { type ApiError, isAbortError, toApiError } from './api.ts';
import {
  createWorkspace,
  getWorkspace,
  listWorkspaces,
  type Role,
  roleAtLeast,
  type Workspace,
  type WorkspaceSummary,
} from './identity/api.ts';
import { chooseWorkspace, LAST_WORKSPACE_KEY, WORKSPACE_PARAM, withWorkspace } from './workspace.ts';

export class Workspaces {
  #list = $state.raw<readonly WorkspaceSummary[] | undefined>();
  #listError = $state.raw<ApiError | undefined>();
  #current = $state.raw<Workspace | undefined>();
  #currentError = $state.raw<{ id: string; error: ApiError } | undefined>();
  // Derived, so what depends on them moves only when the value does, not on every navigation
  // (a new `page.url`) or every check of the same workspace (a new `#current`).
  #id = $derived(page.url.searchParams.get(WORKSPACE_PARAM) ?? undefined);
  #currentId = $derived(this.#current?.id === this.#id ? (this.#id ?? '') : '');

  /** The workspace the address names, checked or not yet; undefined until one is chosen. */
  get id(): string | undefined {
    return this.#id;
  }

  /** The caller's workspaces, undefined until they arrive. */
  get list(): readonly WorkspaceSummary[] | undefined {
    return this.#list;
  }

  get listError(): ApiError | undefined {
    return this.#listError;
  }

  /** The current workspace as the API described it; undefined while it loads or when it failed. */
  get current(): Workspace | undefined {
    const current = this.#current;
    return current && current.id === this.id ? current : undefined;
  }

  /**
   * The current workspace's id, for pages: the layout shows a page only once the API confirmed
   * the workspace, so a page never asks about one it cannot see.
   */
  get currentId(): string {
    return this.#currentId;
  }

  /** Why the current workspace could not be opened (404: it does not exist or the caller is no member). */
  get currentError(): ApiError | undefined {
    const failure = this.#currentError;
    return failure && failure.id === this.id ? failure.error : undefined;
  }

  /**
   * Whether the caller's role in the current workspace is at least `needed`: controls the API would
   * refuse (403) are not offered.
   */
  can(needed: Role): boolean {
    const role = this.current?.role;
    return role !== undefined && roleAtLeast(role, needed);
  }

  /** The caller's role in one of their workspaces (from the list), e.g. for the pool's table of all of them. */
  roleIn(id: string): Role | undefined {
    return this.#list?.find((workspace) => workspace.id === id)?.role;
  }

  /** `href` in the current workspace: every link inside Mission Control goes through this. */
  href(href: string): string {
    const id = this.id;
    return id === undefined ? href : withWorkspace(href, id);
  }

  /** The workspace to open when the address names none (see `chooseWorkspace`). */
  choose(): string | undefined {
    return this.#list ? chooseWorkspace(this.#list, readRemembered()) : undefined;
  }

  /** Loads the caller's workspaces. Meant for an `$effect`: the returned function aborts the load. */
  loadList(): () => void {
    const controller = new AbortController();
    void (async () => {
      try {
        const list = await listWorkspaces({ signal: controller.signal });
        this.#list = list;
        this.#listError = undefined;
      } catch (error) {
        if (controller.signal.aborted || isAbortError(error)) return;
        this.#listError = toApiError(error);
      }
    })();
    return () => controller.abort();
  }

  /**
   * Checks the workspace `id` and reads the caller's role in it; remembers it as the last one
   * chosen once the API confirmed it. Meant for an `$effect` that reads the address.
   */
  open(id: string): () => void {
    const controller = new AbortController();
    void (async () => {
      try {
        const workspace = await getWorkspace(id, { signal: controller.signal });
        this.#current = workspace;
        this.#currentError = undefined;
        remember(id);
      } catch (error) {
        if (controller.signal.aborted || isAbortError(error)) return;
        this.#currentError = { id, error: toApiError(error) };
      }
    })();
    return () => controller.abort();
  }

  /** Creates a workspace (the caller becomes its owner) and adds it to the list. */
  async create(id: string, name: string): Promise<WorkspaceSummary> {
    const created = await createWorkspace(id, name);
    this.#list = [...(this.#list ?? []).filter((workspace) => workspace.id !== created.id), created];
    return created;
  }

  /** Forgets what belonged to the previous caller (after signing out). */
  clear(): void {
    this.#list = undefined;
    this.#listError = undefined;
    this.#current = undefined;
    this.#currentError = undefined;
  }
}

function readRemembered(): string | null {
  try {
    return localStorage.getItem(LAST_WORKSPACE_KEY);
  } catch {
    // Storage can be refused (privacy settings): then nothing is remembered.
    return null;
  }
}

function remember(id: string): void {
  try {
    localStorage.setItem(LAST_WORKSPACE_KEY, id);
  } catch {
    // As above: without storage, the next visit opens the first workspace.
  }
}

export const workspaces = new Workspaces();

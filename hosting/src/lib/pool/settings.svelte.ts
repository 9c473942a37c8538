/**
 * Editing one workspace's pool settings: the current ones loaded, a draft the form binds to, and a
 * save that reports the server's problem field by field.
 */
import { type ApiError, isAbortError, toApiError } from '../api.ts';
import { getWorkspaceSettings, putWorkspaceSettings, type WorkspacePoolSettings } from './api.ts';
import { draftOf, invalidFields, type SettingsDraft, type SettingsField, settingsBody } from './settings-draft.ts';

export class WorkspaceSettingsEditor {
  #settings = $state.raw<WorkspacePoolSettings | undefined>();
  #draft = $state<SettingsDraft>({ weight: '', queueBudget: '', maxConcurrent: '' });
  #loadError = $state.raw<ApiError | undefined>();
  #saveError = $state.raw<ApiError | undefined>();
  #loading = $state(true);
  #saving = $state(false);

  #invalid = $derived(invalidFields(this.#saveError?.errors ?? []));

  readonly workspace: string;
  readonly #fetch: typeof fetch | undefined;

  constructor(workspace: string, options: { fetch?: typeof fetch } = {}) {
    this.workspace = workspace;
    this.#fetch = options.fetch;
  }

  /** The settings as the server last reported them. */
  get settings(): WorkspacePoolSettings | undefined {
    return this.#settings;
  }

  /** What the form shows and edits (bind to its fields). */
  get draft(): SettingsDraft {
    return this.#draft;
  }

  get loadError(): ApiError | undefined {
    return this.#loadError;
  }

  /** Why the last save failed; cleared by the next save. */
  get saveError(): ApiError | undefined {
    return this.#saveError;
  }

  /** True until the current settings arrive: saving before would send fields the operator never saw. */
  get loading(): boolean {
    return this.#loading;
  }

  get saving(): boolean {
    return this.#saving;
  }

  isInvalid(field: SettingsField): boolean {
    return this.#invalid.has(field);
  }

  /** Loads the current settings into the draft. Meant for an `$effect`: the returned function aborts it. */
  load(): () => void {
    const controller = new AbortController();
    const run = async () => {
      try {
        const settings = await getWorkspaceSettings(this.workspace, {
          signal: controller.signal,
          ...(this.#fetch ? { fetch: this.#fetch } : {}),
        });
        this.#settings = settings;
        this.#draft = draftOf(settings);
        this.#loadError = undefined;
      } catch (error) {
        if (controller.signal.aborted || isAbortError(error)) return;
        this.#loadError = toApiError(error);
      } finally {
        if (!controller.signal.aborted) this.#loading = false;
      }
    };
    void run();
    return () => controller.abort();
  }

  /** Replaces the workspace's settings with the draft; resolves with what the server stored, or undefined on failure. */
  async save(): Promise<WorkspacePoolSettings | undefined> {
    if (this.#saving || this.#loading) return undefined;
    this.#saving = true;
    this.#saveError = undefined;
    try {
      const saved = await putWorkspaceSettings(
        this.workspace,
        settingsBody(this.#draft),
        this.#fetch ? { fetch: this.#fetch } : {},
      );
      this.#settings = saved;
      this.#draft = draftOf(saved);
      return saved;
    } catch (error) {
      this.#saveError = toApiError(error);
      return undefined;
    } finally {
      this.#saving = false;
    }
  }
}

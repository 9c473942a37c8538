/**
 * One use case: a version of it (the latest unless one is named), its versions, and the template
 * it was made from at the version it pins (for a deprecation notice and the template's samples).
 * Archiving and restoring it replace what is shown.
 */
import { type ApiError, isAbortError, type RequestOptions, toApiError } from '../api.ts';
import {
  archiveUseCase,
  getTemplate,
  getUseCase,
  listUseCaseVersions,
  type TemplateDetail,
  type TemplateSample,
  type TemplateVersion,
  type UseCase,
  type UseCaseVersion,
  type UseCaseWithNotice,
} from './api.ts';

export class UseCaseView {
  #useCase = $state.raw<UseCaseWithNotice | undefined>();
  #latest = $state<number | undefined>();
  #versions = $state.raw<readonly UseCaseVersion[]>([]);
  #template = $state.raw<TemplateDetail | undefined>();
  #templateError = $state.raw<ApiError | undefined>();
  #error = $state.raw<ApiError | undefined>();
  #loading = $state(true);
  #archiving = $state(false);
  #archiveError = $state.raw<ApiError | undefined>();

  readonly id: string;
  readonly #workspace: string;
  readonly #fetch: typeof fetch | undefined;

  constructor(id: string, options: { workspace: string; fetch?: typeof fetch }) {
    this.id = id;
    this.#workspace = options.workspace;
    this.#fetch = options.fetch;
  }

  /** The version shown. */
  get useCase(): UseCaseWithNotice | undefined {
    return this.#useCase;
  }

  /** The deprecation of the template version the shown use case pins, or null. */
  get templateDeprecation(): { message: string; at: number } | null {
    return this.#useCase?.templateDeprecation ?? this.templateVersion?.deprecated ?? null;
  }

  /** The newest version's number. */
  get latestVersion(): number | undefined {
    return this.#latest;
  }

  /** Newest first (the latest 50). */
  get versions(): readonly UseCaseVersion[] {
    return this.#versions;
  }

  /** The template at the version the shown use case pins; undefined when not made from one (or it failed). */
  get template(): TemplateDetail | undefined {
    return this.#template;
  }

  /** Why the template could not be read (the use case still shows). */
  get templateError(): ApiError | undefined {
    return this.#templateError;
  }

  /** The entry of the pinned template version, with its deprecation. */
  get templateVersion(): TemplateVersion | undefined {
    const pinned = this.#useCase?.template?.version;
    return this.#template?.versions.find((v) => v.version === pinned);
  }

  /** The newest version of the template that is not deprecated, when it is not the pinned one. */
  get newerTemplateVersion(): string | undefined {
    const versions = this.#template?.versions ?? [];
    const live = versions.filter((v) => v.deprecated === null);
    const newest = live.at(-1)?.version;
    return newest !== undefined && newest !== this.#useCase?.template?.version ? newest : undefined;
  }

  /** The template's sample inputs, offered by the run form. */
  get samples(): readonly TemplateSample[] {
    return this.#template?.resolved.samples ?? [];
  }

  get error(): ApiError | undefined {
    return this.#error;
  }

  get loading(): boolean {
    return this.#loading;
  }

  get archiving(): boolean {
    return this.#archiving;
  }

  get archiveError(): ApiError | undefined {
    return this.#archiveError;
  }

  /**
   * Loads `version` (the latest when undefined), the versions, and the template it pins. Meant
   * for an `$effect` that reads the version: the returned function aborts the load.
   */
  load(version: number | undefined): () => void {
    const controller = new AbortController();
    const options: RequestOptions = { signal: controller.signal, ...this.#options() };
    this.#loading = true;
    const run = async () => {
      try {
        const [useCase, versions] = await Promise.all([
          getUseCase(this.#workspace, this.id, version, options),
          listUseCaseVersions(this.#workspace, this.id, { limit: 50 }, options),
        ]);
        if (controller.signal.aborted) return;
        this.#useCase = useCase;
        this.#versions = versions.versions;
        this.#latest = versions.versions[0]?.version ?? useCase.version;
        this.#error = undefined;
        await this.#loadTemplate(useCase, options);
      } catch (error) {
        if (controller.signal.aborted || isAbortError(error)) return;
        this.#error = toApiError(error);
      } finally {
        if (!controller.signal.aborted) this.#loading = false;
      }
    };
    void run();
    return () => controller.abort();
  }

  async #loadTemplate(useCase: UseCase, options: RequestOptions): Promise<void> {
    const origin = useCase.template;
    if (!origin) {
      this.#template = undefined;
      this.#templateError = undefined;
      return;
    }
    if (this.#template?.summary.id === origin.id && this.#template.template.metadata.version === origin.version) return;
    try {
      this.#template = await getTemplate(this.#workspace, origin.id, origin.version, options);
      this.#templateError = undefined;
    } catch (error) {
      if (isAbortError(error)) throw error;
      this.#template = undefined;
      this.#templateError = toApiError(error);
    }
  }

  /** Archives the use case (no new runs), or restores it. */
  async setArchived(archived: boolean): Promise<void> {
    if (this.#archiving) return;
    this.#archiving = true;
    this.#archiveError = undefined;
    try {
      const updated = await archiveUseCase(this.#workspace, this.id, archived, this.#options());
      // Archiving applies to the use case, whatever version is on screen.
      if (this.#useCase) this.#useCase = { ...this.#useCase, archived: updated.archived };
    } catch (error) {
      this.#archiveError = toApiError(error);
    } finally {
      this.#archiving = false;
    }
  }

  #options(): RequestOptions {
    return this.#fetch ? { fetch: this.#fetch } : {};
  }
}

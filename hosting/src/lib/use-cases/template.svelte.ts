/**
 * One template of the library: as written and resolved through its chain (with the origin of
 * every value), its versions, what changed between two of them, and (a workspace's own template)
 * deprecating a version or lifting its deprecation.
 */
import { type ApiError, isAbortError, type RequestOptions, toApiError } from '../api.ts';
import { deprecateTemplate, diffTemplate, getTemplate, type TemplateDetail, type TemplateDiff } from './api.ts';

export class TemplateView {
  #detail = $state.raw<TemplateDetail | undefined>();
  #error = $state.raw<ApiError | undefined>();
  #loading = $state(true);
  #diff = $state.raw<TemplateDiff | undefined>();
  #diffError = $state.raw<ApiError | undefined>();
  #diffing = $state(false);
  #deprecating = $state<string | undefined>();
  #deprecationError = $state.raw<{ version: string; error: ApiError } | undefined>();

  readonly id: string;
  readonly #workspace: string;
  readonly #fetch: typeof fetch | undefined;
  #diffRequest: AbortController | undefined;

  constructor(id: string, options: { workspace: string; fetch?: typeof fetch }) {
    this.id = id;
    this.#workspace = options.workspace;
    this.#fetch = options.fetch;
  }

  get detail(): TemplateDetail | undefined {
    return this.#detail;
  }

  get error(): ApiError | undefined {
    return this.#error;
  }

  get loading(): boolean {
    return this.#loading;
  }

  /** The last diff asked for, until another is. */
  get diff(): TemplateDiff | undefined {
    return this.#diff;
  }

  get diffError(): ApiError | undefined {
    return this.#diffError;
  }

  get diffing(): boolean {
    return this.#diffing;
  }

  /** The version whose deprecation is being changed. */
  get deprecating(): string | undefined {
    return this.#deprecating;
  }

  /** Why the last change to a version's deprecation failed, and which version. */
  get deprecationError(): { version: string; error: ApiError } | undefined {
    return this.#deprecationError;
  }

  /**
   * Deprecates `version` with `message` (the use cases pinning it show it), or lifts its
   * deprecation (`null`). The versions shown follow; resolves with whether it was done.
   */
  async setDeprecation(version: string, message: string | null): Promise<boolean> {
    if (this.#deprecating !== undefined) return false;
    this.#deprecating = version;
    this.#deprecationError = undefined;
    try {
      const updated = await deprecateTemplate(this.#workspace, this.id, version, message, this.#options());
      const detail = this.#detail;
      if (detail)
        this.#detail = { ...detail, versions: detail.versions.map((v) => (v.version === version ? updated : v)) };
      return true;
    } catch (error) {
      this.#deprecationError = { version, error: toApiError(error) };
      return false;
    } finally {
      this.#deprecating = undefined;
    }
  }

  /**
   * Loads `version` (the current one when undefined). Meant for an `$effect` that reads the
   * version: the returned function aborts the load.
   */
  load(version: string | undefined): () => void {
    const controller = new AbortController();
    this.#loading = true;
    const run = async () => {
      try {
        this.#detail = await getTemplate(this.#workspace, this.id, version, this.#options(controller));
        this.#error = undefined;
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

  /** What changed from version `from` to `to`: as written, and resolved through their chains. */
  async compare(from: string, to: string): Promise<void> {
    this.#diffRequest?.abort();
    const controller = new AbortController();
    this.#diffRequest = controller;
    this.#diffing = true;
    this.#diffError = undefined;
    try {
      this.#diff = await diffTemplate(this.#workspace, this.id, from, to, this.#options(controller));
    } catch (error) {
      if (controller.signal.aborted || isAbortError(error)) return;
      this.#diff = undefined;
      this.#diffError = toApiError(error);
    } finally {
      if (this.#diffRequest === controller) {
        this.#diffRequest = undefined;
        this.#diffing = false;
      }
    }
  }

  #options(controller?: AbortController): RequestOptions {
    return { ...(controller ? { signal: controller.signal } : {}), ...(this.#fetch ? { fetch: this.#fetch } : {}) };
  }
}

/**
 * One template of the library: as written and resolved through its chain (with the origin of
 * every value), its versions, and what changed between two of them.
 */
import { type ApiError, isAbortError, type RequestOptions, toApiError } from '../api.ts';
import { diffTemplate, getTemplate, type TemplateDetail, type TemplateDiff } from './api.ts';

export class TemplateView {
  #detail = $state.raw<TemplateDetail | undefined>();
  #error = $state.raw<ApiError | undefined>();
  #loading = $state(true);
  #diff = $state.raw<TemplateDiff | undefined>();
  #diffError = $state.raw<ApiError | undefined>();
  #diffing = $state(false);

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

  #options(controller: AbortController): RequestOptions {
    return { signal: controller.signal, ...(this.#fetch ? { fetch: this.#fetch } : {}) };
  }
}

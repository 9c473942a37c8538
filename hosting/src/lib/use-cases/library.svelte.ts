/**
 * The template library as the workspace sees it: the templates matching the filters, and every
 * vertical and tag in the library (the API's facets, for the filters themselves).
 */
import { type ApiError, isAbortError, type RequestOptions, toApiError } from '../api.ts';
import { type LibraryFilter, listTemplates, type TemplateSummary } from './api.ts';

export class TemplateLibrary {
  #templates = $state.raw<readonly TemplateSummary[]>([]);
  #verticals = $state.raw<readonly string[]>([]);
  #tags = $state.raw<readonly string[]>([]);
  #error = $state.raw<ApiError | undefined>();
  #loading = $state(true);

  readonly #workspace: string;
  readonly #fetch: typeof fetch | undefined;

  constructor(options: { workspace: string; fetch?: typeof fetch }) {
    this.#workspace = options.workspace;
    this.#fetch = options.fetch;
  }

  /** The templates matching the filter, built-in first. */
  get templates(): readonly TemplateSummary[] {
    return this.#templates;
  }

  /** Every vertical in the library, whatever the filter. */
  get verticals(): readonly string[] {
    return this.#verticals;
  }

  /** Every tag in the library, whatever the filter. */
  get tags(): readonly string[] {
    return this.#tags;
  }

  get error(): ApiError | undefined {
    return this.#error;
  }

  /** True while the answer for the current filter is out. */
  get loading(): boolean {
    return this.#loading;
  }

  /** Shows what `filter` matches. Meant for an `$effect` that reads the filter: the returned function aborts the load. */
  load(filter: LibraryFilter): () => void {
    const controller = new AbortController();
    const options: RequestOptions = { signal: controller.signal, ...(this.#fetch ? { fetch: this.#fetch } : {}) };
    this.#loading = true;
    const run = async () => {
      try {
        const answer = await listTemplates(this.#workspace, filter, options);
        this.#templates = answer.templates;
        this.#verticals = answer.verticals;
        this.#tags = answer.tags;
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
}

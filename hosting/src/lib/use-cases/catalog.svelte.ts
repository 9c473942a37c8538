/**
 * The use cases of a workspace, for its list page: every page of them loaded, the archived ones
 * only when asked for. They change rarely; the page reloads them after its own changes.
 */
import { type ApiError, isAbortError, type RequestOptions, toApiError } from '../api.ts';
import { type ArchivedFilter, listUseCases, type UseCase } from './api.ts';

export class UseCaseCatalog {
  #useCases = $state.raw<readonly UseCase[]>([]);
  #error = $state.raw<ApiError | undefined>();
  #loading = $state(true);

  readonly #workspace: string;
  readonly #fetch: typeof fetch | undefined;

  constructor(options: { workspace: string; fetch?: typeof fetch }) {
    this.#workspace = options.workspace;
    this.#fetch = options.fetch;
  }

  /** By id. */
  get useCases(): readonly UseCase[] {
    return this.#useCases;
  }

  get error(): ApiError | undefined {
    return this.#error;
  }

  /** True until the first answer for the current filter (or its failure). */
  get loading(): boolean {
    return this.#loading;
  }

  /**
   * Loads every page of the use cases `archived` selects. Meant for an `$effect` that reads the
   * filter: the returned function aborts a load still running.
   */
  load(archived: ArchivedFilter): () => void {
    const controller = new AbortController();
    const options: RequestOptions = { signal: controller.signal, ...(this.#fetch ? { fetch: this.#fetch } : {}) };
    this.#loading = true;
    const run = async () => {
      try {
        const all: UseCase[] = [];
        let cursor: string | undefined;
        do {
          const page = await listUseCases(
            this.#workspace,
            { limit: 200, archived, ...(cursor ? { cursor } : {}) },
            options,
          );
          all.push(...page.useCases);
          cursor = page.nextCursor;
        } while (cursor);
        this.#useCases = all;
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

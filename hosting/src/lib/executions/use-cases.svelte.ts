/**
 * The use cases of a workspace, every page of them: for the executions filter and for naming a
 * run's use case and its steps' agents (archived ones included: their runs remain), and for the use
 * cases page (archived ones when asked for). They change rarely; a reload picks up new ones.
 */
import { type ApiError, isAbortError, type RequestOptions, toApiError } from '../api.ts';
import { type ArchivedFilter, listUseCases } from '../use-cases/api.ts';
import type { UseCase } from './api.ts';

export class UseCaseDirectory {
  #useCases = $state.raw<readonly UseCase[]>([]);
  #error = $state.raw<ApiError | undefined>();
  #loading = $state(true);

  readonly #workspace: string;
  readonly #fetch: typeof fetch | undefined;

  constructor(options: { workspace: string; fetch?: typeof fetch }) {
    this.#workspace = options.workspace;
    this.#fetch = options.fetch;
  }

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

  byId(id: string): UseCase | undefined {
    return this.#useCases.find((useCase) => useCase.id === id);
  }

  /**
   * Loads every page of the use cases `archived` selects. Meant for an `$effect` (that reads the
   * filter): the returned function aborts a load still running.
   */
  load(archived: ArchivedFilter = 'include'): () => void {
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

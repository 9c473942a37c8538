/**
 * The executions list: one filter, pages appended by "Load more", and the pages already shown
 * kept fresh by polling. The page reads the fields through getters and never writes them.
 */
import { type ApiError, isAbortError, type RequestOptions, toApiError } from '../api.ts';
import { pollWhileVisible } from '../polling.ts';
import { type ExecutionFilter, type ExecutionSummary, listExecutions } from './api.ts';

/** @default 3000 */
export const LIST_POLL_MS = 3_000;
/** @default 25 */
export const LIST_PAGE_SIZE = 25;
/** The API's largest page. */
const MAX_LIMIT = 200;

export interface ExecutionListOptions {
  /** The workspace, from the address (`workspaces.id`). */
  workspace: string;
  /** @default LIST_PAGE_SIZE */
  pageSize?: number;
  /** @default LIST_POLL_MS */
  intervalMs?: number;
  /** Injected in tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

export class ExecutionList {
  #executions = $state.raw<readonly ExecutionSummary[]>([]);
  #nextCursor = $state<string | undefined>();
  #error = $state.raw<ApiError | undefined>();
  #loading = $state(true);
  #loadingMore = $state(false);
  #updatedAt = $state<number | undefined>();

  readonly #workspace: string;
  readonly #pageSize: number;
  readonly #intervalMs: number;
  readonly #fetch: typeof fetch | undefined;
  #filter: ExecutionFilter = { useCase: '', status: '' };
  #refreshing: AbortController | undefined;
  #appending: AbortController | undefined;

  constructor(options: ExecutionListOptions) {
    this.#workspace = options.workspace;
    this.#pageSize = options.pageSize ?? LIST_PAGE_SIZE;
    this.#intervalMs = options.intervalMs ?? LIST_POLL_MS;
    this.#fetch = options.fetch;
  }

  /** Newest first: every page loaded so far. */
  get executions(): readonly ExecutionSummary[] {
    return this.#executions;
  }

  /** More executions match the filter than are shown. */
  get hasMore(): boolean {
    return this.#nextCursor !== undefined;
  }

  /** Why the last request failed; cleared by the next successful one. */
  get error(): ApiError | undefined {
    return this.#error;
  }

  /** True until the first page of the current filter arrives (or fails). */
  get loading(): boolean {
    return this.#loading;
  }

  get loadingMore(): boolean {
    return this.#loadingMore;
  }

  get updatedAt(): number | undefined {
    return this.#updatedAt;
  }

  get intervalMs(): number {
    return this.#intervalMs;
  }

  /**
   * Shows the executions matching `filter` and keeps them fresh while the document is visible,
   * until the returned function is called. Meant to be returned from an `$effect` that reads the
   * filter, so a new filter starts over.
   */
  watch(filter: ExecutionFilter): () => void {
    this.#abort();
    this.#filter = { ...filter };
    this.#executions = [];
    this.#nextCursor = undefined;
    this.#error = undefined;
    this.#loading = true;
    this.#loadingMore = false;
    const poller = pollWhileVisible(
      async () => {
        await this.refresh();
        return true;
      },
      this.#intervalMs,
      () => this.#abort(),
    );
    return () => poller.stop();
  }

  /**
   * Reloads what is shown: the first page, or as many pages as "Load more" has added, so a refresh
   * never shrinks the list under the operator's eyes. Skipped while "Load more" is running.
   */
  async refresh(): Promise<void> {
    if (this.#appending) return;
    this.#refreshing?.abort();
    const controller = new AbortController();
    this.#refreshing = controller;
    const filter = this.#filter;
    const want = Math.max(this.#pageSize, this.#executions.length);
    try {
      const rows: ExecutionSummary[] = [];
      let cursor: string | undefined;
      do {
        const limit = Math.min(MAX_LIMIT, want - rows.length);
        const page = await listExecutions(this.#workspace, filter, { cursor, limit }, this.#options(controller));
        rows.push(...page.executions);
        cursor = page.nextCursor;
      } while (cursor !== undefined && rows.length < want);
      if (controller.signal.aborted) return;
      this.#executions = rows;
      this.#nextCursor = cursor;
      this.#error = undefined;
      this.#updatedAt = Date.now();
    } catch (error) {
      if (controller.signal.aborted || isAbortError(error)) return;
      this.#error = toApiError(error);
    } finally {
      if (this.#refreshing === controller) {
        this.#refreshing = undefined;
        this.#loading = false;
      }
    }
  }

  /** Appends the next page. A refresh in flight is dropped: it would overwrite what this appends. */
  async loadMore(): Promise<void> {
    const cursor = this.#nextCursor;
    if (cursor === undefined || this.#appending) return;
    this.#refreshing?.abort();
    const controller = new AbortController();
    this.#appending = controller;
    this.#loadingMore = true;
    try {
      const page = await listExecutions(
        this.#workspace,
        this.#filter,
        { cursor, limit: this.#pageSize },
        this.#options(controller),
      );
      if (controller.signal.aborted) return;
      const shown = new Set(this.#executions.map((execution) => execution.id));
      this.#executions = [...this.#executions, ...page.executions.filter((e) => !shown.has(e.id))];
      this.#nextCursor = page.nextCursor;
      this.#error = undefined;
    } catch (error) {
      if (controller.signal.aborted || isAbortError(error)) return;
      this.#error = toApiError(error);
    } finally {
      if (this.#appending === controller) {
        this.#appending = undefined;
        this.#loadingMore = false;
      }
    }
  }

  #options(controller: AbortController): RequestOptions {
    return { signal: controller.signal, ...(this.#fetch ? { fetch: this.#fetch } : {}) };
  }

  #abort(): void {
    this.#refreshing?.abort();
    this.#refreshing = undefined;
    this.#appending?.abort();
    this.#appending = undefined;
    this.#loadingMore = false;
  }
}

/**
 * The difference between two checkpoints of one execution: what the shared context gained, lost or
 * changed, and which steps changed status. Fetched on demand; a newer comparison supersedes one
 * still in flight.
 */
import { type ApiError, isAbortError, toApiError } from '../api.ts';
import { type CheckpointDiff, getCheckpointDiff } from './api.ts';

export class CheckpointComparison {
  #diff = $state.raw<CheckpointDiff | undefined>();
  #error = $state.raw<ApiError | undefined>();
  #loading = $state(false);
  #compared = $state.raw<{ from: number; to: number } | undefined>();

  readonly #executionId: string;
  readonly #workspace: string;
  readonly #fetch: typeof fetch | undefined;
  #inFlight: AbortController | undefined;

  constructor(executionId: string, options: { workspace: string; fetch?: typeof fetch }) {
    this.#executionId = executionId;
    this.#workspace = options.workspace;
    this.#fetch = options.fetch;
  }

  get diff(): CheckpointDiff | undefined {
    return this.#diff;
  }

  get error(): ApiError | undefined {
    return this.#error;
  }

  get loading(): boolean {
    return this.#loading;
  }

  /** The pair the shown diff (or error) is about. */
  get compared(): { from: number; to: number } | undefined {
    return this.#compared;
  }

  async compare(from: number, to: number): Promise<void> {
    this.#inFlight?.abort();
    const controller = new AbortController();
    this.#inFlight = controller;
    this.#loading = true;
    try {
      const diff = await getCheckpointDiff(this.#workspace, this.#executionId, from, to, {
        signal: controller.signal,
        ...(this.#fetch ? { fetch: this.#fetch } : {}),
      });
      if (controller.signal.aborted) return;
      this.#diff = diff;
      this.#error = undefined;
    } catch (error) {
      if (controller.signal.aborted || isAbortError(error)) return;
      this.#diff = undefined;
      this.#error = toApiError(error);
    } finally {
      if (this.#inFlight === controller) {
        this.#inFlight = undefined;
        this.#loading = false;
        this.#compared = { from, to };
      }
    }
  }

  /** Drops a comparison in flight (the component showing it is going away). */
  cancel(): void {
    this.#inFlight?.abort();
    this.#inFlight = undefined;
    this.#loading = false;
  }
}

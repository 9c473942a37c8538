/**
 * A debug re-run of one step on its recorded inputs, and what came of it. Nothing about the
 * execution changes, so this lives apart from `ExecutionDetail` and its controls.
 */
import { type ApiError, toApiError } from '../api.ts';
import { type RerunResult, rerunStep } from './api.ts';

export class StepRerun {
  #result = $state.raw<RerunResult | undefined>();
  #error = $state.raw<ApiError | undefined>();
  #running = $state(false);

  readonly #executionId: string;
  readonly #stepId: string;
  readonly #workspace: string;
  readonly #fetch: typeof fetch | undefined;

  constructor(executionId: string, stepId: string, options: { workspace: string; fetch?: typeof fetch }) {
    this.#executionId = executionId;
    this.#stepId = stepId;
    this.#workspace = options.workspace;
    this.#fetch = options.fetch;
  }

  /** The last run's outcome: the agent's answer or its error (a failed agent is a result, not an `error`). */
  get result(): RerunResult | undefined {
    return this.#result;
  }

  /** Why the request itself failed. */
  get error(): ApiError | undefined {
    return this.#error;
  }

  get running(): boolean {
    return this.#running;
  }

  async run(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#error = undefined;
    try {
      this.#result = await rerunStep(
        this.#workspace,
        this.#executionId,
        this.#stepId,
        this.#fetch ? { fetch: this.#fetch } : {},
      );
    } catch (error) {
      this.#error = toApiError(error);
    } finally {
      this.#running = false;
    }
  }
}

/**
 * One execution, live: its state and timeline polled until it ends, and the operator's controls.
 * A control's answer replaces the state at once and wakes the polling, so a retry that reopens a
 * finished run is followed again. The page reads the fields through getters and never writes them.
 */
import { type ApiError, type RequestOptions, toApiError } from '../api.ts';
import { Polled } from '../polled.svelte.ts';
import {
  type ControlAction,
  controlExecution,
  type Decision,
  decideStep,
  type Execution,
  forkExecution,
  getExecution,
  getTimeline,
  isTerminal,
  rescheduleStep,
  retryStep,
  type TimelineEntry,
} from './api.ts';

/** @default 1500 */
export const DETAIL_POLL_MS = 1_500;

/** A checkpoint as the timeline reveals it: its number and the step whose settling wrote it. */
export interface CheckpointRef {
  n: number;
  stepId: string;
}

/** Which control an action came from, so its error shows next to it. */
export type ActionKey = ControlAction | `${'retry' | 'decide' | 'reschedule'}:${string}` | `fork:${number}`;

export interface ExecutionDetailOptions {
  /** The workspace, from the address (`workspaces.id`). */
  workspace: string;
  /** @default DETAIL_POLL_MS */
  intervalMs?: number;
  /** Injected in tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

export class ExecutionDetail extends Polled {
  #execution = $state.raw<Execution | undefined>();
  #timeline = $state.raw<readonly TimelineEntry[]>([]);
  #pending = $state<ActionKey | undefined>();
  #actionError = $state.raw<{ action: ActionKey; error: ApiError } | undefined>();

  #checkpoints = $derived(
    this.#timeline
      .flatMap((entry) => entry.checkpoints.map((n): CheckpointRef => ({ n, stepId: entry.stepId })))
      .sort((a, b) => a.n - b.n),
  );

  readonly id: string;
  readonly #workspace: string;

  constructor(id: string, options: ExecutionDetailOptions) {
    super(options.intervalMs ?? DETAIL_POLL_MS, options.fetch);
    this.id = id;
    this.#workspace = options.workspace;
  }

  get workspace(): string {
    return this.#workspace;
  }

  get execution(): Execution | undefined {
    return this.#execution;
  }

  /** One entry per step, in the order they were queued (steps never queued last). */
  get timeline(): readonly TimelineEntry[] {
    return this.#timeline;
  }

  /** Every checkpoint written so far, in order; 0 (the start) is not one of them. */
  get checkpoints(): readonly CheckpointRef[] {
    return this.#checkpoints;
  }

  /** Still changing: polled until it ends. */
  get live(): boolean {
    return this.#execution !== undefined && !isTerminal(this.#execution.status);
  }

  /** The control whose request is in flight; the others wait for it. */
  get pending(): ActionKey | undefined {
    return this.#pending;
  }

  /** The last control that failed and why, until the next control is used. */
  get actionError(): { action: ActionKey; error: ApiError } | undefined {
    return this.#actionError;
  }

  /** The execution and its timeline, fetched together. */
  protected async load(options: RequestOptions): Promise<(at: number) => void> {
    const [execution, timeline] = await Promise.all([
      getExecution(this.#workspace, this.id, options),
      getTimeline(this.#workspace, this.id, options),
    ]);
    return () => {
      this.#execution = execution;
      this.#timeline = timeline.timeline;
    };
  }

  /**
   * More to see while the run has not ended (or is not known yet). A run that does not exist, or
   * an id the API rejects, stays so: polling cannot change that.
   */
  protected override pollAgain(): boolean {
    const status = this.error?.status;
    if (status !== undefined) return status !== 404 && status !== 400;
    return this.#execution === undefined || !isTerminal(this.#execution.status);
  }

  control(action: ControlAction, reason?: string): Promise<Execution | undefined> {
    return this.#act(action, (options) => controlExecution(this.#workspace, this.id, action, reason, options));
  }

  retry(stepId: string): Promise<Execution | undefined> {
    return this.#act(`retry:${stepId}`, (options) => retryStep(this.#workspace, this.id, stepId, options));
  }

  decide(stepId: string, decision: Decision, comment?: string): Promise<Execution | undefined> {
    return this.#act(`decide:${stepId}`, (options) =>
      decideStep(this.#workspace, this.id, stepId, decision, comment, options),
    );
  }

  reschedule(stepId: string, at: number): Promise<Execution | undefined> {
    return this.#act(`reschedule:${stepId}`, (options) =>
      rescheduleStep(this.#workspace, this.id, stepId, at, options),
    );
  }

  /** Starts a new execution from `checkpoint`; resolves with it (the caller navigates there). */
  fork(checkpoint: number, input: unknown): Promise<Execution | undefined> {
    return this.#act(
      `fork:${checkpoint}`,
      (options) => forkExecution(this.#workspace, this.id, checkpoint, input, options),
      false,
    );
  }

  /** Shows a control's failure next to that control (the caller reads `actionError`). */
  async #act(
    action: ActionKey,
    call: (options: RequestOptions) => Promise<Execution>,
    updatesThis = true,
  ): Promise<Execution | undefined> {
    if (this.#pending) return undefined;
    this.#pending = action;
    this.#actionError = undefined;
    try {
      const result = await call(this.requestOptions);
      if (updatesThis) {
        this.#execution = result;
        this.wake();
      }
      return result;
    } catch (error) {
      this.#actionError = { action, error: toApiError(error) };
      return undefined;
    } finally {
      this.#pending = undefined;
    }
  }
}

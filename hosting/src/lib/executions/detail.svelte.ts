/**
 * One execution, live: its state and timeline polled until it ends, and the operator's controls.
 * A control's answer replaces the state at once and wakes the polling, so a retry that reopens a
 * finished run is followed again. The page reads the fields through getters and never writes them.
 */
import { type ApiError, isAbortError, type RequestOptions, toApiError } from '../api.ts';
import { type Poller, pollWhileVisible } from '../polling.ts';
import { WORKSPACE } from '../workspace.ts';
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
  /** @default WORKSPACE */
  workspace?: string;
  /** @default DETAIL_POLL_MS */
  intervalMs?: number;
  /** Injected in tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

export class ExecutionDetail {
  #execution = $state.raw<Execution | undefined>();
  #timeline = $state.raw<readonly TimelineEntry[]>([]);
  #error = $state.raw<ApiError | undefined>();
  #loading = $state(true);
  #updatedAt = $state<number | undefined>();
  #pending = $state<ActionKey | undefined>();
  #actionError = $state.raw<{ action: ActionKey; error: ApiError } | undefined>();

  #checkpoints = $derived(
    this.#timeline
      .flatMap((entry) => entry.checkpoints.map((n): CheckpointRef => ({ n, stepId: entry.stepId })))
      .sort((a, b) => a.n - b.n),
  );

  readonly id: string;
  readonly #workspace: string;
  readonly #intervalMs: number;
  readonly #fetch: typeof fetch | undefined;
  #inFlight: AbortController | undefined;
  #poller: Poller | undefined;

  constructor(id: string, options: ExecutionDetailOptions = {}) {
    this.id = id;
    this.#workspace = options.workspace ?? WORKSPACE;
    this.#intervalMs = options.intervalMs ?? DETAIL_POLL_MS;
    this.#fetch = options.fetch;
  }

  get execution(): Execution | undefined {
    return this.#execution;
  }

  /** One entry per step, in the order they were queued (steps never queued last). */
  get timeline(): readonly TimelineEntry[] {
    return this.#timeline;
  }

  /** Why the last load failed; cleared by the next successful one. */
  get error(): ApiError | undefined {
    return this.#error;
  }

  get loading(): boolean {
    return this.#loading;
  }

  get updatedAt(): number | undefined {
    return this.#updatedAt;
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

  get intervalMs(): number {
    return this.#intervalMs;
  }

  /**
   * Loads the execution and its timeline. Resolves true while there is more to see: false once it
   * has ended, or when it does not exist or its id is malformed (polling cannot change that).
   */
  async refresh(): Promise<boolean> {
    this.#inFlight?.abort();
    const controller = new AbortController();
    this.#inFlight = controller;
    const options: RequestOptions = { signal: controller.signal, ...(this.#fetch ? { fetch: this.#fetch } : {}) };
    try {
      const [execution, timeline] = await Promise.all([
        getExecution(this.#workspace, this.id, options),
        getTimeline(this.#workspace, this.id, options),
      ]);
      if (controller.signal.aborted) return true;
      this.#execution = execution;
      this.#timeline = timeline.timeline;
      this.#error = undefined;
      this.#updatedAt = Date.now();
      return !isTerminal(execution.status);
    } catch (error) {
      if (controller.signal.aborted || isAbortError(error)) return true;
      this.#error = toApiError(error);
      return this.#error.status !== 404 && this.#error.status !== 400;
    } finally {
      if (this.#inFlight === controller) {
        this.#inFlight = undefined;
        this.#loading = false;
      }
    }
  }

  /** Polls every `intervalMs` while visible, until the execution ends. Meant for an `$effect`. */
  start(): () => void {
    const poller = pollWhileVisible(
      () => this.refresh(),
      this.#intervalMs,
      () => this.#inFlight?.abort(),
    );
    this.#poller = poller;
    return () => {
      poller.stop();
      if (this.#poller === poller) this.#poller = undefined;
    };
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
      const result = await call(this.#fetch ? { fetch: this.#fetch } : {});
      if (updatesThis) {
        this.#execution = result;
        this.#poller?.wake();
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

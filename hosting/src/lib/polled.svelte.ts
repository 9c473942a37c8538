/**
 * What every polled view shares: the error of the last poll, when data last
 * arrived, whether the first poll is still out, and polling that pauses while
 * the tab is hidden. A subclass says how to load once and how to apply what
 * it loaded, and may stop polling when there is nothing more to see; a newer
 * poll supersedes (aborts) an older one still in flight.
 */
import { type ApiError, isAbortError, type RequestOptions, toApiError } from './api.ts';
import { type Poller, pollWhileVisible } from './polling.ts';

export abstract class Polled {
  #error = $state.raw<ApiError | undefined>();
  #updatedAt = $state<number | undefined>();
  #loading = $state(true);
  readonly #intervalMs: number;
  readonly #fetch: typeof fetch | undefined;
  #inFlight: AbortController | undefined;
  #poller: Poller | undefined;

  constructor(intervalMs: number, fetchFn: typeof fetch | undefined) {
    this.#intervalMs = intervalMs;
    this.#fetch = fetchFn;
  }

  /** Loads once and returns how to apply the result; applied only if no newer poll superseded it. */
  protected abstract load(options: RequestOptions): Promise<(at: number) => void>;

  /**
   * Whether to poll again after the latest poll settled. A subclass answers false when polling
   * cannot change what it shows (a run that ended); `wake()` starts polling again.
   * @default true
   */
  protected pollAgain(): boolean {
    return true;
  }

  /** The injected fetch, for a request a subclass makes outside a poll (no signal: nothing supersedes it). */
  protected get requestOptions(): RequestOptions {
    return this.#fetch ? { fetch: this.#fetch } : {};
  }

  /**
   * Polls now and goes on polling, even where `pollAgain()` had stopped it: for when the subclass
   * itself changed what the server holds. Nothing while not started or while the tab is hidden.
   */
  protected wake(): void {
    this.#poller?.wake();
  }

  /** Why the last poll failed; cleared by the next successful one. */
  get error(): ApiError | undefined {
    return this.#error;
  }

  /** When the last successful poll finished (epoch ms). */
  get updatedAt(): number | undefined {
    return this.#updatedAt;
  }

  /** True until the first poll settles, successfully or not. */
  get loading(): boolean {
    return this.#loading;
  }

  /** The data on screen is from an earlier poll: the latest one failed. */
  get stale(): boolean {
    return this.#error !== undefined && this.#updatedAt !== undefined;
  }

  get intervalMs(): number {
    return this.#intervalMs;
  }

  async refresh(): Promise<void> {
    this.#inFlight?.abort();
    const controller = new AbortController();
    this.#inFlight = controller;
    const options: RequestOptions = { signal: controller.signal, ...this.requestOptions };
    try {
      const apply = await this.load(options);
      if (controller.signal.aborted) return;
      const at = Date.now();
      apply(at);
      this.#error = undefined;
      this.#updatedAt = at;
    } catch (error) {
      if (controller.signal.aborted || isAbortError(error)) return;
      this.#error = toApiError(error);
    } finally {
      if (this.#inFlight === controller) {
        this.#inFlight = undefined;
        this.#loading = false;
      }
    }
  }

  /**
   * Polls now and then every `intervalMs` until the returned function is called, or until
   * `pollAgain()` answers false. Polling pauses while the document is hidden (a background tab
   * costs the server nothing) and resumes with an immediate poll when it is shown again. Meant to
   * be returned from an `$effect`.
   */
  start(): () => void {
    // A poll superseded by a pause answers from the state before it; the poller ignores that
    // answer, since the pause already ended that chain of polls.
    const poller = pollWhileVisible(
      async () => {
        await this.refresh();
        return this.pollAgain();
      },
      this.#intervalMs,
      () => this.#inFlight?.abort(),
    );
    this.#poller = poller;
    return () => {
      poller.stop();
      if (this.#poller === poller) this.#poller = undefined;
    };
  }
}

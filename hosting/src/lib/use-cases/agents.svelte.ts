/**
 * The agent kinds a step may name, each with its config's JSON Schema: what the editor shows
 * beside the step chosen in the graph. Loaded once; they change only with a release.
 */
import { type ApiError, isAbortError, toApiError } from '../api.ts';
import { type AgentKind, listAgents } from './api.ts';

export class AgentKinds {
  #agents = $state.raw<readonly AgentKind[]>([]);
  #error = $state.raw<ApiError | undefined>();

  readonly #fetch: typeof fetch | undefined;

  constructor(options: { fetch?: typeof fetch } = {}) {
    this.#fetch = options.fetch;
  }

  get agents(): readonly AgentKind[] {
    return this.#agents;
  }

  get error(): ApiError | undefined {
    return this.#error;
  }

  byKind(kind: string): AgentKind | undefined {
    return this.#agents.find((agent) => agent.kind === kind);
  }

  /** Meant for an `$effect`: the returned function aborts the load. */
  load(): () => void {
    const controller = new AbortController();
    void (async () => {
      try {
        this.#agents = await listAgents({ signal: controller.signal, ...(this.#fetch ? { fetch: this.#fetch } : {}) });
        this.#error = undefined;
      } catch (error) {
        if (controller.signal.aborted || isAbortError(error)) return;
        this.#error = toApiError(error);
      }
    })();
    return () => controller.abort();
  }
}

/**
 * Starting a run of a use case: the form generated from its `workflow.inputSchema`, what was
 * typed read back as the input, and the start itself. The client's checks show once a field was
 * touched (or a start was tried); a refused start's 400 shows at the field it names, until that
 * field is changed.
 */
import { type ApiError, toApiError } from '../api.ts';
import { type StartedExecution, startExecution, type UseCase } from './api.ts';
import {
  emptyInputDraft,
  type InputDraft,
  type InputField,
  type InputForm,
  inputDraftFrom,
  inputForm,
  readInputDraft,
} from './input-form.ts';
import { inputFieldOf, type Problem, placeProblems } from './pointers.ts';

export class RunStarter {
  readonly form: InputForm;
  #draft = $state<InputDraft>({});
  #touched = $state<Record<string, boolean>>({});
  #tried = $state(false);
  #starting = $state(false);
  #error = $state.raw<ApiError | undefined>();
  /** What the fields held when the start was refused: a field's problem holds until it changes. */
  #sent = $state.raw<InputDraft>({});

  #read = $derived.by(() => readInputDraft(this.form, this.#draft));
  #placed = $derived(
    placeProblems(this.#error?.status === 400 ? this.#error.errors : [], (pointer) => {
      const field = inputFieldOf(pointer);
      return field !== undefined && this.form.fields.some((f) => f.name === field) ? field : undefined;
    }),
  );

  readonly useCaseId: string;
  readonly #workspace: string;
  readonly #fetch: typeof fetch | undefined;

  constructor(useCase: UseCase, options: { workspace: string; fetch?: typeof fetch }) {
    this.useCaseId = useCase.id;
    this.#workspace = options.workspace;
    this.#fetch = options.fetch;
    this.form = inputForm(useCase.workflow.inputSchema);
    this.#draft = emptyInputDraft(this.form);
  }

  get fields(): readonly InputField[] {
    return this.form.fields;
  }

  /** What each field holds (bind to it); `RAW_FIELD` for the whole input when the form is raw. */
  get draft(): InputDraft {
    return this.#draft;
  }

  get starting(): boolean {
    return this.#starting;
  }

  /** Why the last start failed, when it is not one field's problem. */
  get error(): ApiError | undefined {
    return this.#error;
  }

  /** The input as the form reads now. */
  get input(): unknown {
    return this.#read.input;
  }

  /** Marks a field as visited: its client-side problem shows from now on. */
  touch(name: string): void {
    this.#touched[name] = true;
  }

  /** A field's problem: the server's (until the field changes), else the client's once shown. */
  problem(name: string): { messages: string[]; source: 'client' | 'server' } | undefined {
    const server = this.#placed.placed.get(name);
    if (server && server.length > 0 && this.#draft[name] === this.#sent[name])
      return { messages: server.map((p) => p.message), source: 'server' };
    const client = this.#read.errors[name];
    if (client !== undefined && (this.#tried || this.#touched[name])) return { messages: [client], source: 'client' };
    return undefined;
  }

  /** The problems of a refused start no field shows (the input as a whole, or the use case). */
  get otherProblems(): readonly Problem[] {
    return this.#placed.others;
  }

  /** Fills the form with an input: a template's sample. */
  fill(input: unknown): void {
    this.#draft = inputDraftFrom(this.form, input);
    this.#error = undefined;
  }

  /** Starts the run; resolves with the execution, or undefined when the form or the server refused. */
  async start(): Promise<StartedExecution | undefined> {
    if (this.#starting) return undefined;
    this.#tried = true;
    if (Object.keys(this.#read.errors).length > 0) return undefined;
    this.#starting = true;
    this.#error = undefined;
    const sent = { ...this.#draft };
    try {
      return await startExecution(this.#workspace, this.useCaseId, this.#read.input, this.#fetch ? { fetch: this.#fetch } : {});
    } catch (error) {
      this.#sent = sent;
      this.#error = toApiError(error);
      return undefined;
    } finally {
      this.#starting = false;
    }
  }
}


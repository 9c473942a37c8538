/**
 * Making a use case from a template: the form generated from its resolved variables, the use
 * case's id and name, and validation as the author types: the client's checks at once, then (a
 * moment after the typing stops) the server's own, an instantiate dry run whose problems show
 * beside the field their pointer names. Submitting creates the use case.
 */
import { untrack } from 'svelte';
import { type ApiError, isAbortError, type ProblemField, type RequestOptions, toApiError } from '../api.ts';
import {
  getTemplate,
  getUseCase,
  type InstantiateRequest,
  instantiateTemplate,
  type TemplateDetail,
  type UseCase,
} from './api.ts';
import { type Problem, placeProblems, type WizardKey, wizardField, wizardKey } from './pointers.ts';
import {
  initialDraft,
  readVariables,
  useCaseIdFrom,
  useCaseIdProblem,
  type VariableDraft,
  type VariableField,
  variableFields,
} from './variables-form.ts';

/** @default 400 */
export const DRY_RUN_DELAY_MS = 400;

/** Where a field's message comes from: the client's own check, or the server's dry run. */
export type ProblemSource = 'client' | 'server';

export interface FieldProblem {
  messages: string[];
  source: ProblemSource;
}

/** The server's verdict on one request (by its JSON). */
interface Checked {
  key: string;
  problems: readonly ProblemField[];
  /** A use case with the requested id exists: the dry run's 409. */
  exists: boolean;
}

export const ID_KEY: WizardKey = wizardKey({ kind: 'id' });
export const NAME_KEY: WizardKey = wizardKey({ kind: 'name' });

export class TemplateWizard {
  #detail = $state.raw<TemplateDetail | undefined>();
  #loadError = $state.raw<ApiError | undefined>();
  #loading = $state(true);
  #draft = $state<VariableDraft>({});
  #id = $state('');
  #name = $state('');
  /** The author typed an id: the name no longer suggests one. */
  #idTyped = $state(false);
  /** Number fields whose text the browser cannot read as a number (`1e`): their draft keeps the last number. */
  #badInput = $state<Record<string, boolean>>({});
  #checked = $state.raw<Checked | undefined>();
  #checking = $state(false);
  #checkError = $state.raw<ApiError | undefined>();
  #submitting = $state(false);
  #submitError = $state.raw<ApiError | undefined>();

  #fields = $derived(this.#detail ? variableFields(this.#detail.resolved.variables) : []);
  #read = $derived(readVariables(this.#fields, this.#draft));
  #request = $derived.by((): InstantiateRequest => {
    const name = this.#name.trim();
    return {
      id: this.#id,
      ...(name ? { name } : {}),
      ...(this.#detail ? { version: this.#detail.summary.version } : {}),
      values: this.#read.values,
    };
  });
  #requestKey = $derived(JSON.stringify(this.#request));
  /** The server's problems, only while they are about what the form holds now. */
  #placed = $derived.by(() => {
    const checked = this.#checked;
    const fresh = checked !== undefined && checked.key === this.#requestKey;
    return placeProblems(fresh ? checked.problems : [], (pointer) => {
      const field = wizardField(pointer);
      return field ? wizardKey(field) : undefined;
    });
  });

  readonly template: string;
  readonly #workspace: string;
  readonly #fetch: typeof fetch | undefined;
  readonly #delayMs: number;

  constructor(template: string, options: { workspace: string; fetch?: typeof fetch; delayMs?: number }) {
    this.template = template;
    this.#workspace = options.workspace;
    this.#fetch = options.fetch;
    this.#delayMs = options.delayMs ?? DRY_RUN_DELAY_MS;
  }

  get detail(): TemplateDetail | undefined {
    return this.#detail;
  }

  get loadError(): ApiError | undefined {
    return this.#loadError;
  }

  get loading(): boolean {
    return this.#loading;
  }

  /** One per variable: the ones to supply first. */
  get fields(): readonly VariableField[] {
    return this.#fields;
  }

  /** What each variable's field holds (bind to it). */
  get draft(): VariableDraft {
    return this.#draft;
  }

  get id(): string {
    return this.#id;
  }

  set id(value: string) {
    this.#id = value;
    this.#idTyped = true;
  }

  get name(): string {
    return this.#name;
  }

  /** Until the author types an id, the name suggests it. */
  set name(value: string) {
    this.#name = value;
    if (!this.#idTyped) this.#id = useCaseIdFrom(value);
  }

  /**
   * Says whether a number field holds text the browser cannot read as a number (its `value` is
   * then empty, which must not read as "not given").
   */
  setBadInput(name: string, bad: boolean): void {
    this.#badInput[name] = bad;
  }

  /** A dry run is out (or waiting for the typing to stop). */
  get checking(): boolean {
    return this.#checking;
  }

  /** The server answered for exactly what the form holds now. */
  get checked(): boolean {
    return this.#checked?.key === this.#requestKey;
  }

  /** Why the last dry run could not answer (not a 400: those are the fields' problems). */
  get checkError(): ApiError | undefined {
    return this.#checkError;
  }

  get submitting(): boolean {
    return this.#submitting;
  }

  /** Why creating failed, when it is not a field's problem (a 409: the id is taken). */
  get submitError(): ApiError | undefined {
    return this.#submitError;
  }

  /**
   * A field's problems: the server's for what the form holds now, else the client's own check
   * (which is instant). `key` is a variable's name, `ID_KEY` or `NAME_KEY`.
   */
  problem(key: WizardKey): FieldProblem | undefined {
    if (this.#badInput[key]) return { messages: ['must be a number'], source: 'client' };
    const server = this.#placed.placed.get(key);
    if (key === ID_KEY && this.checked && this.#checked?.exists)
      return { messages: ['a use case with this id already exists'], source: 'server' };
    if (server && server.length > 0) return { messages: server.map((p) => p.message), source: 'server' };
    const client =
      key === ID_KEY
        ? useCaseIdProblem(this.#id)
        : key === NAME_KEY
          ? undefined
          : this.#read.errors[key];
    return client === undefined ? undefined : { messages: [client], source: 'client' };
  }

  /** The server's problems no field holds (in what the template makes: `/spec/...`). */
  get otherProblems(): readonly Problem[] {
    return this.#placed.others;
  }

  /**
   * Nothing known is wrong: not by the client's checks, nor by the server's for what the form
   * holds now (while it has not answered, submitting is worth trying: the server checks again).
   */
  get valid(): boolean {
    if (this.#detail === undefined || useCaseIdProblem(this.#id) !== undefined) return false;
    if (Object.values(this.#badInput).some(Boolean)) return false;
    if (Object.keys(this.#read.errors).length > 0) return false;
    const checked = this.#checked;
    if (checked === undefined || checked.key !== this.#requestKey) return true;
    return checked.problems.length === 0 && !checked.exists;
  }

  /**
   * Loads the template (`version`, or its current one) and opens the form with its defaults. Meant
   * for an `$effect`: the returned function aborts the load.
   */
  load(version: string | undefined): () => void {
    const controller = new AbortController();
    this.#loading = true;
    const run = async () => {
      try {
        const detail = await getTemplate(this.#workspace, this.template, version, this.#options(controller));
        if (controller.signal.aborted) return;
        this.#detail = detail;
        this.#draft = initialDraft(variableFields(detail.resolved.variables));
        this.#badInput = {};
        this.#idTyped = false;
        this.name = detail.summary.name;
        this.#loadError = undefined;
      } catch (error) {
        if (controller.signal.aborted || isAbortError(error)) return;
        this.#loadError = toApiError(error);
      } finally {
        if (!controller.signal.aborted) this.#loading = false;
      }
    };
    void run();
    return () => controller.abort();
  }

  /**
   * Asks the server about what the form holds, a moment after it last changed. Meant for an
   * `$effect`: it reads the form, so every change starts the wait over, and the returned function
   * cancels a wait or a dry run still out.
   */
  schedule(): () => void {
    const key = this.#requestKey;
    const request = this.#request;
    const ready = this.#detail !== undefined;
    if (!ready || untrack(() => this.#checked?.key === key)) {
      untrack(() => (this.#checking = false));
      return () => {};
    }
    const controller = new AbortController();
    untrack(() => (this.#checking = true));
    const timer = setTimeout(() => void this.#check(key, request, controller), this.#delayMs);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }

  async #check(key: string, request: InstantiateRequest, controller: AbortController): Promise<void> {
    const options = this.#options(controller);
    // The dry run refuses what the create would: a taken id is its 409.
    const dryRun = instantiateTemplate(this.#workspace, this.template, request, true, options).then(
      (): { problems: readonly ProblemField[]; taken: boolean } => ({ problems: [], taken: false }),
      (error: unknown) => {
        const failure = toApiError(error);
        if (failure.status === 400 && failure.errors.length > 0) return { problems: failure.errors, taken: false };
        if (failure.status === 409) return { problems: [], taken: true };
        throw error;
      },
    );
    try {
      const { problems, taken } = await dryRun;
      if (controller.signal.aborted) return;
      this.#checked = { key, problems, exists: taken };
      this.#checkError = undefined;
    } catch (error) {
      if (controller.signal.aborted || isAbortError(error)) return;
      this.#checkError = toApiError(error);
    } finally {
      if (!controller.signal.aborted) this.#checking = false;
    }
  }

  /** Creates the use case; resolves with it, or undefined when refused (the problems show where they belong). */
  async submit(): Promise<UseCase | undefined> {
    if (this.#submitting || !this.valid) return undefined;
    this.#submitting = true;
    this.#submitError = undefined;
    const key = this.#requestKey;
    try {
      return await instantiateTemplate(this.#workspace, this.template, this.#request, false, this.#options());
    } catch (error) {
      const failure = toApiError(error);
      if (failure.status === 400 && failure.errors.length > 0) this.#checked = { key, problems: failure.errors, exists: false };
      else this.#submitError = failure;
      return undefined;
    } finally {
      this.#submitting = false;
    }
  }

  #options(controller?: AbortController): RequestOptions {
    return { ...(controller ? { signal: controller.signal } : {}), ...(this.#fetch ? { fetch: this.#fetch } : {}) };
  }
}

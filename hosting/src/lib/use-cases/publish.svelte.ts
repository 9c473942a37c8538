/**
 * Publishing a template from its source: the text an author pastes, picks from a file or starts
 * from a library template; read in the browser (template-source.ts), then, a moment after the
 * typing stops, checked whole by the server (a publish dry run) whose answer is the resolved
 * template, or every problem at its JSON pointer and, when the source says, its line. Publishing
 * sends what was checked.
 */
import { untrack } from 'svelte';
import { type ApiError, isAbortError, type RequestOptions, toApiError } from '../api.ts';
import { getTemplate, listLibrary, publishTemplate, type TemplateDetail, type TemplateSummary } from './api.ts';
import { startFromSkeleton } from './start-from.ts';
import {
  clientProblems,
  loadYaml,
  locateProblems,
  MAX_SOURCE_BYTES,
  type ParsedSource,
  parseTemplateSource,
  type SourceProblem,
  withLines,
  type Yaml,
} from './template-source.ts';

/** @default 400 */
export const PUBLISH_CHECK_DELAY_MS = 400;

/** What the source came to, for exactly the text it was checked on. */
export type PublishCheck =
  /** The server would publish it: the resolved template. */
  | { kind: 'valid'; text: string; detail: TemplateDetail }
  /** Problems: the browser's (the text does not read) or the server's (400), each at its pointer. */
  | { kind: 'invalid'; text: string; problems: SourceProblem[] }
  /** Refused whole (409): a version already published, or a built-in template's id. */
  | { kind: 'conflict'; text: string; error: ApiError }
  /** The server could not answer (not the template's fault). */
  | { kind: 'failed'; text: string; error: ApiError };

/** The source read, and what the browser already sees is wrong with it. */
function read(text: string, yaml: Yaml): { parsed: ParsedSource; problems: SourceProblem[] } {
  const parsed = parseTemplateSource(text, yaml);
  if (!parsed.ok) return { parsed, problems: parsed.problems };
  return { parsed, problems: withLines(clientProblems(parsed.value), parsed.lineOf) };
}

export class TemplatePublisher {
  #yaml = $state.raw<Yaml | undefined>();
  #yamlError = $state.raw<ApiError | undefined>();
  #text = $state('');
  #check = $state.raw<PublishCheck | undefined>();
  #checking = $state(false);
  #publishing = $state(false);
  #library = $state.raw<readonly TemplateSummary[]>([]);
  #libraryError = $state.raw<ApiError | undefined>();
  #starting = $state(false);
  #startError = $state.raw<ApiError | undefined>();
  /** The text a "Start from …" replaced, for Undo. */
  #replaced = $state<string | undefined>();
  #fileError = $state<string | undefined>();

  readonly #workspace: string;
  readonly #fetch: typeof fetch | undefined;
  readonly #delayMs: number;
  #libraryLoad: Promise<void> | undefined;

  constructor(options: { workspace: string; fetch?: typeof fetch; delayMs?: number }) {
    this.#workspace = options.workspace;
    this.#fetch = options.fetch;
    this.#delayMs = options.delayMs ?? PUBLISH_CHECK_DELAY_MS;
  }

  /** The source as typed (bind to it). */
  get text(): string {
    return this.#text;
  }

  set text(value: string) {
    this.#text = value;
    this.#fileError = undefined;
  }

  /** The YAML reader has loaded: the source can be read. */
  get ready(): boolean {
    return this.#yaml !== undefined;
  }

  /** Why the YAML reader could not load. */
  get yamlError(): ApiError | undefined {
    return this.#yamlError;
  }

  /** The last check, whatever text it was on (see `fresh`). */
  get check(): PublishCheck | undefined {
    return this.#check;
  }

  /** The last check is about the text as it is now. */
  get fresh(): boolean {
    return this.#check !== undefined && this.#check.text === this.#text;
  }

  /** A check is out, or waiting for the typing to stop. */
  get checking(): boolean {
    return this.#checking;
  }

  get publishing(): boolean {
    return this.#publishing;
  }

  /** Publishing is offered once the server has said it would publish exactly this text. */
  get canPublish(): boolean {
    return !this.#publishing && this.fresh && this.#check?.kind === 'valid';
  }

  /** Every template of the library (abstract bases too): what "Start from …" offers. */
  get library(): readonly TemplateSummary[] {
    return this.#library;
  }

  get libraryError(): ApiError | undefined {
    return this.#libraryError;
  }

  get starting(): boolean {
    return this.#starting;
  }

  get startError(): ApiError | undefined {
    return this.#startError;
  }

  /** A "Start from …" replaced what was written: Undo brings it back. */
  get canUndo(): boolean {
    return this.#replaced !== undefined;
  }

  /** Why the file chosen was not read. */
  get fileError(): string | undefined {
    return this.#fileError;
  }

  /** Loads the YAML reader and the library. Meant for an `$effect`: the returned function abandons the loads. */
  init(): () => void {
    const controller = new AbortController();
    void loadYaml().then(
      (yaml) => {
        if (!controller.signal.aborted) this.#yaml = yaml;
      },
      (error: unknown) => {
        if (!controller.signal.aborted) this.#yamlError = toApiError(error);
      },
    );
    this.#libraryLoad = this.#loadLibrary(controller);
    return () => controller.abort();
  }

  async #loadLibrary(controller: AbortController): Promise<void> {
    try {
      const answer = await listLibrary(this.#workspace, this.#options(controller));
      if (controller.signal.aborted) return;
      this.#library = answer.templates;
      this.#libraryError = undefined;
    } catch (error) {
      if (controller.signal.aborted || isAbortError(error)) return;
      this.#libraryError = toApiError(error);
    }
  }

  /**
   * Checks the text a moment after it last changed: read in the browser, then a dry run. Meant for
   * an `$effect`: it reads the text, so every change starts the wait over, and the returned
   * function cancels a wait or a dry run still out.
   */
  schedule(): () => void {
    const text = this.#text;
    const yaml = this.#yaml;
    if (yaml === undefined || text.trim() === '' || untrack(() => this.#check?.text === text)) {
      untrack(() => (this.#checking = false));
      return () => {};
    }
    const controller = new AbortController();
    untrack(() => (this.#checking = true));
    const timer = setTimeout(() => void this.#run(text, yaml, controller, true), this.#delayMs);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }

  /** Publishes the text checked; resolves with the template published, or undefined when refused (the check says why). */
  async publish(): Promise<TemplateDetail | undefined> {
    const yaml = this.#yaml;
    if (!this.canPublish || yaml === undefined) return undefined;
    this.#publishing = true;
    try {
      return await this.#run(this.#text, yaml, new AbortController(), false);
    } finally {
      this.#publishing = false;
    }
  }

  async #run(text: string, yaml: Yaml, controller: AbortController, dryRun: boolean): Promise<TemplateDetail | undefined> {
    const { parsed, problems } = read(text, yaml);
    // What does not read, or is not a template at all, is not worth a request; a publish goes only
    // with nothing known wrong. Otherwise the server's problems come beside the browser's.
    const refused = problems.some((p) => p.pointer === '' || p.pointer === '/kind') || (!dryRun && problems.length > 0);
    if (!parsed.ok || refused) {
      this.#settle(controller, { kind: 'invalid', text, problems });
      return undefined;
    }
    try {
      const detail = await publishTemplate(this.#workspace, parsed.value, dryRun, this.#options(controller));
      this.#settle(controller, problems.length > 0 ? { kind: 'invalid', text, problems } : { kind: 'valid', text, detail });
      return dryRun ? undefined : detail;
    } catch (error) {
      if (controller.signal.aborted || isAbortError(error)) return undefined;
      const failure = toApiError(error);
      if (failure.status === 400 && failure.errors.length > 0)
        this.#settle(controller, {
          kind: 'invalid',
          text,
          problems: [...problems, ...locateProblems(failure.errors, parsed.lineOf)],
        });
      else if (failure.status === 409) this.#settle(controller, { kind: 'conflict', text, error: failure });
      else this.#settle(controller, { kind: 'failed', text, error: failure });
      return undefined;
    }
  }

  #settle(controller: AbortController, check: PublishCheck): void {
    if (controller.signal.aborted) return;
    this.#check = check;
    this.#checking = false;
  }

  /**
   * Replaces the text with a new template extending `id` at its current version, metadata to fill
   * in and its variables' defaults as comments. What was written can be brought back (`undo`).
   */
  async startFrom(id: string): Promise<void> {
    if (this.#starting) return;
    this.#starting = true;
    this.#startError = undefined;
    try {
      const [detail] = await Promise.all([getTemplate(this.#workspace, id, undefined, this.#options()), this.#libraryLoad]);
      const taken = this.#library.map((template) => template.id);
      const skeleton = startFromSkeleton(
        { ...detail.summary, version: detail.template.metadata.version },
        detail.resolved.variables,
        taken,
      );
      if (this.#text.trim() !== '' && this.#text !== skeleton) this.#replaced = this.#text;
      this.text = skeleton;
    } catch (error) {
      this.#startError = toApiError(error);
    } finally {
      this.#starting = false;
    }
  }

  /** Brings back what a "Start from …" replaced. */
  undo(): void {
    if (this.#replaced === undefined) return;
    this.text = this.#replaced;
    this.#replaced = undefined;
  }

  /**
   * Reads a file chosen as the source: at most MAX_SOURCE_BYTES (refused before reading), UTF-8
   * (a byte that is not is refused, not replaced), a byte-order mark dropped.
   */
  async readFile(file: File): Promise<void> {
    this.#fileError = undefined;
    if (file.size > MAX_SOURCE_BYTES) {
      this.#fileError = `${file.name} has ${file.size} bytes; a template's source may have at most ${MAX_SOURCE_BYTES}`;
      return;
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(await file.arrayBuffer());
    } catch {
      this.#fileError = `${file.name} is not UTF-8 text`;
      return;
    }
    this.#replaced = undefined;
    this.#text = text;
  }

  #options(controller?: AbortController): RequestOptions {
    return { ...(controller ? { signal: controller.signal } : {}), ...(this.#fetch ? { fetch: this.#fetch } : {}) };
  }
}

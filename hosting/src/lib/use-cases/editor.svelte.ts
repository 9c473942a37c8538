/**
 * Editing a use case as JSON: the text, the graph of the workflow it holds (the last one that
 * parsed, so a typo does not blank the preview), "Validate" (a dry-run PUT) and "Save" (a new
 * version, made on the version loaded: a newer one saved meanwhile is a 409). A refused edit's
 * problems are filed under the steps they point into, for the graph to mark.
 */
import { type ApiError, toApiError } from '../api.ts';
import { type UseCase, updateUseCase } from './api.ts';
import { editBody, editorText, parseEdited } from './edit-body.ts';
import { type Problem, placeProblems, stepLocation } from './pointers.ts';

/** What the last Validate or Save came to. */
export type EditOutcome =
  | { kind: 'valid'; text: string; preview: UseCase }
  | { kind: 'saved'; useCase: UseCase }
  | { kind: 'refused'; text: string; error: ApiError };

export class UseCaseEditor {
  #base = $state.raw<UseCase>() as UseCase;
  #text = $state('');
  #note = $state('');
  #busy = $state<'validate' | 'save' | undefined>();
  #outcome = $state.raw<EditOutcome | undefined>();

  #parsed = $derived(parseEdited(this.#text));
  #lastWorkflow: unknown;
  #workflow = $derived.by(() => {
    const parsed = this.#parsed;
    if (parsed.ok) this.#lastWorkflow = parsed.value.workflow;
    return this.#lastWorkflow;
  });
  #problems = $derived.by(() => {
    const outcome = this.#outcome;
    const errors = outcome?.kind === 'refused' && outcome.error.status === 400 ? outcome.error.errors : [];
    return placeProblems(errors, (pointer) => stepLocation(pointer)?.index);
  });

  readonly #workspace: string;
  readonly #fetch: typeof fetch | undefined;

  constructor(useCase: UseCase, options: { workspace: string; fetch?: typeof fetch }) {
    this.#base = useCase;
    this.#text = editorText(useCase);
    this.#workspace = options.workspace;
    this.#fetch = options.fetch;
  }

  /** The version being edited (after a save, the version saved). */
  get base(): UseCase {
    return this.#base;
  }

  get text(): string {
    return this.#text;
  }

  set text(value: string) {
    this.#text = value;
  }

  /** What changed, saved beside the new version. */
  get note(): string {
    return this.#note;
  }

  set note(value: string) {
    this.#note = value;
  }

  /** Why the text is not a use case to send, or undefined. */
  get parseError(): string | undefined {
    return this.#parsed.ok ? undefined : this.#parsed.message;
  }

  /** The workflow to draw: the text's, or the last one that parsed. */
  get workflow(): unknown {
    return this.#workflow;
  }

  /** The text differs from the version it was loaded from. */
  get dirty(): boolean {
    return this.#text !== editorText(this.#base);
  }

  get busy(): 'validate' | 'save' | undefined {
    return this.#busy;
  }

  get outcome(): EditOutcome | undefined {
    return this.#outcome;
  }

  /** The last check's problems, by the index of the step they point into. */
  get stepProblems(): ReadonlyMap<number, Problem[]> {
    return this.#problems.placed;
  }

  /** The last check's problems outside any step (`/name`, `/workflow/inputSchema/...`). */
  get otherProblems(): readonly Problem[] {
    return this.#problems.others;
  }

  /** The text changed since the problems shown were found. */
  get stale(): boolean {
    const outcome = this.#outcome;
    return outcome !== undefined && outcome.kind !== 'saved' && outcome.text !== this.#text;
  }

  /** A newer version was saved since this one was loaded: the save was refused (409). */
  get conflict(): boolean {
    const outcome = this.#outcome;
    return outcome?.kind === 'refused' && outcome.error.status === 409;
  }

  /** Back to the version loaded. */
  reset(): void {
    this.#text = editorText(this.#base);
    this.#outcome = undefined;
  }

  /** Checks the text as a save would, saving nothing. */
  validate(): Promise<UseCase | undefined> {
    return this.#send('validate');
  }

  /** Saves the text as the next version; resolves with it, or undefined when refused. */
  save(): Promise<UseCase | undefined> {
    return this.#send('save');
  }

  async #send(action: 'validate' | 'save'): Promise<UseCase | undefined> {
    const parsed = this.#parsed;
    if (this.#busy || !parsed.ok) return undefined;
    this.#busy = action;
    const text = this.#text;
    try {
      const answer = await updateUseCase(
        this.#workspace,
        this.#base.id,
        editBody(parsed.value, this.#note, this.#base.version),
        action === 'validate',
        this.#fetch ? { fetch: this.#fetch } : {},
      );
      if (action === 'save') {
        this.#base = answer;
        this.#text = editorText(answer);
        this.#note = '';
        this.#outcome = { kind: 'saved', useCase: answer };
      } else this.#outcome = { kind: 'valid', text, preview: answer };
      return answer;
    } catch (error) {
      this.#outcome = { kind: 'refused', text, error: toApiError(error) };
      return undefined;
    } finally {
      this.#busy = undefined;
    }
  }
}

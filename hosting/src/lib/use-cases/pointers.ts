/**
 * Where a problem the API reports belongs on a page. The use cases API names a problem by JSON
 * pointer (`/values/threshold`, `/workflow/steps/2/config/expression`), or, when the request body
 * itself did not parse, by a dotted path (`body.values`, `body.input.amount`). These read both and
 * say which field, step or input a problem is about. Pure functions of their input.
 */
import type { ProblemField } from '../api.ts';

/** The tokens of a JSON pointer (RFC 6901): `/a~1b/0` → `['a/b', '0']`; `''` (the whole) → `[]`. */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  const tokens = pointer.startsWith('/') ? pointer.slice(1).split('/') : pointer.split('/');
  return tokens.map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** A JSON pointer from its tokens: `['a/b', 0]` → `/a~1b/0`. */
export function formatPointer(tokens: readonly (string | number)[]): string {
  return tokens.map((token) => `/${String(token).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

/**
 * A problem's path as a JSON pointer into the request body: a pointer stays as it is, a dotted
 * body path becomes one (`body.values.limit` → `/values/limit`, `body` → `''`). Undefined for a
 * path about the query or the address, which no field of a form holds.
 */
export function problemPointer(path: string): string | undefined {
  if (path === '' || path.startsWith('/')) return path;
  if (path === 'body') return '';
  if (path.startsWith('body.')) return formatPointer(path.slice('body.'.length).split('.'));
  return undefined;
}

/** The value a pointer names inside `root`, or undefined when there is none. */
export function valueAt(root: unknown, pointer: string): unknown {
  let at: unknown = root;
  for (const token of parsePointer(pointer)) {
    if (Array.isArray(at)) at = /^(0|[1-9]\d*)$/.test(token) ? at[Number(token)] : undefined;
    else if (typeof at === 'object' && at !== null && Object.hasOwn(at, token))
      at = (at as Record<string, unknown>)[token];
    else return undefined;
  }
  return at;
}

/** One problem, its path read as a pointer (or kept as given when it is not about the body). */
export interface Problem {
  pointer: string;
  message: string;
}

/**
 * Problems sorted by where they show: those `keyOf` places (by its key, in the order reported) and
 * the others, for a summary.
 */
export function placeProblems<K>(
  errors: readonly ProblemField[],
  keyOf: (pointer: string) => K | undefined,
): { placed: Map<K, Problem[]>; others: Problem[] } {
  const placed = new Map<K, Problem[]>();
  const others: Problem[] = [];
  for (const error of errors) {
    const pointer = problemPointer(error.path);
    const problem = { pointer: pointer ?? error.path, message: error.message };
    const key = pointer === undefined ? undefined : keyOf(pointer);
    if (key === undefined) others.push(problem);
    else placed.set(key, [...(placed.get(key) ?? []), problem]);
  }
  return { placed, others };
}

/** A field of the "new use case from a template" form. */
export type WizardField = { kind: 'value'; name: string } | { kind: 'id' } | { kind: 'name' };

/** The key a wizard field's problems are filed under: the variable's name, or `#id` / `#name`. */
export type WizardKey = string;

/**
 * The wizard field an instantiate problem is about: `/values/<name>` (or below it) is that
 * variable's, `/id` the id's, `/name` the name's; anything else (`/spec/...`) is for the summary.
 */
export function wizardField(pointer: string): WizardField | undefined {
  const [head, name] = parsePointer(pointer);
  if (head === 'values' && name !== undefined && name !== '') return { kind: 'value', name };
  if (head === 'id') return { kind: 'id' };
  if (head === 'name') return { kind: 'name' };
  return undefined;
}

export function wizardKey(field: WizardField): WizardKey {
  return field.kind === 'value' ? field.name : `#${field.kind}`;
}

/** A problem inside one step of a workflow: the step's index and the field below it (`/config/expression`). */
export interface StepLocation {
  index: number;
  field: string;
}

/**
 * The step a problem in a use case points into: `/workflow/steps/2/config/expression` → step 2,
 * field `/config/expression`. `base` is where the workflow is in the body (`/spec/workflow` for a
 * template's). Undefined for a problem about anything else.
 */
export function stepLocation(pointer: string, base = '/workflow'): StepLocation | undefined {
  const prefix = `${base}/steps/`;
  if (!pointer.startsWith(prefix)) return undefined;
  const rest = pointer.slice(prefix.length);
  const match = /^(0|[1-9]\d*)(\/.*)?$/.exec(rest);
  if (!match) return undefined;
  return { index: Number(match[1]), field: match[2] ?? '' };
}

/**
 * The field of an execution's input a refused start names: `body.input.amount` (or below it,
 * `body.input.documents.0`) → `amount`. Undefined for the input as a whole (`body.input`) and for
 * anything that is not about the input.
 */
export function inputFieldOf(path: string): string | undefined {
  const pointer = problemPointer(path);
  if (pointer === undefined) return undefined;
  const [head, field] = parsePointer(pointer);
  return head === 'input' && field !== undefined && field !== '' ? field : undefined;
}

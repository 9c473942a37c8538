/**
 * The "new use case" form, generated from a template's resolved variables: one field per
 * variable, its control chosen by the variable's type, its default prefilled; what was typed read
 * back as values, with the checks the server makes (templates `checkValue`) so a mistake shows as
 * it is typed. The server still judges: a value of the wrong kind is sent as typed, for its
 * problem to name. Pure functions of their input.
 */
import type { TemplateVariable, TemplateVariableType } from './api.ts';

export type VariableControl = 'text' | 'textarea' | 'number' | 'checkbox' | 'select';

export interface VariableField {
  name: string;
  type: TemplateVariableType;
  control: VariableControl;
  /** The variable's label, or its name made readable. */
  label: string;
  /** The variable's description: the field's help text. */
  help: string;
  /** A value must be supplied (no default to fall back on). */
  required: boolean;
  /** What applies when the field is left empty. */
  defaultValue: unknown;
  /** For a select: the values offered. */
  options: string[];
  /** What the field expects, in a few words, e.g. `a whole number, 1–365` or `a secret NAME`. */
  hint: string;
  /** For a number field. */
  minimum?: number;
  maximum?: number;
  integer?: boolean;
  /** For a text field. */
  pattern?: string;
  maxLength?: number;
}

/** What each field holds as typed: text, or a checkbox's state. */
export type VariableDraft = Record<string, string | boolean>;

/** What one field's text reads as: a value to send (possibly as typed, for the server to refuse), and why it is wrong. */
export interface ReadValue {
  /** Absent: nothing to send (the default applies, or the variable is optional). */
  value?: unknown;
  error?: string;
}

const SECRET_NAME = /^[A-Z][A-Z0-9_]{0,62}$/;
const DATASET_NAME = /^[a-z][a-z0-9-]{0,62}(@[0-9]+)?$/;

/** Whether a value must be supplied: the server's rule (`required`, else: no default). */
export function isRequired(variable: TemplateVariable): boolean {
  return variable.required ?? variable.default === undefined;
}

/** `autoApproveLimit` → `Auto approve limit`. */
export function humanize(name: string): string {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .trim()
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function controlOf(variable: TemplateVariable): VariableControl {
  switch (variable.type) {
    case 'number':
      return 'number';
    case 'boolean':
      return 'checkbox';
    case 'enum':
      return 'select';
    case 'string':
      return variable.multiline ? 'textarea' : 'text';
    default:
      return 'text';
  }
}

function range(minimum: number | undefined, maximum: number | undefined): string {
  if (minimum !== undefined && maximum !== undefined) return `${minimum}–${maximum}`;
  if (minimum !== undefined) return `at least ${minimum}`;
  if (maximum !== undefined) return `at most ${maximum}`;
  return '';
}

function hintOf(variable: TemplateVariable): string {
  switch (variable.type) {
    case 'number':
      return [variable.integer ? 'a whole number' : 'a number', range(variable.minimum, variable.maximum)]
        .filter(Boolean)
        .join(', ');
    case 'secret':
      return 'the NAME of a secret (A-Z, 0-9, _), never its value';
    case 'dataset':
      return 'a dataset name (lower-case, dashes), optionally @version';
    case 'string':
      return variable.pattern ? `text matching ${variable.pattern}` : '';
    case 'enum':
    case 'boolean':
      return '';
  }
}

/**
 * The form's fields: those that must be supplied first, then the ones with defaults, each group in
 * the order the template declares them (the base's first).
 */
export function variableFields(variables: Record<string, TemplateVariable>): VariableField[] {
  const fields = Object.entries(variables).map(([name, variable]): VariableField => {
    const field: VariableField = {
      name,
      type: variable.type,
      control: controlOf(variable),
      label: variable.label ?? humanize(name),
      help: variable.description ?? '',
      required: isRequired(variable),
      defaultValue: variable.default,
      options: variable.type === 'enum' ? [...variable.values] : [],
      hint: hintOf(variable),
    };
    if (variable.type === 'number') {
      if (variable.minimum !== undefined) field.minimum = variable.minimum;
      if (variable.maximum !== undefined) field.maximum = variable.maximum;
      field.integer = variable.integer;
    }
    if (variable.type === 'string') {
      if (variable.pattern !== undefined) field.pattern = variable.pattern;
      field.maxLength = variable.maxLength;
    }
    return field;
  });
  return [...fields.filter((f) => f.required), ...fields.filter((f) => !f.required)];
}

/** The form as it opens: every default filled in, the rest empty (a checkbox unticked). */
export function initialDraft(fields: readonly VariableField[]): VariableDraft {
  return Object.fromEntries(
    fields.map((field) => {
      if (field.control === 'checkbox') return [field.name, field.defaultValue === true];
      return [field.name, field.defaultValue === undefined ? '' : String(field.defaultValue)];
    }),
  );
}

/**
 * One field's text as a value. Empty is "not given": fine when a default applies or the variable
 * is optional, `required` otherwise. A number that does not parse is sent as typed (the server
 * names it); every value is checked as the server checks it.
 */
export function readVariable(field: VariableField, typed: string | boolean | undefined): ReadValue {
  if (field.control === 'checkbox') return { value: typed === true };
  const text = typeof typed === 'string' ? typed : '';
  const trimmed = text.trim();
  if (trimmed === '') return field.required ? { error: 'required' } : {};
  switch (field.type) {
    case 'number': {
      const value = Number(trimmed);
      if (!Number.isFinite(value)) return { value: trimmed, error: 'must be a number' };
      if (field.integer && !Number.isInteger(value)) return { value, error: 'must be a whole number' };
      if (field.minimum !== undefined && value < field.minimum)
        return { value, error: `must be at least ${field.minimum}` };
      if (field.maximum !== undefined && value > field.maximum)
        return { value, error: `must be at most ${field.maximum}` };
      return { value };
    }
    case 'enum':
      return field.options.includes(text)
        ? { value: text }
        : { value: text, error: `must be one of ${field.options.join(', ')}` };
    case 'secret':
      return SECRET_NAME.test(trimmed)
        ? { value: trimmed }
        : { value: trimmed, error: 'must be a secret NAME (A-Z, 0-9, _), never its value' };
    case 'dataset':
      return DATASET_NAME.test(trimmed)
        ? { value: trimmed }
        : { value: trimmed, error: 'must be a dataset name (lower-case, dashes), optionally @version' };
    default: {
      if (field.maxLength !== undefined && text.length > field.maxLength)
        return { value: text, error: `is longer than ${field.maxLength} characters` };
      // A `pattern` is left to the server's dry run, which matches on RE2: the browser's backtracking
      // RegExp could hang this tab on a pattern such as `(a+)+b` in someone's template.
      return { value: text };
    }
  }
}

/** The `values` of an instantiate request, and the fields the client already knows are wrong. */
export function readVariables(
  fields: readonly VariableField[],
  draft: VariableDraft,
): { values: Record<string, unknown>; errors: Record<string, string> } {
  const values: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const field of fields) {
    const read = readVariable(field, draft[field.name]);
    if ('value' in read) values[field.name] = read.value;
    if (read.error !== undefined) errors[field.name] = read.error;
  }
  return { values, errors };
}

/** `N of M fields to supply`: the variables with no default, of all of them. */
export function toSupply(summary: { requiredVariables: number; variables: number }): string {
  const { requiredVariables: n, variables: m } = summary;
  return `${n} of ${m} ${m === 1 ? 'field' : 'fields'} to supply`;
}

/**
 * A use case id suggested from a name: lower case, letters, digits and single dashes, at most 63
 * characters, starting with a letter or digit (the API's rule).
 * @example useCaseIdFrom('Claims triage (EU)') // 'claims-triage-eu'
 */
export function useCaseIdFrom(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 63)
    .replace(/-+$/, '');
}

const USE_CASE_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Why a use case id is refused, as the API would say it, or undefined. */
export function useCaseIdProblem(id: string): string | undefined {
  if (id === '') return 'required';
  return USE_CASE_ID.test(id) ? undefined : 'lower-case letters, digits and dashes (at most 63)';
}

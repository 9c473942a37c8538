/**
 * The "start a run" form, generated from a use case's `workflow.inputSchema` (the JSON Schema
 * subset the executions API accepts): one field per property of an object schema, its control by
 * the property's type; nested objects and lists as JSON. A schema that is not an object of
 * properties (or none) makes the whole input one JSON field. What was typed is read back as the
 * input, with the plain checks (required, type, enum, bounds, lengths, pattern); formats and the
 * rest are the server's, whose 400 names the field. Pure functions of their input.
 */

export type InputControl = 'text' | 'number' | 'checkbox' | 'select' | 'json';

/** A scalar an `enum` may list. */
export type EnumValue = string | number | boolean | null;

export interface InputField {
  name: string;
  /** The property's `title`, or its name. */
  label: string;
  /** The property's `description`. */
  help: string;
  control: InputControl;
  /** The JSON types the property allows (`type`, or every type when it names none). */
  types: string[];
  required: boolean;
  /** `null` is one of its types: an empty field sends `null` when the property is required. */
  nullable: boolean;
  /** For a select: the values offered (an `enum`, or true/false for an optional boolean). */
  options: EnumValue[];
  /** What the field expects, in a few words, e.g. `whole number ≥ 0` or `date (YYYY-MM-DD)`. */
  hint: string;
  default?: unknown;
  integer: boolean;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
}

export interface InputForm {
  /** The fields, in the schema's order; empty when `raw`. */
  fields: InputField[];
  /** The input is typed whole as JSON: the schema is not an object of properties (or there is none). */
  raw: boolean;
}

/** What each field holds as typed (a checkbox's state, or text); `''` keys the raw JSON field. */
export type InputDraft = Record<string, string | boolean>;

/** The key of the whole-input JSON field when the form is raw. */
export const RAW_FIELD = '';

const ALL_TYPES = ['object', 'array', 'string', 'number', 'integer', 'boolean', 'null'];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;
const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

function typesOf(schema: Record<string, unknown>): string[] {
  const type = schema.type;
  if (typeof type === 'string') return [type];
  if (Array.isArray(type)) return type.filter((t): t is string => typeof t === 'string');
  return ALL_TYPES;
}

const FORMAT_HINTS: Record<string, string> = {
  date: 'date (YYYY-MM-DD)',
  'date-time': 'date and time (ISO 8601)',
  time: 'time (HH:MM:SS)',
  email: 'email address',
  uri: 'URI',
  uuid: 'UUID',
  ipv4: 'IPv4 address',
  ipv6: 'IPv6 address',
};

function bounds(field: InputField): string {
  const parts: string[] = [];
  if (field.minimum !== undefined) parts.push(`≥ ${field.minimum}`);
  if (field.exclusiveMinimum !== undefined) parts.push(`> ${field.exclusiveMinimum}`);
  if (field.maximum !== undefined) parts.push(`≤ ${field.maximum}`);
  if (field.exclusiveMaximum !== undefined) parts.push(`< ${field.exclusiveMaximum}`);
  return parts.join(', ');
}

function hintOf(field: InputField): string {
  switch (field.control) {
    case 'number':
      return [field.integer ? 'whole number' : 'number', bounds(field)].filter(Boolean).join(' ');
    case 'json': {
      const kinds = field.types.filter((t) => t !== 'null');
      return kinds.length === 1 && kinds[0] === 'array'
        ? 'JSON list, e.g. ["a", "b"]'
        : kinds.length === 1 && kinds[0] === 'object'
          ? 'JSON object'
          : 'JSON';
    }
    case 'text': {
      if (field.format) return FORMAT_HINTS[field.format] ?? field.format;
      if (field.pattern) return `matching ${field.pattern}`;
      const { minLength: min, maxLength: max } = field;
      if (min !== undefined && max !== undefined) return `${min}–${max} characters`;
      if (max !== undefined) return `at most ${max} characters`;
      return '';
    }
    default:
      return '';
  }
}

function fieldOf(name: string, raw: unknown, required: boolean): InputField {
  const schema = isRecord(raw) ? raw : {};
  const types = typesOf(schema);
  const nonNull = types.filter((t) => t !== 'null');
  const nullable = types.includes('null');
  const enumValues = Array.isArray(schema.enum)
    ? schema.enum.filter(
        (v): v is EnumValue => v === null || ['string', 'number', 'boolean'].includes(typeof v),
      )
    : undefined;
  const only = nonNull.length === 1 ? nonNull[0] : nonNull.length === 2 && nonNull.includes('integer') && nonNull.includes('number') ? 'number' : undefined;
  let control: InputControl;
  let options: EnumValue[] = [];
  if (enumValues && enumValues.length > 0) {
    control = 'select';
    options = enumValues;
  } else if (only === 'string') control = 'text';
  else if (only === 'number' || only === 'integer') control = 'number';
  else if (only === 'boolean') {
    // A checkbox cannot say "not given": an optional boolean is a choice of three.
    control = required && !nullable ? 'checkbox' : 'select';
    if (control === 'select') options = [true, false];
  } else if (only === 'null') {
    control = 'select';
    options = [null];
  } else control = 'json';
  const field: InputField = {
    name,
    label: text(schema.title) ?? name,
    help: text(schema.description) ?? '',
    control,
    types,
    required,
    nullable,
    options,
    hint: '',
    integer: only === 'integer',
  };
  if (schema.default !== undefined) field.default = schema.default;
  const set = <K extends keyof InputField>(key: K, value: InputField[K] | undefined) => {
    if (value !== undefined) field[key] = value;
  };
  set('minimum', num(schema.minimum));
  set('maximum', num(schema.maximum));
  set('exclusiveMinimum', num(schema.exclusiveMinimum));
  set('exclusiveMaximum', num(schema.exclusiveMaximum));
  set('minLength', num(schema.minLength));
  set('maxLength', num(schema.maxLength));
  set('pattern', text(schema.pattern));
  set('format', text(schema.format));
  field.hint = hintOf(field);
  return field;
}

/** The form a schema makes. */
export function inputForm(schema: Record<string, unknown> | undefined): InputForm {
  if (!schema || !isRecord(schema.properties)) return { fields: [], raw: true };
  const types = typesOf(schema);
  if (!types.includes('object')) return { fields: [], raw: true };
  const required = new Set(
    Array.isArray(schema.required) ? schema.required.filter((r): r is string => typeof r === 'string') : [],
  );
  return {
    fields: Object.entries(schema.properties).map(([name, sub]) => fieldOf(name, sub, required.has(name))),
    raw: false,
  };
}

/** How a select shows and keys an enum value: its JSON (`"motor"` shows as `motor`). */
export function optionKey(value: EnumValue): string {
  return JSON.stringify(value);
}

export function optionLabel(value: EnumValue): string {
  return typeof value === 'string' ? value : String(value);
}

/** The text a field shows for a value (a sample's, or a schema default). */
function typedOf(field: InputField, value: unknown): string | boolean {
  if (value === undefined) return field.control === 'checkbox' ? false : '';
  switch (field.control) {
    case 'checkbox':
      return value === true;
    case 'select':
      return field.options.some((option) => option === value) ? optionKey(value as EnumValue) : '';
    case 'json':
      return JSON.stringify(value, null, 2);
    default:
      return value === null ? '' : String(value);
  }
}

/** The form as it opens: schema defaults filled in, the rest empty. */
export function emptyInputDraft(form: InputForm): InputDraft {
  if (form.raw) return { [RAW_FIELD]: '{}' };
  return Object.fromEntries(form.fields.map((field) => [field.name, typedOf(field, field.default)]));
}

/** The form filled with an input (a template's sample): "fill with sample". */
export function inputDraftFrom(form: InputForm, input: unknown): InputDraft {
  if (form.raw) return { [RAW_FIELD]: JSON.stringify(input ?? {}, null, 2) };
  const values = isRecord(input) ? input : {};
  return Object.fromEntries(form.fields.map((field) => [field.name, typedOf(field, values[field.name])]));
}

export interface ReadInput {
  /** Absent: nothing to send for this field. */
  value?: unknown;
  error?: string;
}

function checkNumber(field: InputField, value: number): string | undefined {
  if (field.integer && !Number.isInteger(value)) return 'must be a whole number';
  if (field.minimum !== undefined && value < field.minimum) return `must be at least ${field.minimum}`;
  if (field.exclusiveMinimum !== undefined && value <= field.exclusiveMinimum)
    return `must be more than ${field.exclusiveMinimum}`;
  if (field.maximum !== undefined && value > field.maximum) return `must be at most ${field.maximum}`;
  if (field.exclusiveMaximum !== undefined && value >= field.exclusiveMaximum)
    return `must be less than ${field.exclusiveMaximum}`;
  return undefined;
}

function checkText(field: InputField, value: string): string | undefined {
  const length = [...value].length;
  if (field.minLength !== undefined && length < field.minLength)
    return field.minLength === 1 ? 'must not be empty' : `must be at least ${field.minLength} characters`;
  if (field.maxLength !== undefined && length > field.maxLength)
    return `must be at most ${field.maxLength} characters`;
  // A `pattern` is left to the server, which checks it in a worker under a deadline: the browser's
  // backtracking RegExp could hang this tab on a pattern such as `(a+)+b` in a use case's schema.
  return undefined;
}

/** One field's text as the input's value, and why it is wrong. */
export function readInputField(field: InputField, typed: string | boolean | undefined): ReadInput {
  const missing = (): ReadInput => {
    if (!field.required) return {};
    return field.nullable ? { value: null } : { error: 'required' };
  };
  if (field.control === 'checkbox') return { value: typed === true };
  const raw = typeof typed === 'string' ? typed : '';
  switch (field.control) {
    case 'select': {
      if (raw === '') return missing();
      const at = field.options.findIndex((option) => optionKey(option) === raw);
      return at === -1 ? { error: 'choose one of the values offered' } : { value: field.options[at] };
    }
    case 'number': {
      const trimmed = raw.trim();
      if (trimmed === '') return missing();
      const value = Number(trimmed);
      if (!Number.isFinite(value)) return { value: trimmed, error: 'must be a number' };
      const error = checkNumber(field, value);
      return error === undefined ? { value } : { value, error };
    }
    case 'json': {
      if (raw.trim() === '') return missing();
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch (error) {
        return { error: `not JSON: ${error instanceof Error ? error.message : String(error)}` };
      }
      const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
      const allowed = field.types.includes(kind) || (kind === 'number' && field.types.includes('integer'));
      return allowed ? { value } : { value, error: `must be ${field.types.filter((t) => t !== 'null').join(' or ')}` };
    }
    default: {
      if (raw === '') return missing();
      const error = checkText(field, raw);
      return error === undefined ? { value: raw } : { value: raw, error };
    }
  }
}

/**
 * The input a form's draft makes, and the fields the client already knows are wrong (by name;
 * `RAW_FIELD` for the whole input).
 */
export function readInputDraft(form: InputForm, draft: InputDraft): { input: unknown; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  if (form.raw) {
    const raw = draft[RAW_FIELD];
    const typed = typeof raw === 'string' ? raw : '';
    if (typed.trim() === '') return { input: {}, errors };
    try {
      return { input: JSON.parse(typed), errors };
    } catch (error) {
      errors[RAW_FIELD] = `not JSON: ${error instanceof Error ? error.message : String(error)}`;
      return { input: undefined, errors };
    }
  }
  const input: Record<string, unknown> = {};
  for (const field of form.fields) {
    const read = readInputField(field, draft[field.name]);
    if ('value' in read) input[field.name] = read.value;
    if (read.error !== undefined) errors[field.name] = read.error;
  }
  return { input, errors };
}

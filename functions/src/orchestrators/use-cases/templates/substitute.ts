/**
 * `${…}` substitution: the template's variables, put into its config once, at
 * instantiation. The expression language is small on purpose and evaluated by
 * this file alone (no `eval`, no JSONata): variables (`threshold`), literals
 * (`12`, `'text'`, `true`, `null`), arithmetic (`+ - * / %`, parentheses; `+`
 * joins strings), and a few functions, called directly or after a pipe:
 * `default(x, 5)` is `x | default(5)`.
 *
 * A string that is one `${…}` and nothing else takes the value's own type
 * (`"${threshold}"` becomes the number 5000), and is left out when it is
 * null, as is an object all of whose fields were left out that way. Inside a longer string the value is written as text. `$${` writes a
 * literal `${`. Secrets are names, placed where the config takes a secret
 * name: they stand alone and are never computed with. Pure: no I/O.
 */
import { isPlainObject, pointerSegment } from './merge.js';

export class SecretReference {
  constructor(readonly name: string) {}
}
export type Scalar = string | number | boolean | null | SecretReference;

export interface SubstitutionProblem {
  pointer: string;
  message: string;
}

const MAX_EXPRESSION = 500;
const MAX_DEPTH = 32;
/** The longest text one `${…}` may make, or one string after substitution. */
export const MAX_SUBSTITUTED_STRING = 20_000;

class ExpressionError extends Error {}

type Token =
  | { t: 'num'; v: number }
  | { t: 'str'; v: string }
  | { t: 'id'; v: string }
  | { t: 'op'; v: string };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(source[i + 1] ?? ''))) {
      const m = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(source.slice(i)) as RegExpExecArray;
      tokens.push({ t: 'num', v: Number(m[0]) });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(i)) as RegExpExecArray;
      tokens.push({ t: 'id', v: m[0] });
      i += m[0].length;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      let text = '';
      while (j < source.length && source[j] !== c) {
        if (source[j] === '\\' && j + 1 < source.length) j++;
        text += source[j];
        j++;
      }
      if (j >= source.length) throw new ExpressionError('unterminated string');
      tokens.push({ t: 'str', v: text });
      i = j + 1;
    } else if ('+-*/%(),|'.includes(c)) {
      tokens.push({ t: 'op', v: c });
      i++;
    } else {
      throw new ExpressionError(`unexpected "${c}"`);
    }
  }
  return tokens;
}

type Fn = (args: Scalar[]) => Scalar;

const text = (v: Scalar, fn: string): string => {
  if (typeof v === 'string') return v;
  throw new ExpressionError(`${fn}() takes text, not ${describe(v)}`);
};
const num = (v: Scalar, fn: string): number => {
  if (typeof v === 'number') return v;
  throw new ExpressionError(`${fn}() takes a number, not ${describe(v)}`);
};
/** A function of `min` to `max` arguments: the count is checked before `impl` sees them. */
function fn(name: string, min: number, max: number, impl: (args: Scalar[]) => Scalar): Fn {
  return (args) => {
    if (args.length < min || args.length > max)
      throw new ExpressionError(
        `${name}() takes ${min === max ? min : `${min} to ${max}`} argument${max === 1 ? '' : 's'}`,
      );
    return impl(args);
  };
}
const first = (a: Scalar[]) => a[0] as Scalar;

/** The functions an expression may call; nothing else is reachable. */
const FUNCTIONS: Record<string, Fn> = {
  default: fn('default', 2, 2, (a) => (a[0] === null || a[0] === '' ? (a[1] as Scalar) : first(a))),
  upper: fn('upper', 1, 1, (a) => text(first(a), 'upper').toUpperCase()),
  lower: fn('lower', 1, 1, (a) => text(first(a), 'lower').toLowerCase()),
  trim: fn('trim', 1, 1, (a) => text(first(a), 'trim').trim()),
  /** `slug('Claims Triage')` is `claims-triage`: ids from names. */
  slug: fn('slug', 1, 1, (a) =>
    text(first(a), 'slug')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, ''),
  ),
  round: fn('round', 1, 2, (a) => {
    const digits = a.length > 1 ? num(a[1] as Scalar, 'round') : 0;
    if (!Number.isInteger(digits) || digits < 0 || digits > 10)
      throw new ExpressionError('round() keeps 0 to 10 digits');
    const f = 10 ** digits;
    return Math.round(num(first(a), 'round') * f) / f;
  }),
  floor: fn('floor', 1, 1, (a) => Math.floor(num(first(a), 'floor'))),
  ceil: fn('ceil', 1, 1, (a) => Math.ceil(num(first(a), 'ceil'))),
  min: fn('min', 1, 20, (a) => Math.min(...a.map((v) => num(v, 'min')))),
  max: fn('max', 1, 20, (a) => Math.max(...a.map((v) => num(v, 'max')))),
  string: fn('string', 1, 1, (a) => asText(first(a))),
  number: fn('number', 1, 1, (a) => {
    const v = first(a);
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
    if (!Number.isFinite(n)) throw new ExpressionError(`number() cannot read ${describe(v)}`);
    return n;
  }),
};
export const EXPRESSION_FUNCTIONS = Object.keys(FUNCTIONS);

function describe(v: Scalar): string {
  if (v instanceof SecretReference) return 'a secret reference';
  if (v === null) return 'null';
  return typeof v === 'string' ? 'text' : `a ${typeof v}`;
}

function asText(v: Scalar): string {
  if (v instanceof SecretReference)
    throw new ExpressionError('a secret reference stands alone: it is a name, not text to build with');
  return v === null ? '' : String(v);
}

/** Parses and evaluates one expression over `vars`; `used` collects the variables it reads. */
function evaluate(source: string, vars: ReadonlyMap<string, Scalar>, used: Set<string>): Scalar {
  if (source.length > MAX_EXPRESSION) throw new ExpressionError(`longer than ${MAX_EXPRESSION} characters`);
  const tokens = tokenize(source);
  let pos = 0;
  let depth = 0;
  const peek = () => tokens[pos];
  const isOp = (v: string) => {
    const t = tokens[pos];
    return t?.t === 'op' && t.v === v;
  };
  const expect = (v: string) => {
    if (!isOp(v)) throw new ExpressionError(`expected "${v}"`);
    pos++;
  };
  const call = (name: string, args: Scalar[]): Scalar => {
    // Own properties only: `constructor` or `__proto__` must not reach Object.prototype.
    const fn = Object.hasOwn(FUNCTIONS, name) ? FUNCTIONS[name] : undefined;
    if (!fn)
      throw new ExpressionError(`unknown function ${name}(); known: ${EXPRESSION_FUNCTIONS.join(', ')}`);
    if (args.some((a) => a instanceof SecretReference) && name !== 'default')
      throw new ExpressionError('a secret reference stands alone: it cannot be computed with');
    const out = fn(args);
    if (typeof out === 'number' && !Number.isFinite(out))
      throw new ExpressionError(`${name}() gave no finite number`);
    return out;
  };
  const args = (): Scalar[] => {
    expect('(');
    const out: Scalar[] = [];
    if (!isOp(')')) {
      out.push(pipe());
      while (isOp(',')) {
        pos++;
        out.push(pipe());
      }
    }
    expect(')');
    return out;
  };
  const primary = (): Scalar => {
    const t = peek();
    if (!t) throw new ExpressionError('unexpected end');
    pos++;
    if (t.t === 'num' || t.t === 'str') return t.v;
    if (t.t === 'id') {
      if (t.v === 'true') return true;
      if (t.v === 'false') return false;
      if (t.v === 'null') return null;
      if (isOp('(')) return call(t.v, args());
      used.add(t.v);
      if (!vars.has(t.v)) throw new ExpressionError(`unknown variable "${t.v}"`);
      return vars.get(t.v) as Scalar;
    }
    if (t.v === '(') {
      if (++depth > MAX_DEPTH) throw new ExpressionError('nested too deeply');
      const v = pipe();
      depth--;
      expect(')');
      return v;
    }
    if (t.v === '-') {
      const v = primary();
      if (typeof v !== 'number') throw new ExpressionError(`cannot negate ${describe(v)}`);
      return -v;
    }
    throw new ExpressionError(`unexpected "${t.v}"`);
  };
  const arithmetic = (op: string, a: Scalar, b: Scalar): Scalar => {
    if (a instanceof SecretReference || b instanceof SecretReference)
      throw new ExpressionError('a secret reference stands alone: it cannot be computed with');
    if (op === '+' && (typeof a === 'string' || typeof b === 'string')) {
      const joined = asText(a) + asText(b);
      if (joined.length > MAX_SUBSTITUTED_STRING)
        throw new ExpressionError(`makes text longer than ${MAX_SUBSTITUTED_STRING} characters`);
      return joined;
    }
    if (typeof a !== 'number' || typeof b !== 'number')
      throw new ExpressionError(`"${op}" needs numbers, not ${describe(a)} and ${describe(b)}`);
    const out = op === '+' ? a + b : op === '-' ? a - b : op === '*' ? a * b : op === '/' ? a / b : a % b;
    if (!Number.isFinite(out)) throw new ExpressionError(`${a} ${op} ${b} is not a finite number`);
    return out;
  };
  const term = (): Scalar => {
    let v = primary();
    while (isOp('*') || isOp('/') || isOp('%')) {
      const op = (tokens[pos++] as Token).v as string;
      v = arithmetic(op, v, primary());
    }
    return v;
  };
  const sum = (): Scalar => {
    let v = term();
    while (isOp('+') || isOp('-')) {
      const op = (tokens[pos++] as Token).v as string;
      v = arithmetic(op, v, term());
    }
    return v;
  };
  const pipe = (): Scalar => {
    let v = sum();
    while (isOp('|')) {
      pos++;
      const name = peek();
      if (name?.t !== 'id') throw new ExpressionError('expected a function name after "|"');
      pos++;
      v = call(name.v, [v, ...(isOp('(') ? args() : [])]);
    }
    return v;
  };
  const value = pipe();
  if (pos < tokens.length) throw new ExpressionError(`unexpected "${String((tokens[pos] as Token).v)}"`);
  return value;
}

const PLACEHOLDER = /\$\$\{|\$\{([^}]*)\}/g;

/**
 * Substitutes every `${…}` in the strings of `value` (keys are left as they
 * are). Problems are collected, each at its JSON pointer under `pointer`, and
 * never thrown: the caller reports them all at once.
 */
export function substitute(
  value: unknown,
  vars: ReadonlyMap<string, Scalar>,
  pointer: string,
  problems: SubstitutionProblem[],
  used: Set<string> = new Set(),
): unknown {
  if (typeof value === 'string') return substituteString(value, vars, pointer, problems, used);
  if (Array.isArray(value))
    return value
      .map((v, i) => substitute(v, vars, `${pointer}/${i}`, problems, used))
      .filter((v) => v !== undefined);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    let left = 0;
    for (const [k, v] of Object.entries(value)) {
      const next = substitute(v, vars, `${pointer}/${pointerSegment(k)}`, problems, used);
      if (next !== undefined) out[k] = next;
      else left++;
    }
    // `auth: { bearerSecret: '${key}' }` with no key is no auth at all, not an empty one.
    return left > 0 && Object.keys(out).length === 0 ? undefined : out;
  }
  return value;
}

function substituteString(
  source: string,
  vars: ReadonlyMap<string, Scalar>,
  pointer: string,
  problems: SubstitutionProblem[],
  used: Set<string>,
): unknown {
  if (!source.includes('${')) return source;
  const whole = /^\$\{([^}]*)\}$/.exec(source);
  const run = (expression: string): Scalar | undefined => {
    try {
      return evaluate(expression, vars, used);
    } catch (error) {
      if (!(error instanceof ExpressionError)) throw error;
      problems.push({ pointer, message: `\${${expression.trim()}}: ${error.message}` });
      return undefined;
    }
  };
  if (whole) {
    const v = run(whole[1] as string);
    if (v instanceof SecretReference) return v.name;
    return v === null ? undefined : v;
  }
  const out = source.replace(PLACEHOLDER, (match, expression: string | undefined) => {
    if (expression === undefined) return '${';
    const v = run(expression);
    if (v === undefined) return match;
    try {
      return asText(v);
    } catch (error) {
      problems.push({ pointer, message: `\${${expression.trim()}}: ${(error as Error).message}` });
      return match;
    }
  });
  if (out.length > MAX_SUBSTITUTED_STRING) {
    problems.push({ pointer, message: `becomes longer than ${MAX_SUBSTITUTED_STRING} characters` });
    return source;
  }
  return out;
}

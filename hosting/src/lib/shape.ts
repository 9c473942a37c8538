/**
 * Tiny parsers that check an API answer's shape before the console trusts it: a few lines
 * instead of a schema library in the first page's bundle. Each one returns the value it checked
 * (objects keep only the declared keys) or throws a `ShapeError` naming where it went wrong.
 */

export class ShapeError extends Error {
  override readonly name = 'ShapeError';
}

export type Parser<T> = (value: unknown, path?: string) => T;
export type Parsed<P> = P extends Parser<infer T> ? T : never;

function fail(path: string, expected: string, value: unknown): never {
  const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
  throw new ShapeError(`${path}: expected ${expected}, got ${got}`);
}

export const string: Parser<string> = (value, path = 'body') =>
  typeof value === 'string' ? value : fail(path, 'a string', value);

export const boolean: Parser<boolean> = (value, path = 'body') =>
  typeof value === 'boolean' ? value : fail(path, 'a boolean', value);

/** Epoch milliseconds, sent as a number or as an ISO-8601 string. */
export const timestamp: Parser<number> = (value, path = 'body') => {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  return Number.isNaN(ms) ? fail(path, 'a timestamp', value) : ms;
};

export function literal<const T extends readonly string[]>(values: T): Parser<T[number]> {
  return (value, path = 'body') =>
    typeof value === 'string' && values.includes(value) ? value : fail(path, `one of ${values.join(', ')}`, value);
}

export function nullable<T>(parse: Parser<T>): Parser<T | null> {
  // An absent field reads as null: the server may leave out what it does not know.
  return (value, path) => (value === null || value === undefined ? null : parse(value, path));
}

export function array<T>(parse: Parser<T>): Parser<T[]> {
  return (value, path = 'body') =>
    Array.isArray(value) ? value.map((item, i) => parse(item, `${path}[${i}]`)) : fail(path, 'an array', value);
}

export function object<S extends Record<string, Parser<unknown>>>(shape: S): Parser<{ [K in keyof S]: Parsed<S[K]> }> {
  return (value, path = 'body') => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail(path, 'an object', value);
    const source = value as Record<string, unknown>;
    const result: Record<string, unknown> = {};
    for (const [key, parse] of Object.entries(shape)) result[key] = parse(source[key], `${path}.${key}`);
    return result as { [K in keyof S]: Parsed<S[K]> };
  };
}

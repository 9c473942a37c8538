/**
 * A use case's inputSchema: the subset it accepts (checked when the workflow compiles), and what the
 * workers' check of an input reports (`checkAgainstSchema`, run in an expression worker at the door).
 */
import { describe, expect, it } from 'vitest';
import { checkAgainstSchema } from './expressions/schema-check.js';
import {
  compileInputSchema,
  inputProblems,
  MAX_DEPTH,
  MAX_ENUM,
  MAX_INPUT_VALUES,
  MAX_NODES,
  withinValues,
} from './input-schema.js';

const claim = compileInputSchema({
  type: 'object',
  required: ['amount'],
  properties: {
    amount: { type: 'number', minimum: 0 },
    policy: { type: 'string', pattern: '^P-[0-9]+$' },
    tags: { type: 'array', items: { type: 'string', pattern: '^[a-z]+$' } },
    pair: { type: 'array', prefixItems: [{ type: 'string', pattern: '^x' }, { type: 'number' }] },
  },
});

/** What the door reports for `input`: the worker's check, as the fields of a 400. */
function refused(compiled: { schema: Record<string, unknown> }, input: unknown) {
  const check = checkAgainstSchema(compiled.schema, input);
  return check.valid ? [] : inputProblems(check.issues);
}

describe('checking an input', () => {
  it('accepts what the schema allows, other fields included', () => {
    expect(claim.problems).toEqual([]);
    expect(
      refused(claim, { amount: 3, policy: 'P-12', tags: ['a', 'b'], pair: ['xy', 1], extra: true }),
    ).toEqual([]);
  });

  it('names each field it refuses, as body.input paths, patterns included', () => {
    expect(
      refused(claim, { amount: -1, policy: 'Q-1', tags: ['ok', 'NO'], pair: ['y', 1] }).map((f) => f.path),
    ).toEqual(['body.input.amount', 'body.input.policy', 'body.input.tags.1', 'body.input.pair.0']);
  });

  it('says a missing required field is required', () => {
    expect(refused(claim, { policy: 'P-1' })).toEqual([
      { path: 'body.input.amount', message: 'required (number)' },
    ]);
    expect(refused(claim, 'a string')).toEqual([
      { path: 'body.input', message: 'Invalid input: expected object, received string' },
    ]);
  });

  it('defect (second review): a property named like an inherited member is not read from the prototype', () => {
    const special = compileInputSchema({
      type: 'object',
      properties: {
        valueOf: { type: 'string' },
        constructor: { type: 'number' },
        toString: { type: 'string' },
      },
      required: ['toString'],
    });
    expect(special.problems).toEqual([]);
    // {} left valueOf out: it was refused as "expected string, received function"; toString was "present".
    expect(refused(special, {})).toEqual([{ path: 'body.input.toString', message: 'required (string)' }]);
    expect(refused(special, { toString: 'x', valueOf: 'y', constructor: 2 })).toEqual([]);
  });

  it('keeps a property named like a keyword, and drops annotations zod would remember', () => {
    const odd = compileInputSchema({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      id: 'urn:example:unique-1',
      'x-ui': { widget: 'slider' },
      type: 'object',
      properties: { patternProperties: { type: 'string', title: 'A name' }, $ref: { type: 'number' } },
    });
    expect(odd.problems).toEqual([]);
    expect(odd.schema).toEqual({
      type: 'object',
      properties: { patternProperties: { type: 'string', title: 'A name' }, $ref: { type: 'number' } },
    });
    expect(refused(odd, { $ref: 'one' })).toEqual([
      { path: 'body.input.$ref', message: 'Invalid input: expected number, received string' },
    ]);
  });

  it("counts an input's values without recursion, stopping past the limit", () => {
    expect(withinValues({ x: Array.from({ length: MAX_INPUT_VALUES - 2 }, () => 1) })).toBe(true);
    expect(withinValues({ x: Array.from({ length: MAX_INPUT_VALUES }, () => 1) })).toBe(false);
  });

  it('reports at most 20 fields, each message at most 300 characters', () => {
    const many = compileInputSchema({ type: 'array', items: { type: 'number' } });
    expect(
      refused(
        many,
        Array.from({ length: 100 }, () => 'x'),
      ),
    ).toHaveLength(20);
    const long = compileInputSchema({
      enum: Array.from({ length: 200 }, (_, i) => `${i}`.padEnd(1000, 'v')),
    });
    expect(refused(long, 'nope')[0]?.message.length).toBeLessThanOrEqual(301);
  });
});

describe('schemas it will not run', () => {
  const problems = (schema: Record<string, unknown>) => compileInputSchema(schema).problems;

  it('refuses a pattern that is no regular expression, and keeps one that is, backreferences included', () => {
    expect(problems({ type: 'string', pattern: '[' })).toEqual([
      {
        pointer: '/pattern',
        message: 'not a regular expression: Invalid regular expression: /[/: Unterminated character class',
      },
    ]);
    // The workers run patterns as JSON Schema says (ECMAScript), under their deadline.
    expect(problems({ type: 'string', pattern: '^(?<n>a)\\k<n>$' })).toEqual([]);
  });

  it('refuses a required name its properties do not list, and a property named __proto__', () => {
    expect(problems({ type: 'object', properties: { a: {} }, required: ['a', 'foo'] })).toEqual([
      { pointer: '/required', message: 'required names "foo", which properties does not list' },
    ]);
    expect(problems(JSON.parse('{"type":"object","properties":{"__proto__":{"type":"string"}}}'))).toEqual([
      { pointer: '/properties/__proto__', message: '"__proto__" cannot be a property name' },
    ]);
  });

  it('defect (second review): an array where an object or a string belongs is refused, never walked by zod', () => {
    // zod walked arrays as objects and made a RegExp of ["^(a+)+$"], out of the walk's sight.
    expect(
      problems({
        type: 'object',
        properties: { extra: { type: 'object', properties: [{ type: 'string', pattern: ['^(a+)+$'] }] } },
      }),
    ).toEqual([{ pointer: '/properties/extra/properties', message: 'properties is an object of schemas' }]);
    expect(problems({ type: 'object', properties: { s: { type: 'string', pattern: ['^(a+)+$'] } } })).toEqual(
      [{ pointer: '/properties/s/pattern', message: 'a pattern is a string' }],
    );
  });

  it('defect (second review): refuses $ref and $defs, so no cycle reaches zod', () => {
    const refused = (schema: Record<string, unknown>) => problems(schema).map((p) => p.pointer);
    // A cycle made every start a 500 (zod recursing until the stack ran out).
    expect(
      refused({
        $defs: { a: { $ref: '#/$defs/a' } },
        type: 'object',
        properties: { x: { $ref: '#/$defs/a' } },
      }),
    ).toEqual(['/$defs', '/properties/x/$ref']);
    // Through "#", a property's pattern was silently not checked.
    expect(
      refused({
        type: 'object',
        properties: { name: { type: 'string', pattern: '^ok$' }, child: { $ref: '#' } },
      }),
    ).toEqual(['/properties/child/$ref']);
  });

  it('defect (second review): refuses what multiplies the work a check does', () => {
    // A type list with object in it converts (and is tried) once more per type at every level below.
    expect(problems({ type: ['object', 'string'], properties: {} })[0]?.pointer).toBe('/type');
    expect(problems({ type: ['string', 'null'] })).toEqual([]);
    // A 50,001-value mixed enum took 35 s and 3.4 GB for a 200-item input.
    expect(problems({ type: 'array', items: { enum: Array.from({ length: 50_001 }, (_, i) => i) } })).toEqual(
      [
        {
          pointer: '/items/enum',
          message: `enum is a list of 1 to ${MAX_ENUM} strings, numbers, booleans or nulls`,
        },
      ],
    );
    expect(problems({ enum: [{ pattern: 'a' }, 1] })[0]?.pointer).toBe('/enum');
  });

  it('refuses every keyword outside its subset, each at its pointer', () => {
    expect(
      problems({
        type: 'object',
        patternProperties: { '^(a+)+$': {} },
        propertyNames: { pattern: '^[a-z]+$' },
        not: { type: 'string' },
        if: { type: 'object' },
        dependentSchemas: {},
        anyOf: [{ type: 'object' }],
      }).map((p) => p.message),
    ).toEqual([
      '"patternProperties" is not supported in an input schema',
      '"propertyNames" is not supported in an input schema',
      '"not" is not supported in an input schema',
      '"if" is not supported in an input schema',
      '"dependentSchemas" is not supported in an input schema',
      '"anyOf" is not supported in an input schema',
    ]);
  });

  it('refuses an unknown type or format, a bad bound, a schema too big or too deep', () => {
    expect(problems({ type: 'nonsense' })[0]?.pointer).toBe('/type');
    expect(problems({ type: 'string', format: 'regex' })[0]?.pointer).toBe('/format');
    expect(problems({ type: 'number', multipleOf: 0 })[0]?.pointer).toBe('/multipleOf');
    const wide = Object.fromEntries(
      Array.from({ length: MAX_NODES + 5 }, (_, i) => [`f${i}`, { type: 'string' }]),
    );
    expect(problems({ type: 'object', properties: wide })).toEqual([
      { pointer: `/properties/f${MAX_NODES - 1}`, message: `the schema has over ${MAX_NODES} parts` },
    ]);
    let deep: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < MAX_DEPTH + 5; i++) deep = { type: 'object', properties: { d: deep } };
    expect(problems(deep)[0]?.message).toBe(`the schema is nested over ${MAX_DEPTH} deep`);
  });
});

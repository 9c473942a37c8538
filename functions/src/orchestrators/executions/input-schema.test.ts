/** A use case's inputSchema as the check at the door: what it refuses, and schemas it refuses to run. */
import { describe, expect, it } from 'vitest';
import { compileInputSchema, MAX_DEPTH, MAX_ENUM, MAX_INPUT_VALUES, MAX_NODES } from './input-schema.js';

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

describe('checking an input', () => {
  it('accepts what the schema allows, other fields included', () => {
    expect(claim.problems).toEqual([]);
    expect(
      claim.check({ amount: 3, policy: 'P-12', tags: ['a', 'b'], pair: ['xy', 1], extra: true }),
    ).toEqual([]);
  });

  it('names each field it refuses, as body.input paths, patterns included', () => {
    expect(claim.check({ amount: -1, policy: 'Q-1', tags: ['ok', 'NO'], pair: ['y', 1] })).toEqual([
      { path: 'body.input.amount', message: 'Too small: expected number to be >=0' },
      { path: 'body.input.policy', message: 'does not match the pattern ^P-[0-9]+$' },
      { path: 'body.input.tags.1', message: 'does not match the pattern ^[a-z]+$' },
      { path: 'body.input.pair.0', message: 'does not match the pattern ^x' },
    ]);
  });

  it('says a missing required field is required', () => {
    expect(claim.check({ policy: 'P-1' })).toEqual([
      { path: 'body.input.amount', message: 'required (number)' },
    ]);
    expect(claim.check('a string')).toEqual([
      { path: 'body.input', message: 'Invalid input: expected object, received string' },
    ]);
  });

  it('matches patterns in linear time: the pattern that froze the runtime for 79 s answers at once', () => {
    const redos = compileInputSchema({
      type: 'object',
      properties: { s: { type: 'string', pattern: '^(a|aa)+$' } },
    });
    // On a backtracking engine this call would not return within the test's timeout.
    expect(redos.check({ s: `${'a'.repeat(42)}!` })).toEqual([
      { path: 'body.input.s', message: 'does not match the pattern ^(a|aa)+$' },
    ]);
    expect(redos.check({ s: 'a'.repeat(100_000) })).toEqual([]);
  });

  it('keeps a property named like a keyword, and drops annotations zod would remember', () => {
    const odd = compileInputSchema({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      id: 'urn:example:unique-1',
      'x-ui': { pattern: '^(a+)+$' },
      type: 'object',
      properties: { patternProperties: { type: 'string', title: 'A name' }, $ref: { type: 'number' } },
    });
    expect(odd.problems).toEqual([]);
    expect(odd.check({ patternProperties: 'x', $ref: 1 })).toEqual([]);
    expect(odd.check({ $ref: 'one' })).toEqual([
      { path: 'body.input.$ref', message: 'Invalid input: expected number, received string' },
    ]);
  });

  it('defect (second review): refuses an input with over 20,000 values before zod reports an issue for each', () => {
    const strings = compileInputSchema({
      type: 'object',
      properties: { x: { type: 'array', items: { type: 'number' } } },
    });
    expect(strings.check({ x: Array.from({ length: MAX_INPUT_VALUES }, () => 'a') })).toEqual([
      {
        path: 'body.input',
        message: `has over ${MAX_INPUT_VALUES} values, more than its inputSchema is checked against: pass a reference`,
      },
    ]);
    expect(strings.check({ x: Array.from({ length: MAX_INPUT_VALUES - 2 }, () => 1) })).toEqual([]);
  });

  it('reports at most 20 fields', () => {
    const many = compileInputSchema({ type: 'array', items: { type: 'number' } });
    expect(many.check(Array.from({ length: 100 }, () => 'x'))).toHaveLength(20);
  });
});

describe('schemas it will not run', () => {
  const problems = (schema: Record<string, unknown>) => compileInputSchema(schema).problems;

  it('refuses a pattern RE2 cannot run (a backreference, a lookaround), and one that is no regular expression', () => {
    expect(
      problems({
        type: 'object',
        properties: {
          a: { type: 'string', pattern: '(a)\\1' },
          b: { type: 'string', pattern: '(?=x)x' },
          c: { type: 'string', pattern: '[' },
        },
      }).map((p) => p.pointer),
    ).toEqual(['/properties/a/pattern', '/properties/b/pattern', '/properties/c/pattern']);
  });

  it('refuses a pattern where its values cannot be followed', () => {
    expect(problems({ type: 'object', additionalProperties: { type: 'string', pattern: 'y' } })).toEqual([
      {
        pointer: '/additionalProperties/pattern',
        message: 'a pattern is supported only where properties, items and prefixItems lead',
      },
    ]);
  });

  it('defect (second review): a pattern cannot reach zod through an array where an object belongs', () => {
    // zod walks arrays as objects and makes a RegExp of ["^(a+)+$"]: 20 s for 29 a's and a "!".
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

  it('defect (second review): refuses $ref and $defs, so no cycle reaches zod and no pattern hides behind one', () => {
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

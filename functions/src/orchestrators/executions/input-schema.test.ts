/** A use case's inputSchema as the check at the door: what it refuses, and schemas it refuses to run. */
import { describe, expect, it } from 'vitest';
import { compileInputSchema, MAX_DEPTH, MAX_NODES } from './input-schema.js';

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

  it('follows local $refs, recursive ones too', () => {
    const tree = compileInputSchema({
      $defs: { node: { type: 'object', properties: { next: { $ref: '#/$defs/node' } } } },
      $ref: '#/$defs/node',
    });
    expect(tree.problems).toEqual([]);
    expect(tree.check({ next: { next: {} } })).toEqual([]);
    expect(tree.check({ next: { next: 3 } })).toEqual([
      { path: 'body.input.next.next', message: 'Invalid input: expected object, received number' },
    ]);
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

  it('refuses patterns where their values cannot be followed, and patternProperties', () => {
    expect(
      problems({
        type: 'object',
        properties: { a: { anyOf: [{ type: 'string', pattern: 'x' }] } },
        additionalProperties: { type: 'string', pattern: 'y' },
        propertyNames: { pattern: '^[a-z]+$' },
        patternProperties: { '^(a+)+$': {} },
        $defs: { hidden: { type: 'string', pattern: 'z' } },
      }),
    ).toEqual([
      {
        pointer: '/properties/a/anyOf/0/pattern',
        message: 'a pattern is supported only where properties, items and prefixItems lead',
      },
      {
        pointer: '/additionalProperties/pattern',
        message: 'a pattern is supported only where properties, items and prefixItems lead',
      },
      {
        pointer: '/propertyNames/pattern',
        message: 'a pattern is supported only where properties, items and prefixItems lead',
      },
      {
        pointer: '/patternProperties',
        message: 'patternProperties is not supported: its patterns would run on a backtracking engine',
      },
      {
        pointer: '/$defs/hidden/pattern',
        message: 'a pattern is supported only where properties, items and prefixItems lead',
      },
    ]);
  });

  it('refuses a pattern hidden under a keyword it does not walk, rather than let zod run it', () => {
    expect(problems({ type: 'object', 'x-extension': { pattern: '(a|aa)+$' } })).toEqual([
      { pointer: '/x-extension/pattern', message: 'a pattern is not supported here' },
    ]);
  });

  it('refuses an external $ref, an unknown type, a schema too big or too deep', () => {
    expect(problems({ $ref: 'https://example.com/schema.json' })[0]?.message).toMatch(/External \$ref/);
    expect(problems({ type: 'nonsense' })[0]?.message).toMatch(/Unsupported type/);
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

import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../../platform/errors.js';
import { configIssues, runAgent } from '../../../test-support/agent-call.js';
import { transformAgent } from './transform.js';

const claim = { id: 'c1', items: [{ price: 120 }, { price: 80 }], currency: 'EUR' };

describe('transform agent', () => {
  it.each([
    ['one expression', { expression: '$sum(claim.items.price)' }, { claim }, 200],
    [
      'one expression building an object',
      { expression: '{"id": claim.id, "total": $sum(claim.items.price) & " " & claim.currency}' },
      { claim },
      { id: 'c1', total: '200 EUR' },
    ],
    [
      'fields',
      { fields: { total: '$sum(claim.items.price)', count: '$count(claim.items)', flag: 'claim.missing' } },
      { claim },
      { total: 200, count: 2, flag: null },
    ],
    ['several inputs by name', { expression: 'a + b' }, { a: 2, b: 3 }, 5],
    ['no result', { expression: 'nothing.here' }, {}, null],
    ['the clock', { fields: { at: '$now()' } }, {}, { at: '2026-01-01T00:00:00.000Z' }],
  ])('%s', async (_name, config, inputs, output) => {
    expect(await runAgent(transformAgent, config, inputs)).toEqual({ status: 'succeeded', output });
  });

  it.each([
    ['a syntax error', { expression: 'a +' }, 'expression', 'Unexpected end of expression at position 3'],
    ['a syntax error in a field', { fields: { x: '(' } }, 'fields.x', 'Invalid expression'],
    ['$eval', { expression: '$eval("1")' }, 'expression', '$eval is disabled'],
    ['no fields', { fields: {} }, 'fields', 'name at least one field'],
    [
      'both forms',
      { expression: 'a', fields: { x: 'a' } },
      '',
      'give exactly one of "expression" and "fields"',
    ],
    ['neither form', {}, '', 'give exactly one of "expression" and "fields"'],
    ['an unknown key', { expresion: 'a' }, '', 'Unrecognized key: "expresion"'],
  ])('rejects a config with %s', (_name, config, path, message) => {
    expect(configIssues(transformAgent, config)).toContainEqual({
      path,
      message: expect.stringContaining(message),
    });
  });

  it('fails permanently when an expression fails on the data', async () => {
    const error = await runAgent(transformAgent, { expression: 'a + 1' }, { a: 'text' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toContain('Expression failed');
  });
});

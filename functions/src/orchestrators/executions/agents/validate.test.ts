import { describe, expect, it } from 'vitest';
import { ExpressionTimeoutError, PermanentError } from '../../../platform/errors.js';
import { configIssues, runAgent } from '../../../test-support/agent-call.js';
import { validateAgent } from './validate.js';

const claimSchema = {
  type: 'object',
  properties: {
    id: { type: 'string', minLength: 1 },
    amount: { type: 'number', minimum: 0 },
    items: {
      type: 'array',
      items: { type: 'object', properties: { sku: { type: 'string' } }, required: ['sku'] },
    },
  },
  required: ['id', 'amount'],
};

describe('validate agent', () => {
  it.each([
    [
      'one input',
      { schema: claimSchema, input: 'claim' },
      { claim: { id: 'c1', amount: 5 }, other: 1 },
      { id: 'c1', amount: 5 },
    ],
    [
      'all inputs as one object',
      {
        schema: {
          type: 'object',
          properties: { a: { type: 'integer' }, b: { type: 'string' } },
          required: ['a', 'b'],
        },
      },
      { a: 1, b: 'x' },
      { a: 1, b: 'x' },
    ],
    [
      'a scalar input',
      { schema: { type: 'string', format: 'email' }, input: 'email' },
      { email: 'a@b.co' },
      'a@b.co',
    ],
    [
      'report mode, valid',
      { schema: claimSchema, input: 'claim', mode: 'report' },
      { claim: { id: 'c1', amount: 0 } },
      { id: 'c1', amount: 0 },
    ],
  ])('passes %s', async (_name, config, inputs, value) => {
    expect(await runAgent(validateAgent, config, inputs)).toEqual({
      status: 'succeeded',
      output: { valid: true, value },
    });
  });

  const violations: Array<
    [string, Record<string, unknown>, Record<string, unknown>, Array<{ path: string; message: string }>]
  > = [
    [
      'a wrong field of one input',
      { schema: claimSchema, input: 'claim' },
      { claim: { id: 'c1', amount: -1, items: [{ sku: 1 }] } },
      [
        { path: 'claim.amount', message: 'Too small: expected number to be >=0' },
        { path: 'claim.items.0.sku', message: 'Invalid input: expected string, received number' },
      ],
    ],
    [
      'a missing input, checking all inputs',
      { schema: { type: 'object', required: ['a'], properties: { a: { type: 'number' } } } },
      {},
      [{ path: 'a', message: 'Invalid input: expected number, received undefined' }],
    ],
    [
      'a root value of the wrong type',
      { schema: { type: 'string' }, input: 'x' },
      { x: 3 },
      [{ path: 'x', message: 'Invalid input: expected string, received number' }],
    ],
  ];

  it.each(violations)('reports %s in report mode', async (_name, config, inputs, errors) => {
    expect(await runAgent(validateAgent, { ...config, mode: 'report' }, inputs)).toEqual({
      status: 'succeeded',
      output: { valid: false, errors },
    });
  });

  it.each(violations)(
    'fails permanently on %s in fail mode, listing path: message',
    async (_name, config, inputs, errors) => {
      const error = await runAgent(validateAgent, config, inputs).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PermanentError);
      for (const e of errors) expect((error as Error).message).toContain(`${e.path}: ${e.message}`);
      expect((error as PermanentError).details).toEqual({ errors });
    },
  );

  it('fails permanently when the input it checks is not declared', async () => {
    await expect(
      runAgent(validateAgent, { schema: claimSchema, input: 'claim' }, { other: 1 }),
    ).rejects.toThrow(/"claim" is not one of the step's inputs \(other\)/);
  });

  it.each([
    [
      'an unknown type',
      { schema: { type: 'frob' } },
      'schema',
      'not a usable JSON Schema: Unsupported type: frob',
    ],
    ['a dangling $ref', { schema: { $ref: '#/nope' } }, 'schema', 'Reference not found'],
    ['a schema that is not an object', { schema: 'string' }, 'schema', 'expected record'],
    ['an unknown mode', { schema: {}, mode: 'warn' }, 'mode', 'Invalid option'],
  ])('rejects a config with %s', (_name, config, path, message) => {
    expect(configIssues(validateAgent, config)).toContainEqual({
      path,
      message: expect.stringContaining(message),
    });
  });

  it('stops a schema pattern that backtracks for minutes at the deadline, off the serving thread', async () => {
    const error = await runAgent(
      validateAgent,
      { schema: { type: 'string', pattern: '^(a|aa)+$' }, input: 's' },
      { s: `${'a'.repeat(42)}!` },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExpressionTimeoutError);
    expect((error as Error).message).toMatch(
      /^Step "step1": the check against its schema ran past the deadline/,
    );
  });
});

import { describe, expect, it } from 'vitest';
import { InvalidInputError, PermanentError } from '../../../platform/errors.js';
import { T0 } from '../../../test-support/agent-call.js';
import {
  checkExpression,
  compileExpression,
  ExpressionSource,
  evaluate,
  evaluateCondition,
  hasNestedQuantifier,
  MAX_EXPRESSION_LENGTH,
} from './expression.js';

const run = (source: string, data: unknown = {}, opts = {}) =>
  evaluate(compileExpression(source), data, { now: T0, ...opts });

describe('compileExpression', () => {
  it.each([
    ['a +', 'Unexpected end of expression', 3],
    ['foo(]', 'The symbol "]" cannot be used as a unary operator', 5],
    ['"abc', 'String literal must be terminated by a matching quote', 4],
    ['{"a": 1', 'Expected "}" before end of expression', 7],
  ])('rejects %j with the position: %s', (source, message, position) => {
    const error = catchSync(() => compileExpression(source));
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).toContain(`at position ${position}`);
    expect(checkExpression(source)).toBe((error as Error).message);
  });

  it.each([
    ['$eval called', '$eval("1 + 1")', '$eval is disabled'],
    ['$eval passed around', '($f := $eval; $f("1"))', '$eval is disabled'],
    ['$random', '$random()', '$random is disabled'],
    ['$shuffle', '$shuffle([1, 2])', '$shuffle is disabled'],
    ['a nested quantifier', '$match(s, /(a+)+b/)', 'repeats a group that itself repeats'],
    ['a nested quantifier, non-capturing', '$replace(s, /(?:x\\d*)*/, "")', 'repeats a group'],
    ['an over-long source', 'x'.repeat(MAX_EXPRESSION_LENGTH + 1), `longer than ${MAX_EXPRESSION_LENGTH}`],
  ])('rejects %s at compile time', (_name, source, message) => {
    expect(checkExpression(source)).toContain(message);
  });

  it.each([['a.b'], ['$sum(items.price) > 100'], ['$match(s, /(ab)+c/)'], ['{"total": $count(x)}']])(
    'accepts %j',
    (source) => {
      expect(checkExpression(source)).toBeNull();
    },
  );

  it('returns the cached compilation for the same source', () => {
    expect(compileExpression('a = 1')).toBe(compileExpression('a = 1'));
  });

  it('backs a zod schema that rejects bad expressions at config time', () => {
    expect(ExpressionSource.safeParse('a.b').success).toBe(true);
    const parsed = ExpressionSource.safeParse('a +');
    expect(parsed.error?.issues[0]?.message).toContain('Unexpected end of expression at position 3');
  });
});

describe('evaluate', () => {
  it.each([
    ['no result becomes null', 'missing', {}, null],
    ['a sequence becomes an array', 'items.id', { items: [{ id: 1 }, { id: 2 }] }, [1, 2]],
    ['a singleton stays a value', 'items.id', { items: [{ id: 1 }] }, 1],
    ['keeps an array with []', 'items[].id', { items: [{ id: 1 }] }, [1]],
    [
      'builds objects',
      '{"total": $sum(items.p), "n": $count(items)}',
      { items: [{ p: 2 }, { p: 3 }] },
      { total: 5, n: 2 },
    ],
    ['drops undefined fields', '{"a": missing, "b": 1}', {}, { b: 1 }],
    ['$now() is the caller clock', '$now()', {}, '2026-01-01T00:00:00.000Z'],
    ['$now() takes a picture', '$now("[Y0001]-[M01]-[D01]")', {}, '2026-01-01'],
    ['$millis() is the caller clock', '$millis()', {}, T0],
    ['$pad still pads', '$pad("7", -3, "0")', {}, '007'],
    ['$pad counts code points', '$pad("é", 3, "ab")', {}, 'éab'],
    ['$join still joins', '$join(["a", "b"], "-")', {}, 'a-b'],
  ])('%s', async (_name, source, data, expected) => {
    expect(await run(source, data)).toEqual(expected);
  });

  it('returns plain arrays, without JSONata sequence flags', async () => {
    const result = await run('items.id', { items: [{ id: 1 }, { id: 2 }] });
    expect(Object.keys(result as object)).toEqual(['0', '1']);
  });

  it.each([
    ['$process'],
    ['$process.env'],
    ['$globalThis'],
    ['$module'],
    ['a.constructor'],
    ['$lookup(a, "constructor")'],
    ['a.__proto__'],
    ['$string.constructor'],
    ['$process.exit(1)'],
  ])('gives no access to JS globals or prototypes: %j is null', async (source) => {
    expect(await run(source, { a: {} })).toBeNull();
  });

  it.each([
    ['$require("fs")', 'Attempted to invoke a non-function'],
    ['($f := $lookup($, "x"); $f())', 'Attempted to invoke a non-function'],
  ])('cannot call what it cannot reach: %j', async (source, message) => {
    await expect(run(source, { x: 1 })).rejects.toThrow(message);
  });

  it.each([
    ['a function result', '$sum', 'gave a function, not a JSON value'],
    ['a type error', '"a" + 1', 'Expression failed'],
    ['an error raised by $error', '$error("boom")', 'boom'],
  ])('fails permanently on %s', async (_name, source, message) => {
    const error = await run(source).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toContain(message);
  });

  it('names the expression in its errors when given a label', async () => {
    await expect(run('"a" + 1', {}, { label: 'rule "r1"' })).rejects.toThrow(/^rule "r1": Expression failed/);
  });
});

describe('evaluate bounds runaway expressions', () => {
  it.each([
    [
      'an infinite tail recursion (time)',
      '($f := function($n){ $f($n + 1) }; $f(0))',
      'Evaluation timeout after 1000 milliseconds',
    ],
    [
      'a deep recursion (depth)',
      '($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(100000))',
      'Stack overflow',
    ],
    ['a doubling object', '$reduce([1..60], function($a, $i){ {"l": $a, "r": $a} }, 1)', 'size limit'],
    ['a doubling string', '$reduce([1..60], function($a, $i){ $a & $a }, "x")', 'size limit'],
    [
      'a doubling sequence',
      '$reduce([1..60], function($a, $i){ $append($a, $a) }, [1])',
      'maximum sequence length',
    ],
    ['a huge range', '$count([1..10000000])', 'maximum sequence length'],
    ['a huge $pad', '$pad("x", 100000000)', '$pad width is limited'],
    ['a huge $join', '$join([1..50000].$string(), $pad("-", 50000))', 'size limit'],
    ['a too deeply nested value', '$reduce([1..100], function($a, $i){ {"x": $a} }, 1)', 'levels deep'],
  ])('%s', async (_name, source, message) => {
    const started = Date.now();
    const error = await run(source).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toContain(message);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('takes the time budget from the call', async () => {
    const started = Date.now();
    await expect(run('($f := function($n){ $f($n + 1) }; $f(0))', {}, { timeoutMs: 50 })).rejects.toThrow(
      'Evaluation timeout after 50 milliseconds',
    );
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('applies each call its own limits on one cached compilation', async () => {
    const source = '$reduce([1..20], function($a, $i){ $a & $a }, "x")';
    await expect(run(source, {}, { maxValueSize: 1000 })).rejects.toThrow('size limit of 1000');
    expect(((await run(source)) as string).length).toBe(2 ** 20);
  });

  it('lets a bounded recursion finish', async () => {
    expect(await run('($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(50))')).toBe(50);
  });
});

describe('evaluateCondition', () => {
  it.each([
    ['true', true],
    ['false', false],
    ['missing', false],
    ['amount > 10', true],
    ['amount > 100', false],
  ])('%j → %s', async (source, expected) => {
    expect(await evaluateCondition(compileExpression(source), { amount: 50 })).toBe(expected);
  });

  it.each([['amount'], ['"yes"'], ['[true]'], ['{"a": true}']])(
    'refuses a non-boolean: %j',
    async (source) => {
      await expect(evaluateCondition(compileExpression(source), { amount: 50 })).rejects.toThrow(
        'must give true or false',
      );
    },
  );
});

describe('hasNestedQuantifier', () => {
  it.each([
    ['(a+)+', true],
    ['(a*)*b', true],
    ['(a{2,})+', true],
    ['((a*))*', true],
    ['(?:x+y)*', true],
    ['(a|b)+', false],
    ['(\\d{3})+', false],
    ['(a+){3}', false],
    ['(a+)?', false],
    ['[(a+)]+', false],
    ['\\(a+\\)+', false],
    ['a+b*c?', false],
  ])('%s → %s', (pattern, expected) => {
    expect(hasNestedQuantifier(pattern)).toBe(expected);
  });
});

function catchSync(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

import { describe, expect, it } from 'vitest';
import { ExpressionTimeoutError, PermanentError } from '../../../platform/errors.js';
import { call, T0 } from '../../../test-support/agent-call.js';
import {
  checkExpression,
  type ExpressionScope,
  ExpressionSource,
  evaluate,
  evaluateConditions,
  expressionScope,
  MAX_EXPRESSION_LENGTH,
} from './expression.js';

const scope = (opts: Partial<ExpressionScope> = {}): ExpressionScope => ({
  ...expressionScope(call({}, {})),
  ...opts,
});
const run = (source: string, data: unknown = {}, opts: Partial<ExpressionScope> = {}) =>
  evaluate(source, data, scope(opts));
const holds = async (source: string, data: unknown) =>
  (await evaluateConditions([{ source }], data, scope(), { untilTrue: false }))[0];

describe('checkExpression', () => {
  it.each([
    ['a +', 'Unexpected end of expression', 3],
    ['foo(]', 'The symbol "]" cannot be used as a unary operator', 5],
    ['"abc', 'String literal must be terminated by a matching quote', 4],
    ['{"a": 1', 'Expected "}" before end of expression', 7],
  ])('rejects %j with the position: %s', (source, message, position) => {
    const problem = checkExpression(source);
    expect(problem).toMatch(/^Invalid expression: /);
    expect(problem).toContain(message);
    expect(problem).toContain(`at position ${position}`);
  });

  it.each([
    ['$eval called', '$eval("1 + 1")', '$eval is disabled'],
    ['$eval passed around', '($f := $eval; $f("1"))', '$eval is disabled'],
    ['$random', '$random()', '$random is disabled'],
    ['$shuffle', '$shuffle([1, 2])', '$shuffle is disabled'],
    ['a backreference', '$match(s, /(a)\\1/)', 'backreferences and lookaround are not available'],
    ['a lookahead', '$contains(s, /a(?=b)/)', 'is not supported'],
    ['a negative lookahead', '$replace(s, /a(?!b)/, "")', 'is not supported'],
    ['a lookbehind', '$split(s, /(?<=a)b/)', 'is not supported'],
    ['an over-long source', 'x'.repeat(MAX_EXPRESSION_LENGTH + 1), `longer than ${MAX_EXPRESSION_LENGTH}`],
  ])('rejects %s at compile time', (_name, source, message) => {
    expect(checkExpression(source)).toContain(message);
  });

  it.each([
    ['a.b'],
    ['$sum(items.price) > 100'],
    ['$match(s, /(ab)+c/)'],
    ['$match(s, /(a+)+b/)'],
    ['$match(s, /(?<word>\\w+)/i)'],
    ['{"total": $count(x)}'],
  ])('accepts %j', (source) => {
    expect(checkExpression(source)).toBeNull();
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
    await expect(evaluate('"a" + 1', {}, scope(), 'rule "r1"')).rejects.toThrow(
      /^rule "r1": Expression failed/,
    );
  });
});

describe('regular expressions run on a linear-time engine', () => {
  it.each([
    [
      '$match with groups',
      '$match("ab12cd345", /[a-z]+(\\d+)/)',
      [
        { match: 'ab12', index: 0, groups: ['12'] },
        { match: 'cd345', index: 4, groups: ['345'] },
      ],
    ],
    [
      '$replace with a group reference',
      '$replace("2026-01-31", /(\\d+)-(\\d+)-(\\d+)/, "$3/$2/$1")',
      '31/01/2026',
    ],
    ['$split', '$split("a1b22c", /\\d+/)', ['a', 'b', 'c']],
    ['$contains, case-insensitive', '$contains("Hello", /hello/i)', true],
    ['multiline anchors', '$count($match("a\\nb\\nc", /^[a-z]$/m))', 3],
    ['indexes in UTF-16, as JSONata counts', '$match("x😀éy", /é(.)/).index', 3],
    ['named groups', '$match("key=v", /(?<k>\\w+)=(\\w+)/).groups', ['key', 'v']],
  ])('%s', async (_name, source, expected) => {
    expect(await run(source)).toEqual(expected);
  });

  it.each([
    [
      'overlapping alternatives (79 s on the backtracking engine)',
      '$contains(s, /(a|aa)+$/)',
      `${'a'.repeat(42)}!`,
    ],
    ['a nested quantifier', '$contains(s, /(a+)+b/)', 'a'.repeat(5000)],
    ['a nested quantifier, non-capturing', '$contains(s, /^(?:x\\d*)*$/)', `${'x1'.repeat(5000)}!`],
  ])('answers %s at once', async (_name, source, s) => {
    // The 1 s default deadline would stop a backtracking match: an answer means the engine is linear.
    expect(await run(source, { s })).toBe(false);
  });
});

describe('evaluate bounds runaway expressions', () => {
  it.each([
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
    // Time enough for the size and depth limits to be what stops them, on a busy machine too.
    const error = await run(source, {}, { capMs: 20_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toContain(message);
  });

  it.each([
    ['an infinite tail recursion', '($f := function($n){ $f($n + 1) }; $f(0))'],
    ['a quadratic built-in on a huge range (minutes in one call)', '$count($distinct([1..1000000]))'],
  ])('stops %s at the deadline, naming the step', async (_name, source) => {
    const error = await run(source, {}, { capMs: 200 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExpressionTimeoutError);
    expect(error).toMatchObject({ code: 'expression-timeout', retryable: false });
    expect((error as Error).message).toMatch(
      /^Step "step1": expression ".*" ran past the deadline of \d+ ms/,
    );
  });

  it('takes the deadline from what is left of the step, when that is shorter', async () => {
    await run('1'); // a started worker: waiting for one to start would count against the step's time
    const error = await run('($f := function($n){ $f($n + 1) }; $f(0))', {}, { stepLeftMs: 150 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ExpressionTimeoutError);
    expect((error as Error).message).toContain('ran past the deadline of 150 ms');
  });

  it('fails at once when the step has no time left', async () => {
    await expect(run('1', {}, { stepLeftMs: 0 })).rejects.toThrow('no time was left for its expressions');
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

describe('evaluateConditions', () => {
  it.each([
    ['true', true],
    ['false', false],
    ['missing', false],
    ['amount > 10', true],
    ['amount > 100', false],
  ])('%j → %s', async (source, expected) => {
    expect(await holds(source, { amount: 50 })).toBe(expected);
  });

  it.each([['amount'], ['"yes"'], ['[true]'], ['{"a": true}']])(
    'refuses a non-boolean: %j',
    async (source) => {
      await expect(holds(source, { amount: 50 })).rejects.toThrow('must give true or false');
    },
  );

  it('stops after the first that holds when asked to, and evaluates no further', async () => {
    const conditions = [{ source: 'a > 1' }, { source: 'a > 0' }, { source: '$error("not evaluated")' }];
    expect(await evaluateConditions(conditions, { a: 1 }, scope(), { untilTrue: true })).toEqual([
      false,
      true,
    ]);
  });
});

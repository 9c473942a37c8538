import { describe, expect, it } from 'vitest';
import { type Scalar, SecretReference, type SubstitutionProblem, substitute } from './substitute.js';

const vars = new Map<string, Scalar>([
  ['threshold', 5000],
  ['region', 'eu-west'],
  ['name', 'Claims Triage'],
  ['strict', true],
  ['missing', null],
  ['apiKey', new SecretReference('FRAUD_API_KEY')],
]);

function run(value: unknown) {
  const problems: SubstitutionProblem[] = [];
  const used = new Set<string>();
  const out = substitute(value, vars, '/spec', problems, used);
  return { out, problems, used };
}

describe('${} substitution', () => {
  it.each([
    ['a whole placeholder keeps its type', '${threshold}', 5000],
    ['a boolean', '${strict}', true],
    ['text inside text', 'region ${region}!', 'region eu-west!'],
    ['arithmetic', '${threshold * 2 + 1}', 10001],
    ['precedence and parentheses', '${(threshold - 1000) / 2}', 2000],
    ['string joins', "${region + '-1'}", 'eu-west-1'],
    ['a default for null', '${missing | default(42)}', 42],
    ['default() as a call', "${default(missing, 'x')}", 'x'],
    ['formatting', '${upper(region)}', 'EU-WEST'],
    ['a pipe chain', '${name | slug | upper}', 'CLAIMS-TRIAGE'],
    ['rounding', '${round(threshold / 3, 2)}', 1666.67],
    ['min and max', '${max(threshold, 9000)}', 9000],
    ['$${ is a literal', 'cost: $${amount}', 'cost: ${amount}'],
    ['numbers inside text', '${threshold} EUR', '5000 EUR'],
    ['a secret stands alone, as its name', '${apiKey}', 'FRAUD_API_KEY'],
    ['a string without placeholders', 'plain $ text {x}', 'plain $ text {x}'],
  ])('%s', (_, input, expected) => {
    const { out, problems } = run({ v: input });
    expect(problems).toEqual([]);
    expect(out).toEqual({ v: expected });
  });

  it('leaves out a field whose whole placeholder is null, in objects and lists', () => {
    expect(run({ a: '${missing}', b: ['${missing}', 1] }).out).toEqual({ b: [1] });
  });

  it('leaves out an object all of whose fields were left out, but keeps one that was empty', () => {
    expect(run({ auth: { bearerSecret: '${missing}' }, headers: {}, n: 1 }).out).toEqual({
      headers: {},
      n: 1,
    });
  });

  it('walks nested objects and lists, and never keys', () => {
    const { out, used } = run({ '${region}': { list: [{ t: '${threshold}' }] } });
    expect(out).toEqual({ '${region}': { list: [{ t: 5000 }] } });
    expect([...used]).toEqual(['threshold']);
  });

  it.each([
    ['an unknown variable', '${nope}', 'unknown variable "nope"'],
    ['an unknown function', '${eval(region)}', 'unknown function eval()'],
    ['arithmetic on text', '${region * 2}', '"*" needs numbers'],
    ['a secret computed with', "${apiKey + 'x'}", 'secret reference stands alone'],
    ['a secret inside text', 'Bearer ${apiKey}', 'secret reference stands alone'],
    ['a secret through a function', '${lower(apiKey)}', 'secret reference stands alone'],
    ['division by zero', '${threshold / 0}', 'not a finite number'],
    ['a syntax error', '${threshold +}', 'unexpected end'],
    ['an unterminated string', "${'abc}", 'unterminated string'],
    ['a stray character', '${threshold; process.exit()}', 'unexpected ";"'],
    ['member access is not a thing', '${region.constructor}', 'unexpected "."'],
    ['too long', `\${${'1+'.repeat(300)}1}`, 'longer than 500'],
    ['too deep', `\${${'('.repeat(40)}1${')'.repeat(40)}}`, 'nested too deeply'],
    ['wrong arity', '${round()}', 'round() takes 1 to 2 arguments'],
    ["Object's constructor", '${constructor(region)}', 'unknown function constructor()'],
    ["Object's valueOf, piped", '${threshold | valueOf}', 'unknown function valueOf()'],
    ['__proto__ as a function', '${__proto__(1)}', 'unknown function __proto__()'],
  ])('reports %s at its pointer', (_, input, message) => {
    const { problems } = run({ step: { v: input } });
    expect(problems).toHaveLength(1);
    expect(problems[0]?.pointer).toBe('/spec/step/v');
    expect(problems[0]?.message).toContain(message);
  });

  it('caps the text one placeholder makes, and a string after substitution', () => {
    const long = new Map<string, Scalar>([['s', 'x'.repeat(10_000)]]);
    const problems: SubstitutionProblem[] = [];
    substitute({ a: '${s + s + s}', b: '${s}${s}${s}', c: '${s + s}' }, long, '', problems);
    expect(problems).toEqual([
      { pointer: '/a', message: '${s + s + s}: makes text longer than 20000 characters' },
      { pointer: '/b', message: 'becomes longer than 20000 characters' },
    ]);
  });

  it('reports every problem at once', () => {
    expect(run({ a: '${x}', b: ['${y}'], c: '${threshold}' }).problems.map((p) => p.pointer)).toEqual([
      '/spec/a',
      '/spec/b/0',
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../platform/errors.js';
import { chain, compile } from '../../test-support/workflows.js';
import type { StepInput } from './model.js';

function problems(steps: StepInput[], extra = {}): Array<{ path: string; message: string }> {
  try {
    compile(steps, extra);
  } catch (error) {
    if (error instanceof InvalidInputError) return error.fields;
    throw error;
  }
  return [];
}

describe('compileWorkflow', () => {
  it('orders a chain and a fan-out/fan-in topologically, deriving edges from inputs', () => {
    const wf = compile([
      { id: 'join', agent: 'noop', output: 'joined', inputs: { l: 'left', r: 'right' } },
      { id: 'fanOut', agent: 'noop', output: 'start', inputs: { x: 'input.x' } },
      { id: 'l', agent: 'noop', output: 'left', inputs: { s: 'start' } },
      { id: 'r', agent: 'noop', output: 'right', inputs: { s: 'start.value' } },
    ]);
    expect(wf.order).toEqual(['fanOut', 'l', 'r', 'join']);
    expect(wf.steps.get('join')?.deps.sort()).toEqual(['l', 'r']);
  });

  it('gates branch targets behind their branch', () => {
    const wf = compile([
      { id: 'decide', agent: 'fork', output: 'd', config: { cases: [{ then: ['yes'] }], otherwise: ['no'] } },
      { id: 'yes', agent: 'noop', output: 'y' },
      { id: 'no', agent: 'noop', output: 'n' },
    ]);
    expect(wf.steps.get('yes')?.gatedBy).toEqual(['decide']);
    expect(wf.steps.get('no')?.deps).toEqual(['decide']);
  });

  it.each<[string, StepInput[], object, Array<{ path: string; message: RegExp }>]>([
    [
      'a cycle',
      [
        { id: 'a', agent: 'noop', output: 'aOut', inputs: { b: 'bOut' } },
        { id: 'b', agent: 'noop', output: 'bOut', inputs: { a: 'aOut' } },
      ],
      {},
      [{ path: '/workflow/steps/0', message: /cycle: a → b → a|cycle: b → a → b/ }],
    ],
    [
      'an unknown agent kind',
      [{ id: 'a', agent: 'telepathy', output: 'o' }],
      {},
      [{ path: '/workflow/steps/0/agent', message: /unknown agent kind "telepathy"; known: noop, fork/ }],
    ],
    [
      'an input nothing provides',
      [{ id: 'a', agent: 'noop', output: 'o', inputs: { s: 'scores.total' } }],
      {},
      [{ path: '/workflow/steps/0/inputs/s', message: /no step or context provides "scores"/ }],
    ],
    [
      'an input field missing from the input schema',
      [{ id: 'a', agent: 'noop', output: 'o', inputs: { c: 'input.claim' } }],
      { inputSchema: { type: 'object', properties: { policy: { type: 'string' } } } },
      [{ path: '/workflow/steps/0/inputs/c', message: /input schema has no field "claim"/ }],
    ],
    [
      'an unknown variable',
      [{ id: 'a', agent: 'noop', output: 'o', inputs: { r: 'vars.region' } }],
      {},
      [{ path: '/workflow/steps/0/inputs/r', message: /no variable "region"/ }],
    ],
    [
      'conflicting output keys',
      [
        { id: 'a', agent: 'noop', output: 'same' },
        { id: 'b', agent: 'noop', output: 'same' },
      ],
      {},
      [{ path: '/workflow/steps/1/output', message: /conflicts with step "a"/ }],
    ],
    [
      'a reserved output key and a duplicate id',
      [
        { id: 'a', agent: 'noop', output: 'input' },
        { id: 'a', agent: 'noop', output: 'x' },
      ],
      {},
      [
        { path: '/workflow/steps/1/id', message: /duplicate step id/ },
        { path: '/workflow/steps/0/output', message: /reserved/ },
      ],
    ],
    [
      'an unknown after and a branch target that is no step',
      [
        { id: 'a', agent: 'noop', output: 'o', after: ['ghost'] },
        { id: 'b', agent: 'fork', output: 'p', config: { cases: [{ then: ['nowhere'] }] } },
      ],
      {},
      [
        { path: '/workflow/steps/0/after/0', message: /"ghost" is not a step/ },
        { path: '/workflow/steps/1/config', message: /branch target "nowhere" is not a step/ },
      ],
    ],
    [
      'an unreachable step needing two exclusive arms',
      [
        {
          id: 'decide',
          agent: 'fork',
          output: 'd',
          config: { cases: [{ then: ['yes'] }], otherwise: ['no'] },
        },
        { id: 'yes', agent: 'noop', output: 'y' },
        { id: 'no', agent: 'noop', output: 'n' },
        { id: 'both', agent: 'noop', output: 'b', inputs: { y: 'y', n: 'n' } },
      ],
      {},
      [{ path: '/workflow/steps/3', message: /unreachable: "both" needs "yes" and "no"/ }],
    ],
    [
      'a bad agent config, addressed inside config',
      [{ id: 'b', agent: 'fork', output: 'p', config: { cases: [{ then: 'x' }] } }],
      {},
      [{ path: '/workflow/steps/0/config/cases/0/then', message: /expected array/ }],
    ],
  ])('reports %s with a pointer', (_name, steps, extra, expected) => {
    const found = problems(steps, extra);
    expect(found).toHaveLength(expected.length);
    for (const want of expected) {
      expect(found).toContainEqual({ path: want.path, message: expect.stringMatching(want.message) });
    }
  });

  it('accepts a join "any" after exclusive arms', () => {
    expect(
      problems([
        {
          id: 'decide',
          agent: 'fork',
          output: 'd',
          config: { cases: [{ then: ['yes'] }], otherwise: ['no'] },
        },
        { id: 'yes', agent: 'noop', output: 'y' },
        { id: 'no', agent: 'noop', output: 'n' },
        { id: 'either', agent: 'noop', output: 'e', inputs: { y: 'y', n: 'n' }, join: 'any' },
      ]),
    ).toEqual([]);
    expect(problems(chain('a', 'b', 'c'))).toEqual([]);
  });
});

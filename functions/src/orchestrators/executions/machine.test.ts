import { describe, expect, it } from 'vitest';
import { chain, compile } from '../../test-support/workflows.js';
import { decide, type Effect, type MachineInput, newExecution } from './machine.js';
import type { Execution, StepInput } from './model.js';
import type { CompiledWorkflow } from './workflow.js';

const T0 = Date.UTC(2026, 10, 24);

function start(wf: CompiledWorkflow, input: unknown = { x: 1 }): { state: Execution; effects: Effect[] } {
  const state = newExecution({
    id: 'e1',
    workspace: 'w',
    useCase: { id: 'uc', version: 1, contextTtlSeconds: 3600, workflow: { vars: {} } },
    wf,
    input,
    correlationId: 'c1',
    at: T0,
  });
  const d = decide(wf, state, { type: 'start', at: T0 });
  return { state: d.state, effects: d.effects };
}

function apply(
  wf: CompiledWorkflow,
  state: Execution,
  inputs: MachineInput[],
): { state: Execution; effects: Effect[] } {
  const effects: Effect[] = [];
  let s = state;
  for (const input of inputs) {
    const d = decide(wf, s, input);
    s = d.state;
    effects.push(...d.effects);
  }
  return { state: s, effects };
}

const ok = (stepId: string, attempt = 1, output: unknown = `${stepId}!`, extra = {}): MachineInput => ({
  type: 'stepSucceeded',
  stepId,
  attempt,
  output,
  at: T0 + 10,
  ...extra,
});
const fail = (stepId: string, attempt: number, retryable: boolean): MachineInput => ({
  type: 'stepFailed',
  stepId,
  attempt,
  error: { message: `boom ${attempt}`, code: retryable ? 'retryable' : 'permanent', retryable },
  at: T0 + 20,
});
const statuses = (s: Execution) =>
  Object.fromEntries(Object.entries(s.steps).map(([id, st]) => [id, st.status]));
const dispatched = (effects: Effect[]) =>
  effects
    .filter((e) => e.type === 'dispatchStep')
    .map((e) => (e.type === 'dispatchStep' ? `${e.stepId}#${e.attempt}` : ''));

const branchFlow: StepInput[] = [
  { id: 'decide', agent: 'fork', output: 'd', config: { cases: [{ then: ['yes'] }], otherwise: ['no'] } },
  { id: 'yes', agent: 'noop', output: 'y' },
  { id: 'no', agent: 'noop', output: 'n' },
  { id: 'after', agent: 'noop', output: 'a', inputs: { y: 'y', n: 'n' }, join: 'any' },
];

describe('execution machine', () => {
  it.each<[string, StepInput[], MachineInput[], string, Record<string, string>, string[]]>([
    [
      'a chain runs step by step to success',
      chain('a', 'b'),
      [ok('a'), ok('b')],
      'succeeded',
      { a: 'succeeded', b: 'succeeded' },
      ['a#1', 'b#1'],
    ],
    [
      'a retryable failure retries, then succeeds',
      chain('a'),
      [fail('a', 1, true), ok('a', 2)],
      'succeeded',
      { a: 'succeeded' },
      ['a#1', 'a#2'],
    ],
    [
      'a poison step fails its execution after its retry budget, nothing loops',
      chain('a', 'b'),
      [fail('a', 1, true), fail('a', 2, true), fail('a', 3, true), fail('a', 4, true)],
      'failed',
      { a: 'failed', b: 'cancelled' },
      ['a#1', 'a#2', 'a#3'],
    ],
    [
      'a permanent failure fails at once',
      chain('a'),
      [fail('a', 1, false)],
      'failed',
      { a: 'failed' },
      ['a#1'],
    ],
    [
      'a branch runs the chosen arm, skips the other, and a join "any" runs after',
      branchFlow,
      [ok('decide', 1, null, { route: ['yes'] }), ok('yes'), ok('after')],
      'succeeded',
      { decide: 'succeeded', yes: 'succeeded', no: 'skipped', after: 'succeeded' },
      ['decide#1', 'yes#1', 'after#1'],
    ],
    [
      'stale, duplicate and unknown inputs change nothing',
      chain('a'),
      [ok('a', 2), ok('nope'), ok('a'), ok('a'), fail('a', 1, true)],
      'succeeded',
      { a: 'succeeded' },
      ['a#1'],
    ],
    [
      'cancel stops everything, and late results are ignored',
      chain('a', 'b'),
      [{ type: 'cancel', at: T0 + 5 }, ok('a')],
      'cancelled',
      { a: 'cancelled', b: 'cancelled' },
      ['a#1'],
    ],
    [
      'pause holds new dispatches until resume',
      chain('a', 'b'),
      [{ type: 'pause', at: T0 + 1 }, ok('a'), { type: 'resume', at: T0 + 30 }, ok('b')],
      'succeeded',
      { a: 'succeeded', b: 'succeeded' },
      ['a#1', 'b#1'],
    ],
    [
      'an operator retry reopens a failed execution with a fresh budget',
      chain('a', 'b'),
      [fail('a', 1, false), { type: 'retryStep', stepId: 'a', at: T0 + 40 }, ok('a', 2), ok('b')],
      'succeeded',
      { a: 'succeeded', b: 'succeeded' },
      ['a#1', 'a#2', 'b#1'],
    ],
  ])('%s', (_name, steps, inputs, status, stepStatuses, dispatches) => {
    const wf = compile(steps);
    const first = start(wf);
    const { state, effects } = apply(wf, first.state, inputs);
    expect(state.status).toBe(status);
    expect(statuses(state)).toEqual(stepStatuses);
    expect(dispatched([...first.effects, ...effects])).toEqual(dispatches);
  });

  it('backs off between retries by doubling', () => {
    const wf = compile([
      {
        ...chain('a')[0],
        id: 'a',
        retry: { maxAttempts: 4, minBackoffSeconds: 2, maxBackoffSeconds: 5 },
      } as StepInput,
    ]);
    let { state } = start(wf);
    const runAts: number[] = [];
    for (const attempt of [1, 2, 3]) {
      const d = decide(wf, state, fail('a', attempt, true));
      state = d.state;
      for (const e of d.effects) if (e.type === 'dispatchStep') runAts.push(e.runAt - (T0 + 20));
    }
    expect(runAts).toEqual([2000, 4000, 5000]);
  });

  it('waits for a human decision, then records it as the output', () => {
    const wf = compile(chain('review', 'notify'));
    let { state } = start(wf);
    state = decide(wf, state, {
      type: 'stepWaiting',
      stepId: 'review',
      attempt: 1,
      reason: 'human',
      prompt: 'OK?',
      at: T0 + 1,
    }).state;
    expect(state.status).toBe('waiting');
    expect(state.steps.review?.prompt).toBe('OK?');
    const d = decide(wf, state, {
      type: 'decision',
      stepId: 'review',
      decision: 'approved',
      by: 'ann',
      at: T0 + 50,
    });
    expect(d.state.context.reviewOut).toMatchObject({ decision: 'approved', by: 'ann' });
    expect(dispatched(d.effects)).toEqual(['notify#1']);
  });

  it('fails a human step nobody decided by its deadline, and honours an extended deadline', () => {
    const wf = compile(chain('review', 'notify'));
    let { state } = start(wf);
    let d = decide(wf, state, {
      type: 'stepWaiting',
      stepId: 'review',
      attempt: 1,
      reason: 'human',
      prompt: 'OK?',
      until: T0 + 1000,
      at: T0,
    });
    expect(d.effects).toContainEqual({ type: 'scheduleTimer', stepId: 'review', attempt: 1, at: T0 + 1000 });
    state = decide(wf, d.state, {
      type: 'rescheduleStep',
      stepId: 'review',
      resumeAt: T0 + 3000,
      at: T0 + 5,
    }).state;
    d = decide(wf, state, { type: 'timerFired', stepId: 'review', attempt: 1, at: T0 + 1000 });
    expect(d.accepted).toBe(false);
    d = decide(wf, state, { type: 'timerFired', stepId: 'review', attempt: 1, at: T0 + 3000 });
    expect(d.state.steps.review).toMatchObject({
      status: 'failed',
      error: { code: 'human-timeout', retryable: false },
    });
    expect(d.state.status).toBe('failed');
    expect(dispatched(d.effects)).toEqual([]);
    // A decision that comes after the deadline changes nothing.
    const late = decide(wf, d.state, {
      type: 'decision',
      stepId: 'review',
      decision: 'approved',
      by: 'ann',
      at: T0 + 3001,
    });
    expect(late.accepted).toBe(false);
  });

  it('keeps a human step without a deadline waiting: no timer is set', () => {
    const wf = compile(chain('review'));
    const { state } = start(wf);
    const d = decide(wf, state, {
      type: 'stepWaiting',
      stepId: 'review',
      attempt: 1,
      reason: 'human',
      at: T0,
    });
    expect(d.effects.filter((e) => e.type === 'scheduleTimer')).toEqual([]);
    expect(
      decide(wf, d.state, { type: 'timerFired', stepId: 'review', attempt: 1, at: T0 + 1e9 }).accepted,
    ).toBe(false);
  });

  it('defect (issue 8, item 11): a run paused during its last step finished and stayed "paused"; ending unpauses it', () => {
    const wf = compile(chain('last'));
    const waiting = decide(wf, start(wf).state, {
      type: 'stepWaiting',
      stepId: 'last',
      attempt: 1,
      reason: 'timer',
      until: T0 + 1000,
      at: T0,
    }).state;
    const paused = decide(wf, waiting, { type: 'pause', at: T0 + 1 });
    expect(paused.state.paused).toBe(true);
    // Pause holds back dispatches, not a step already under way: its timer still ends it.
    const ended = decide(wf, paused.state, { type: 'timerFired', stepId: 'last', attempt: 1, at: T0 + 1000 });
    expect(ended.state.status).toBe('succeeded');
    expect(ended.state.paused).toBe(false);
    // A cancelled run is not left paused either; and an ended one refuses pause and resume alike.
    const cancelled = decide(wf, decide(wf, waiting, { type: 'pause', at: T0 + 1 }).state, {
      type: 'cancel',
      at: T0 + 2,
    });
    expect(cancelled.state).toMatchObject({ status: 'cancelled', paused: false });
    expect(decide(wf, ended.state, { type: 'resume', at: T0 + 2000 }).accepted).toBe(false);
    expect(decide(wf, ended.state, { type: 'pause', at: T0 + 2000 }).accepted).toBe(false);
  });

  it('waits for a timer, honours a reschedule, and resumes at the new time only', () => {
    const wf = compile(chain('pause'));
    let { state } = start(wf);
    let d = decide(wf, state, {
      type: 'stepWaiting',
      stepId: 'pause',
      attempt: 1,
      reason: 'timer',
      until: T0 + 1000,
      at: T0,
    });
    expect(d.effects).toContainEqual({ type: 'scheduleTimer', stepId: 'pause', attempt: 1, at: T0 + 1000 });
    state = decide(wf, d.state, {
      type: 'rescheduleStep',
      stepId: 'pause',
      resumeAt: T0 + 5000,
      at: T0 + 10,
    }).state;
    d = decide(wf, state, { type: 'timerFired', stepId: 'pause', attempt: 1, at: T0 + 1000 });
    expect(d.accepted).toBe(false);
    d = decide(wf, state, { type: 'timerFired', stepId: 'pause', attempt: 1, at: T0 + 5000 });
    expect(d.state.status).toBe('succeeded');
    expect(d.state.context.pauseOut).toEqual({ waitedUntil: T0 + 5000 });
  });
});

/** A seeded PRNG, so a failing shuffle can be replayed. */
function prng(seed: number): () => number {
  let t = seed;
  return () => {
    t = (t + 0x6d2b79f5) | 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Drives the machine like a real runtime would: every dispatched attempt
 * yields its started and finished events, delivered 1–5 times each, in a
 * random order. Steps of a fan-out finish in any order.
 */
function simulate(
  wf: CompiledWorkflow,
  seed: number,
  outcome: (stepId: string, attempt: number) => MachineInput,
) {
  const random = prng(seed);
  let { state, effects } = start(wf);
  const pending: MachineInput[] = [];
  let deliveries = 0;
  /** Effects per step attempt: a runtime carries each out, so each must appear exactly once. */
  const effectCounts = new Map<string, number>();
  const enqueue = (fx: Effect[]) => {
    for (const e of fx) {
      const key =
        e.type === 'dispatchStep'
          ? `dispatch ${e.stepId}#${e.attempt}`
          : e.type === 'checkpoint'
            ? `checkpoint ${e.stepId}`
            : e.type;
      effectCounts.set(key, (effectCounts.get(key) ?? 0) + 1);
      if (e.type !== 'dispatchStep') continue;
      const copies = 1 + Math.floor(random() * 5);
      for (let i = 0; i < copies; i++) {
        pending.push({ type: 'stepStarted', stepId: e.stepId, attempt: e.attempt, at: T0 + 1 });
        pending.push(outcome(e.stepId, e.attempt));
      }
    }
  };
  enqueue(effects);
  while (pending.length > 0) {
    const [input] = pending.splice(Math.floor(random() * pending.length), 1);
    const d = decide(wf, state, input as MachineInput);
    deliveries++;
    state = d.state;
    effects = d.effects;
    enqueue(effects);
  }
  return { state, deliveries, effectCounts };
}

describe('execution machine under at-least-once, shuffled delivery', () => {
  const wf = compile([
    { id: 'fanOut', agent: 'noop', output: 'start', inputs: { x: 'input.x' } },
    { id: 'a', agent: 'noop', output: 'aOut', inputs: { s: 'start' } },
    { id: 'b', agent: 'noop', output: 'bOut', inputs: { s: 'start' } },
    { id: 'c', agent: 'noop', output: 'cOut', inputs: { s: 'start' } },
    { id: 'join', agent: 'noop', output: 'joined', inputs: { a: 'aOut', b: 'bOut', c: 'cOut' } },
  ]);
  const succeedAll = (stepId: string, attempt: number): MachineInput => ok(stepId, attempt, { from: stepId });
  const flaky = (stepId: string, attempt: number): MachineInput =>
    stepId === 'b' && attempt === 1 ? fail('b', 1, true) : ok(stepId, attempt, { from: stepId });

  it.each([
    ['every step succeeds', succeedAll],
    ['one step fails once and is retried', flaky],
  ])('%s: 200 shuffles with duplicates end in the same final state', (_name, outcome) => {
    const reference = simulate(wf, 1, outcome).state;
    expect(reference.status).toBe('succeeded');
    for (let seed = 2; seed <= 200; seed++) {
      const { state, effectCounts } = simulate(wf, seed, outcome);
      expect(
        [...effectCounts.values()].every((n) => n === 1),
        JSON.stringify([...effectCounts]),
      ).toBe(true);
      expect(effectCounts.get('finished')).toBe(1);
      expect({ status: state.status, context: state.context, steps: statuses(state) }).toEqual({
        status: reference.status,
        context: reference.context,
        steps: statuses(reference),
      });
      expect(Object.fromEntries(Object.entries(state.steps).map(([id, s]) => [id, s.attempts]))).toEqual(
        Object.fromEntries(Object.entries(reference.steps).map(([id, s]) => [id, s.attempts])),
      );
    }
  });
});

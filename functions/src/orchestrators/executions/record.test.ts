/**
 * The event-sourced execution record, pure: what a decision's checkpoint
 * stores, and that folding checkpoints onto a snapshot gives back the state
 * the machine reached, from any snapshot point.
 */
import { describe, expect, it } from 'vitest';
import { chain, compile } from '../../test-support/workflows.js';
import { forkFrom } from './fork.js';
import { decide, type MachineInput, newExecution } from './machine.js';
import type { CheckpointRecord, Execution } from './model.js';
import { changeOf, fold, needsSnapshot, startOf, stateAt } from './record.js';

const T0 = Date.UTC(2026, 11, 4);
const ids = Array.from({ length: 50 }, (_, i) => `s${i}`);
const wf = compile(chain(...ids));

function fresh(id: string): Execution {
  return newExecution({
    id,
    workspace: 'w',
    useCase: { id: 'uc', version: 1, contextTtlSeconds: 3600, workflow: { vars: { region: 'eu' } } },
    wf,
    input: { x: 1 },
    correlationId: 'c',
    at: T0,
  });
}

function started(): Execution {
  return decide(wf, fresh('e1'), { type: 'start', at: T0 }).state;
}

const succeeded = (i: number): MachineInput => ({
  type: 'stepSucceeded',
  stepId: `s${i}`,
  attempt: 1,
  output: { v: i, note: 'x'.repeat(40) },
  at: T0 + i + 1,
});

/** Runs the chain to step `upTo`, recording a checkpoint per settled step as commitDecision does. */
function run(upTo: number): { states: Execution[]; records: CheckpointRecord[] } {
  let state = started();
  const states = [state];
  const records: CheckpointRecord[] = [];
  for (let i = 0; i < upTo; i++) {
    const d = decide(wf, state, succeeded(i));
    const next = { ...d.state, checkpoint: state.checkpoint + 1 };
    records.push({
      n: next.checkpoint,
      at: next.updatedAt,
      stepId: `s${i}`,
      attempt: 1,
      status: 'succeeded',
      inputs: {},
      change: changeOf(state, next),
    });
    state = next;
    states.push(state);
  }
  return { states, records };
}

describe('the execution record', () => {
  it('stores in a checkpoint only what the settling changed: the step, the one it dispatched, the output', () => {
    const { records } = run(3);
    const second = records[1] as CheckpointRecord;
    expect(Object.keys(second.change.steps).sort()).toEqual(['s1', 's2']);
    expect(second.change.context).toEqual({ s1Out: { v: 1, note: 'x'.repeat(40) } });
    expect(second.change.execution).toEqual({ updatedAt: T0 + 2 });
  });

  it('keeps a checkpoint the same size whether 2 or 45 steps came before it', () => {
    const { records } = run(46);
    const size = (r: CheckpointRecord | undefined) => JSON.stringify(r?.change).length;
    // Only the longer names ("s45", "s46Out", …) and numbers tell them apart.
    expect(Math.abs(size(records[45]) - size(records[2]))).toBeLessThanOrEqual(8);
  });

  it.each([0, 1, 7, 20, 49])(
    'folds back to the machine’s own state from a snapshot at checkpoint %i',
    (at) => {
      const { states, records } = run(50);
      const final = states[50] as Execution;
      expect(final.status).toBe('succeeded');
      expect(fold(states[at] as Execution, records)).toEqual(final);
      expect(fold(states[at] as Execution, records.slice(at))).toEqual(final);
    },
  );

  it('replays the context and step states at any checkpoint from the start', () => {
    const { states, records } = run(12);
    const start = stateAt(states[12] as Execution, []);
    expect(start.context).toEqual({ input: { x: 1 }, vars: { region: 'eu' } });
    expect(Object.values(start.steps).every((s) => s.status === 'blocked')).toBe(true);
    for (const n of [1, 5, 12]) {
      const expected = states[n] as Execution;
      const replayed = stateAt(states[12] as Execution, records.slice(0, n));
      expect(replayed.context).toEqual(expected.context);
      expect(replayed.steps).toEqual(expected.steps);
    }
  });

  it('starts a fork from what it carried over, so its own checkpoints replay from there', () => {
    const parent = run(10).states[10] as Execution;
    const fork = forkFrom(fresh('e2'), wf, { ...parent, id: 'e1', checkpoint: 10, inputChanged: false });
    const start = startOf(fork);
    expect(Object.keys(start.context).sort()).toEqual(
      [...ids.slice(0, 10).map((id) => `${id}Out`), 'input', 'vars'].sort(),
    );
    expect(start.steps.s9?.status).toBe('succeeded');
    expect(start.steps.s10?.status).toBe('blocked');
  });

  it.each([
    ['a settling step that changes nothing else', 'running', 'running', true, 3, false],
    ['a decision that settles no step (a retry scheduled, a wait)', 'running', 'running', false, 3, true],
    ['a change of status', 'running', 'succeeded', true, 3, true],
    ['a tail of 64 checkpoints since the snapshot', 'running', 'running', true, 64, true],
  ] as const)('rewrites the snapshot on %s: %s', (_, from, to, wroteCheckpoint, since, expected) => {
    const before = { ...started(), status: from, checkpoint: since - 1 };
    const after = { ...before, status: to, checkpoint: since };
    expect(needsSnapshot(before, after, wroteCheckpoint, 0)).toBe(expected);
  });
});

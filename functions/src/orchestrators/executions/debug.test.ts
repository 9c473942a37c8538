/** The debugging views, pure: a list row's input preview and what a timeline entry says about a step. */
import { describe, expect, it } from 'vitest';
import { executionWith as executionAt } from '../../test-support/workflows.js';
import { timeline } from './debug.js';
import type { CheckpointRecord, StepState } from './model.js';
import { INPUT_PREVIEW_CHARS, inputPreview } from './responses.js';

const T0 = Date.UTC(2026, 10, 24);

/** A waiting execution at T0 with these steps. */
function executionWith(steps: Record<string, Partial<StepState>>, context: Record<string, unknown> = {}) {
  return executionAt(steps, { status: 'waiting', context, at: T0 });
}

describe('inputPreview', () => {
  it.each([
    [{ claimId: 'C-1', amount: 420 }, '{"claimId":"C-1","amount":420}'],
    [{}, '{}'],
    ['plain', '"plain"'],
    [null, 'null'],
    [undefined, ''],
  ])('%j → %s', (input, preview) => {
    expect(inputPreview(input)).toBe(preview);
  });

  it('cuts a long input to the limit, an ellipsis included', () => {
    const preview = inputPreview({ note: 'x'.repeat(500) });
    expect(Array.from(preview)).toHaveLength(INPUT_PREVIEW_CHARS);
    expect(preview.startsWith('{"note":"xxx')).toBe(true);
    expect(preview.endsWith('…')).toBe(true);
  });

  it('never splits a character made of two UTF-16 units', () => {
    const preview = inputPreview('😀'.repeat(100), 10);
    expect(preview).toBe(`"${'😀'.repeat(8)}…`);
  });

  it('answers an empty preview for what JSON cannot write', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(inputPreview(cyclic)).toBe('');
  });
});

describe('timeline', () => {
  const steps = [
    { id: 'score', agent: 'rules', output: 'risk' },
    { id: 'review', agent: 'human', output: 'decision' },
    { id: 'hold', agent: 'wait', output: 'held' },
    { id: 'call', agent: 'http', output: 'reply' },
  ];
  const checkpoint = (n: number, stepId: string): Omit<CheckpointRecord, 'change'> => ({
    n,
    at: T0 + n,
    stepId,
    attempt: 1,
    status: 'succeeded',
    inputs: { amount: n },
  });

  it('says each step’s agent kind, prompt, resume time and deadline', () => {
    const execution = executionWith(
      {
        score: { status: 'succeeded', attempts: 1, queuedAt: T0, startedAt: T0 + 1, endedAt: T0 + 5 },
        review: {
          status: 'waiting',
          attempts: 1,
          queuedAt: T0 + 6,
          waitingFor: 'human',
          prompt: 'Approve?',
          resumeAt: T0 + 60_000,
        },
        hold: { status: 'waiting', attempts: 1, queuedAt: T0 + 7, waitingFor: 'timer', resumeAt: T0 + 5_000 },
        // A retry backoff: queued, due later.
        call: { status: 'queued', attempts: 1, queuedAt: T0 + 8, resumeAt: T0 + 2_000 },
      },
      { risk: { score: 10 } },
    );
    const entries = timeline(execution, steps, [checkpoint(1, 'score')]);
    expect(
      entries.map(({ stepId, agent, prompt, resumeAt, deadline, waitingFor }) => ({
        stepId,
        agent,
        prompt,
        resumeAt,
        deadline,
        waitingFor,
      })),
    ).toEqual([
      { stepId: 'score', agent: 'rules', prompt: null, resumeAt: null, deadline: null, waitingFor: null },
      {
        stepId: 'review',
        agent: 'human',
        prompt: 'Approve?',
        resumeAt: T0 + 60_000,
        deadline: T0 + 60_000,
        waitingFor: 'human',
      },
      {
        stepId: 'hold',
        agent: 'wait',
        prompt: null,
        resumeAt: T0 + 5_000,
        deadline: null,
        waitingFor: 'timer',
      },
      { stepId: 'call', agent: 'http', prompt: null, resumeAt: T0 + 2_000, deadline: null, waitingFor: null },
    ]);
    expect(entries[0]).toMatchObject({
      durationMs: 4,
      checkpoints: [1],
      inputs: { amount: 1 },
      output: { score: 10 },
    });
  });

  it('has no deadline for a human step without a timeout, and no agent for a step the workflow lacks', () => {
    const execution = executionWith({
      review: { status: 'waiting', queuedAt: T0, waitingFor: 'human', prompt: 'Approve?' },
      ghost: { status: 'blocked' },
    });
    const [review, ghost] = timeline(execution, steps, []);
    expect(review).toMatchObject({ deadline: null, resumeAt: null, prompt: 'Approve?' });
    expect(ghost).toMatchObject({ stepId: 'ghost', agent: null, output: null });
  });
});

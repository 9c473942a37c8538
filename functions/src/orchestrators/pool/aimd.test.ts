import { describe, expect, it } from 'vitest';
import { type AimdObservation, type AimdPolicy, initialAimd, observeAimd } from './aimd.js';

const policy: AimdPolicy = { min: 1, max: 8, targetLatencyMs: 100, window: 3 };
const ok: AimdObservation = { latencyMs: 50, rateLimited: false };
const slow: AimdObservation = { latencyMs: 150, rateLimited: false };
const verySlow: AimdObservation = { latencyMs: 250, rateLimited: false };
const throttled: AimdObservation = { latencyMs: 10, rateLimited: true };

function run(observations: AimdObservation[], start = initialAimd(policy)) {
  let state = start;
  const changes: string[] = [];
  for (const seen of observations) {
    const d = observeAimd(policy, state, seen);
    state = d.state;
    if (d.change) changes.push(`${d.change.from}→${d.change.to}`);
  }
  return { limit: state.limit, changes };
}

describe('AIMD', () => {
  it.each<[string, AimdObservation[], number, string[]]>([
    ['starts at the maximum and stays there while healthy', [ok, ok, ok, ok], 8, []],
    ['halves on a 429', [throttled], 4, ['8→4']],
    [
      'halves down to the minimum and no further',
      [throttled, throttled, throttled, throttled, throttled],
      1,
      ['8→4', '4→2', '2→1'],
    ],
    ['halves on latency over twice the target', [verySlow], 4, ['8→4']],
    ['holds on latency between the target and twice it', [throttled, slow, slow, slow], 4, ['8→4']],
    ['adds one per window of healthy steps', [throttled, ok, ok, ok, ok, ok, ok], 6, ['8→4', '4→5', '5→6']],
    ['a 429 resets the window', [throttled, ok, ok, throttled, ok, ok, ok], 3, ['8→4', '4→2', '2→3']],
  ])('%s', (_name, observations, limit, changes) => {
    expect(run(observations)).toEqual({ limit, changes });
  });

  it('keeps an out-of-bounds stored limit within bounds', () => {
    expect(run([ok], { limit: 50, healthy: 0 }).limit).toBe(8);
  });
});

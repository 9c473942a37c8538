import { describe, expect, it } from 'vitest';
import { type AimdObservation, type AimdPolicy, initialAimd, observeAimd } from './aimd.js';
import { adaptivePolicy } from './store.js';

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

  it('without a fixed target, judges latency against the kind’s own moving average once it has a window of samples', () => {
    const adaptive: AimdPolicy = { min: 1, max: 8, window: 3 };
    let state = initialAimd(adaptive);
    const seen = (latencyMs: number, rateLimited = false) => {
      const d = observeAimd(adaptive, state, { latencyMs, rateLimited });
      state = d.state;
      return d.change?.reason ?? null;
    };
    // A slow kind: 20 s is its normal, and the first samples have no target to miss.
    expect([seen(20_000), seen(20_000), seen(20_000)]).toEqual([null, null, null]);
    expect(state.avgMs).toBe(20_000);
    expect(seen(25_000)).toBeNull(); // within twice the average
    expect(state.limit).toBe(8);
    // Four times its normal: halved.
    expect(seen(90_000)).toMatch(/latency 90000 ms over twice the \d+ ms target/);
    expect(state.limit).toBe(4);
    // A 429 halves, and does not move the average.
    const before = state.avgMs;
    expect(seen(5, true)).toBe('upstream answered 429');
    expect(state.avgMs).toBe(before);
  });

  it('never judges latency with an infinite target (the queues’ controller): only 429s halve', () => {
    const queue: AimdPolicy = { min: 1, max: 10, targetLatencyMs: Number.POSITIVE_INFINITY, window: 2 };
    let state = initialAimd(queue);
    for (const latencyMs of [10, 1e7, 1e9])
      state = observeAimd(queue, state, { latencyMs, rateLimited: false }).state;
    expect(state.limit).toBe(10);
    expect(observeAimd(queue, state, { latencyMs: 1, rateLimited: true }).state.limit).toBe(5);
  });

  it('keeps an out-of-bounds stored limit within bounds', () => {
    expect(run([ok], { limit: 50, healthy: 0 }).limit).toBe(8);
  });

  it('defect (issue 9, item 4): millisecond latencies halved a limit; an adaptive target now has a floor, and a minimum keeps work moving', () => {
    const policy = adaptivePolicy(8);
    let state = initialAimd(policy);
    const changes: string[] = [];
    const seen = (latencyMs: number, rateLimited = false) => {
      const d = observeAimd(policy, state, { latencyMs, rateLimited });
      state = d.state;
      if (d.change) changes.push(`${d.change.from}→${d.change.to}`);
    };
    // A 2 ms kind, then 4 ms and 9 ms: noise, not a struggling upstream (the report: halved at 4 ms).
    for (let i = 0; i < 20; i++) seen(2);
    seen(4);
    seen(9);
    seen(150);
    expect(changes).toEqual([]);
    // Past twice the floor it is a signal.
    seen(250);
    expect(changes).toEqual(['8→4']);
    // A run of 429s backs off to a quarter of the limit, not to 1 (the report: `rules` driven to 1).
    for (let i = 0; i < 10; i++) seen(5, true);
    expect(state.limit).toBe(2);
    expect(policy.min).toBe(2);
  });
});

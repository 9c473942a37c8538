/// <reference types="node" />
/** The pure helpers behind the pool dashboard and its charts: tables of cases, no browser. */
import { describe, expect, test } from 'vitest';
import { linearScale, linePath, niceCeiling, yTicks } from '../src/lib/charts.ts';
import type { PoolLimits, PoolStats, ScalingDecision } from '../src/lib/pool/api.ts';
import { appendSample, type PoolSample, throttleEventsBetween, toSample } from '../src/lib/pool/history.ts';
import { agentKindLimits } from '../src/lib/pool/limits.ts';
import { draftOf, invalidFields, settingsBody } from '../src/lib/pool/settings-draft.ts';
import { queueTotals } from '../src/lib/queues.ts';

describe('niceCeiling', () => {
  test.each([
    [0, 1],
    [-3, 1],
    [Number.NaN, 1],
    [0.3, 0.5],
    [1, 1],
    [1.2, 2],
    [3, 5],
    [7, 10],
    [10, 10],
    [21, 25],
    [26, 50],
    [180, 200],
    [9_001, 10_000],
  ])('%s rounds up to %s', (max, top) => {
    expect(niceCeiling(max)).toBe(top);
  });
});

describe('queueTotals', () => {
  test('sums every queue; no queues sum to zero', () => {
    const queue = (depth: number, inFlight: number, deadLettered: number) => ({
      queue: `q${depth}`,
      depth,
      inFlight,
      deadLettered,
      oldestAgeMs: 0,
    });
    expect(queueTotals([queue(3, 1, 0), queue(4, 2, 5)])).toEqual({ depth: 7, inFlight: 3, deadLettered: 5 });
    expect(queueTotals([])).toEqual({ depth: 0, inFlight: 0, deadLettered: 0 });
  });
});

describe('yTicks', () => {
  test.each([
    [1, true, [0, 1]],
    [10, true, [0, 5, 10]],
    [25, true, [0, 25]],
    [25, false, [0, 12.5, 25]],
  ])('top %s (integers: %s) is marked at %j', (top, integers, ticks) => {
    expect(yTicks(top, integers)).toEqual(ticks);
  });
});

describe('linePath', () => {
  const x = linearScale(0, 10, 0, 100);
  const y = (value: number) => 50 - value;

  test('one run through every reading', () => {
    const points = [0, 1, 2].map((at) => ({ at, value: at * 10 }));
    expect(linePath(points, x, y)).toEqual({ d: 'M0 50 L10 40 L20 30', count: 3 });
  });

  test('breaks at a missing value and at a gap; a lone reading is a dot', () => {
    const points = [
      { at: 0, value: 1 },
      { at: 1, value: 2 },
      { at: 2, value: null },
      { at: 3, value: 3 },
      { at: 8, value: 4 },
      { at: 9, value: 5 },
    ];
    expect(linePath(points, x, y, 2)).toEqual({ d: 'M0 49 L10 48 M30 47 l0 0 M80 46 L90 45', count: 5 });
  });

  test('nothing to draw', () => {
    expect(linePath([{ at: 0, value: null }], x, y)).toEqual({ d: '', count: 0 });
  });
});

describe('throttleEventsBetween', () => {
  test.each([
    // Within one minute both counters grow by exactly the events in between.
    [{ lastMinute: 3, lastHour: 40 }, { lastMinute: 7, lastHour: 44 }, 4],
    [{ lastMinute: 3, lastHour: 40 }, { lastMinute: 3, lastHour: 40 }, 0],
    // A minute boundary: the new bucket alone is a lower bound...
    [{ lastMinute: 9, lastHour: 40 }, { lastMinute: 2, lastHour: 30 }, 2],
    // ...and so is the hour's growth when the bucket that left was small.
    [{ lastMinute: 9, lastHour: 40 }, { lastMinute: 2, lastHour: 45 }, 5],
    // Never negative, whatever the counters did.
    [{ lastMinute: 0, lastHour: 12 }, { lastMinute: 0, lastHour: 2 }, 0],
  ])('%j then %j: %s', (previous, next, events) => {
    expect(throttleEventsBetween(previous, next)).toBe(events);
  });
});

function stats(overrides: { running?: number; lastMinute?: number; lastHour?: number } = {}): PoolStats {
  return {
    limits: { global: 32, perUseCase: 16, perAgentKind: {}, defaultPerAgentKind: 32 },
    limitsInForce: { global: 32, perUseCase: 16, perAgentKind: {} },
    utilisation: { running: overrides.running ?? 0, limit: 32, ratio: (overrides.running ?? 0) / 32 },
    queues: [{ queue: 'executions-stepNormal', depth: 4, inFlight: 2, oldestAgeMs: 10, deadLettered: 0 }],
    waits: {},
    throttled: {
      lastMinute: overrides.lastMinute ?? 0,
      lastHour: overrides.lastHour ?? 0,
      byDimension: {},
      totals: {},
    },
    workspaces: [],
  };
}

describe('pool history', () => {
  test('a sample keeps the figures the charts draw; the first has no throttling interval', () => {
    const first = toSample(stats({ running: 5, lastMinute: 1, lastHour: 1 }), 1_000);
    expect(first).toEqual({
      at: 1_000,
      running: 5,
      limit: 32,
      queues: { 'executions-stepNormal': { depth: 4, inFlight: 2 } },
      throttled: { lastMinute: 1, lastHour: 1 },
      throttleEvents: null,
    });
    expect(toSample(stats({ lastMinute: 4, lastHour: 4 }), 3_000, first).throttleEvents).toBe(3);
  });

  test('the window keeps what is recent enough, in order, and ends at the new sample', () => {
    const at = (ms: number): PoolSample => ({ ...toSample(stats(), ms), at: ms });
    const history = [at(0), at(2_000), at(4_000), at(6_000)];
    expect(appendSample(history, at(7_000), 5_000).map((s) => s.at)).toEqual([2_000, 4_000, 6_000, 7_000]);
    expect(appendSample([], at(1), 5_000).map((s) => s.at)).toEqual([1]);
    // A sample stamped no later than the last (a clock step back) replaces what it would follow.
    expect(appendSample(history, at(5_000), 5_000).map((s) => s.at)).toEqual([0, 2_000, 4_000, 5_000]);
  });
});

describe('workspace settings drafts', () => {
  test('the form starts from the settings, an empty cap meaning none', () => {
    expect(draftOf({ weight: 1.5, queueBudget: 1000 })).toEqual({
      weight: '1.5',
      queueBudget: '1000',
      maxConcurrent: '',
    });
    expect(draftOf({ weight: 2, queueBudget: 10, maxConcurrent: 4 }).maxConcurrent).toBe('4');
  });

  test.each([
    // The PUT keeps what it is not sent: an empty cap is sent as null, which removes it.
    [
      { weight: '2', queueBudget: '500', maxConcurrent: '' },
      { weight: 2, queueBudget: 500, maxConcurrent: null },
    ],
    [
      { weight: ' 0.5 ', queueBudget: '0', maxConcurrent: '8' },
      { weight: 0.5, queueBudget: 0, maxConcurrent: 8 },
    ],
    // Not a number: sent as typed, for the server to refuse by name.
    [
      { weight: 'two', queueBudget: '', maxConcurrent: ' ' },
      { weight: 'two', queueBudget: '', maxConcurrent: null },
    ],
  ])('%j is sent as %j', (draft, body) => {
    expect(settingsBody(draft)).toEqual(body);
  });

  test('the fields a problem names', () => {
    const fields = invalidFields([
      { path: 'body.queueBudget', message: 'Too small' },
      { path: 'body.maxConcurrent', message: 'Expected integer' },
      { path: 'params.workspace', message: 'Required' },
    ]);
    expect([...fields].sort()).toEqual(['maxConcurrent', 'queueBudget']);
  });
});

describe('agentKindLimits', () => {
  const limits: PoolLimits = {
    global: 32,
    perUseCase: 16,
    perAgentKind: { llm: 8, http: 16 },
    defaultPerAgentKind: 32,
  };
  const decision = (agentKind: string, from: number, to: number, at: number): ScalingDecision => ({
    agentKind,
    from,
    to,
    reason: 'upstream answered 429',
    at,
  });

  test('configured kinds read the reported limit; others their latest decision; no decision means the maximum', () => {
    const rows = agentKindLimits(limits, {
      effectiveLimits: { llm: 4, http: 16 },
      queueScale: {},
      decisions: [
        decision('transform', 32, 16, 30),
        decision('llm', 8, 4, 20),
        decision('transform', 16, 32, 10),
      ],
    });
    expect(
      rows.map(({ kind, configured, effective, source }) => ({ kind, configured, effective, source })),
    ).toEqual([
      { kind: 'llm', configured: 8, effective: 4, source: 'reported' },
      { kind: 'http', configured: 16, effective: 16, source: 'reported' },
      { kind: 'transform', configured: 32, effective: 16, source: 'decision' },
    ]);
    expect(rows[0]?.lastChange?.at).toBe(20);
    expect(rows[2]?.lastChange?.at).toBe(30);
  });

  test('the limits in force the stats report cover kinds not configured by name, ahead of any decision shown', () => {
    const rows = agentKindLimits(
      limits,
      {
        effectiveLimits: { llm: 4, http: 16 },
        queueScale: {},
        decisions: [decision('transform', 32, 16, 30)],
      },
      { llm: 4, http: 16, transform: 8, busy: 2 },
    );
    expect(rows.map(({ kind, effective, source }) => [kind, effective, source])).toEqual([
      ['llm', 4, 'reported'],
      ['http', 16, 'reported'],
      // The server knows more than the decisions shown (a later one, or one past the page).
      ['busy', 2, 'reported'],
      ['transform', 8, 'reported'],
    ]);
    expect(rows[3]?.lastChange?.at).toBe(30);
  });

  test('before the decisions arrive, every configured kind is at its maximum', () => {
    expect(agentKindLimits(limits, undefined).map((row) => [row.kind, row.effective, row.source])).toEqual([
      ['llm', 8, 'configured'],
      ['http', 16, 'configured'],
    ]);
  });
});

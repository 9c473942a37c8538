import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../../platform/errors.js';
import { configIssues, runAgent, T0 } from '../../../test-support/agent-call.js';
import { waitAgent } from './wait.js';

const HOUR = 3600_000;

describe('wait agent', () => {
  it.each([
    ['seconds', { seconds: 90 }, {}, T0 + 90_000],
    ['an ISO instant', { until: '2026-01-02T00:00:00Z' }, {}, T0 + 24 * HOUR],
    ['an ISO instant with an offset', { until: '2026-01-01T03:00:00+02:00' }, {}, T0 + HOUR],
    ['a date', { until: '2026-01-03' }, {}, T0 + 48 * HOUR],
    [
      'an expression giving ms',
      { until: '$toMillis(claim.receivedAt) + 48 * 3600 * 1000' },
      { claim: { receivedAt: '2026-01-01T00:00:00Z' } },
      T0 + 48 * HOUR,
    ],
    [
      'an expression giving an ISO instant',
      { until: 'followUpAt' },
      { followUpAt: '2026-01-01T06:00:00Z' },
      T0 + 6 * HOUR,
    ],
    ['an expression over the clock', { until: '$millis() + 1000' }, {}, T0 + 1000],
  ])('waits for %s', async (_name, config, inputs, until) => {
    expect(await runAgent(waitAgent, config, inputs)).toEqual({ status: 'waiting', reason: 'timer', until });
  });

  it.each([
    ['zero seconds', { seconds: 0 }, {}, T0],
    ['an instant in the past', { until: '2025-12-31T23:59:59Z' }, {}, T0 - 1000],
    ['exactly now', { until: '2026-01-01T00:00:00Z' }, {}, T0],
    ['a computed past instant', { until: 'dueAt' }, { dueAt: T0 - 5 }, T0 - 5],
  ])('succeeds at once for %s', async (_name, config, inputs, waitedUntil) => {
    expect(await runAgent(waitAgent, config, inputs)).toEqual({
      status: 'succeeded',
      output: { waitedUntil },
    });
  });

  it.each([
    ['nothing', { until: 'missing' }, {}, 'gave null'],
    [
      'a local time (no offset)',
      { until: 'at' },
      { at: '2026-01-02T10:00:00' },
      'gave "2026-01-02T10:00:00"',
    ],
    ['text', { until: 'at' }, { at: 'tomorrow' }, 'gave "tomorrow"'],
    ['an impossible day', { until: 'at' }, { at: '2026-02-29' }, 'gave "2026-02-29"'],
  ])('fails permanently when `until` gives %s', async (_name, config, inputs, message) => {
    const error = await runAgent(waitAgent, config, inputs).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toContain(message);
  });

  it.each([
    ['neither', {}, '', 'give exactly one of "until" and "seconds"'],
    ['both', { seconds: 1, until: '2026-01-01' }, '', 'give exactly one of "until" and "seconds"'],
    ['negative seconds', { seconds: -1 }, 'seconds', 'Too small'],
    ['more than a year', { seconds: 400 * 24 * 3600 }, 'seconds', 'Too big'],
    ['an impossible day', { until: '2026-02-30' }, 'until', '"2026-02-30" is not a valid date'],
    ['an impossible hour', { until: '2026-02-03T25:00:00Z' }, 'until', 'is not a valid date'],
    ['a bad expression', { until: 'receivedAt +' }, 'until', 'Invalid expression'],
  ])('rejects a config with %s', (_name, config, path, message) => {
    expect(configIssues(waitAgent, config)).toContainEqual({
      path,
      message: expect.stringContaining(message),
    });
  });
});

/// <reference types="node" />
/** The pure helpers behind the executions pages: tables of cases, no browser. */
import { describe, expect, test } from 'vitest';
import { formatDue, stepDue } from '../src/lib/executions/due.ts';
import { parseJsonInput } from '../src/lib/executions/json-input.ts';
import { statusTone } from '../src/lib/executions/status.ts';
import {
  formatClockTime,
  formatElapsed,
  formatTimestamp,
  fromDateTimeLocal,
  toDateTimeLocal,
} from '../src/lib/format.ts';

describe('formatElapsed', () => {
  test.each([
    [0, '<1 ms'],
    [0.4, '<1 ms'],
    [7, '7 ms'],
    [999.4, '999 ms'],
    [1_240, '1.24 s'],
    [12_340, '12.3 s'],
    [754_000, '12m 34s'],
    [-1, '—'],
    [Number.NaN, '—'],
  ])('%s ms reads %s', (ms, text) => {
    expect(formatElapsed(ms)).toBe(text);
  });
});

describe('datetime-local values', () => {
  test('round-trip an instant to the minute, in the local zone', () => {
    const at = new Date(2026, 10, 24, 9, 5, 42).getTime();
    expect(toDateTimeLocal(at)).toBe('2026-11-24T09:05');
    expect(fromDateTimeLocal(toDateTimeLocal(at))).toBe(new Date(2026, 10, 24, 9, 5).getTime());
  });

  test.each(['', 'not a date'])('%j names no instant', (value) => {
    expect(fromDateTimeLocal(value)).toBeUndefined();
  });
});

describe('parseJsonInput', () => {
  test.each([
    ['{"amount": 9000}', { amount: 9000 }],
    ['  [1, 2] ', [1, 2]],
    ['null', null],
    ['"text"', 'text'],
  ])('%s parses', (text, value) => {
    expect(parseJsonInput(text)).toEqual({ ok: true, value });
  });

  test.each(['', '   ', '{ "a": ', "{ 'a': 1 }"])('%j is refused with a message', (text) => {
    const parsed = parseJsonInput(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).not.toBe('');
  });
});

describe('statusTone', () => {
  test.each([
    ['succeeded', 'ok'],
    ['failed', 'bad'],
    ['waiting', 'warn'],
    ['running', 'info'],
    ['queued', 'info'],
    ['cancelled', 'neutral'],
    ['skipped', 'neutral'],
    ['blocked', 'neutral'],
  ] as const)('%s is %s', (status, tone) => {
    expect(statusTone(status)).toBe(tone);
  });
});

describe('stepDue', () => {
  const T = 1_800_000_000_000;
  test.each([
    [
      { status: 'waiting', resumeAt: T, deadline: T },
      { label: 'decide by', at: T },
    ],
    [{ status: 'waiting', resumeAt: null, deadline: null }, undefined],
    [
      { status: 'waiting', resumeAt: T, deadline: null },
      { label: 'resumes', at: T },
    ],
    [
      { status: 'queued', resumeAt: T, deadline: null },
      { label: 'retries', at: T },
    ],
    [{ status: 'queued', resumeAt: null, deadline: null }, undefined],
    [{ status: 'succeeded', resumeAt: null, deadline: null }, undefined],
  ] as const)('%j is due %j', (entry, due) => {
    expect(stepDue(entry)).toEqual(due);
  });

  test('a due time reads as a clock time today, with its date on another day', () => {
    const now = new Date(2026, 10, 24, 9, 0).getTime();
    const later = new Date(2026, 10, 24, 17, 30).getTime();
    const tomorrow = new Date(2026, 10, 25, 9, 0).getTime();
    expect(formatDue(later, now)).toBe(formatClockTime(later));
    expect(formatDue(tomorrow, now)).toBe(formatTimestamp(tomorrow));
  });
});

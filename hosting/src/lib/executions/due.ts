/** When a step is due next: a person's decision deadline, a timer's end or a retry's backoff. Pure. */
import { formatClockTime, formatTimestamp } from '../format.ts';
import type { TimelineEntry } from './api.ts';

export interface StepDue {
  /** How the timeline says it: `decide by`, `resumes` or `retries`. */
  label: 'decide by' | 'resumes' | 'retries';
  /** Epoch milliseconds. */
  at: number;
}

/** What a step is due to do next and when; undefined when nothing is scheduled for it. */
export function stepDue(entry: Pick<TimelineEntry, 'status' | 'resumeAt' | 'deadline'>): StepDue | undefined {
  if (entry.deadline !== null && entry.status === 'waiting') return { label: 'decide by', at: entry.deadline };
  if (entry.resumeAt === null) return undefined;
  if (entry.status === 'waiting') return { label: 'resumes', at: entry.resumeAt };
  if (entry.status === 'queued') return { label: 'retries', at: entry.resumeAt };
  return undefined;
}

/**
 * A due time as the operator reads it: the clock time when it falls on the same day as `now`, the
 * date and time otherwise.
 */
export function formatDue(at: number, now: number): string {
  return new Date(at).toDateString() === new Date(now).toDateString() ? formatClockTime(at) : formatTimestamp(at);
}

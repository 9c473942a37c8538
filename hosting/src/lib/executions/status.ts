/** How a status reads at a glance: the tone of its badge. */
import type { ExecutionStatus, StepStatus } from './api.ts';

export type Tone = 'ok' | 'warn' | 'bad' | 'info' | 'neutral';

const tones: Record<ExecutionStatus | StepStatus, Tone> = {
  pending: 'info',
  blocked: 'neutral',
  queued: 'info',
  running: 'info',
  // Waiting is the one status that usually needs an operator: a decision or a timer to move.
  waiting: 'warn',
  succeeded: 'ok',
  failed: 'bad',
  skipped: 'neutral',
  cancelled: 'neutral',
};

export function statusTone(status: ExecutionStatus | StepStatus): Tone {
  return tones[status];
}

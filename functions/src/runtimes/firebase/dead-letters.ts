/**
 * Where work goes when it fails for good in the firebase runtime. Cloud Tasks
 * and Eventarc drop work after their last retry and keep nothing, so the
 * wrapper writes it down first: `deadLetters/{id}`, with the last error and
 * what is needed to replay it, visible in Mission Control.
 */
import { z } from 'zod';
import { errorMessage, isRetryable, SeraphimError } from '../../platform/errors.js';
import type { Context } from '../../platform/orchestrator.js';
import type { Ports } from '../../platform/ports.js';
import { defineDocumentKind } from '../../platform/stored.js';
import { DEAD_LETTERS } from './ports.js';

export const DEAD_LETTER_KINDS = ['task', 'event', 'document', 'schedule'] as const;
export type DeadLetterKind = (typeof DEAD_LETTER_KINDS)[number];

/** The document stored at `deadLetters/{id}`. */
export const DeadLetterSchema = z.object({
  kind: z.enum(DEAD_LETTER_KINDS),
  /** The function that gave up: queue, subscription, trigger or schedule, `<orchestrator>-<key>`. */
  source: z.string(),
  /** Task id, event id, or firing: with `source`, names the work to replay. */
  workId: z.string(),
  /** Attempts known to have been made (Eventarc does not always say: then 1). */
  attempts: z.number().int(),
  error: z.object({ name: z.string(), code: z.string(), message: z.string(), retryable: z.boolean() }),
  /** The task payload or event data, when under {@link MAX_STORED_PAYLOAD_BYTES}; else null. */
  payload: z.unknown(),
  payloadBytes: z.number().int(),
  /** The topic of an event, or the path of a changed document. */
  ref: z.string().nullable(),
  correlationId: z.string(),
  deadAt: z.number(),
});
export type DeadLetter = z.infer<typeof DeadLetterSchema>;
export const DeadLetterDocument = defineDocumentKind({ name: 'dead letter', schema: DeadLetterSchema });

/** Dead letters stay small documents; a bigger payload is left to the logs and the source. */
export const MAX_STORED_PAYLOAD_BYTES = 64 * 1024;

/** One piece of work as the wrapper sees it. */
export interface Work {
  kind: DeadLetterKind;
  source: string;
  workId: string;
  attempt: number;
  /** True when the platform will not deliver this work again after a failure. */
  lastAttempt: boolean;
  payload: unknown;
  ref: string | null;
  /** Logged with every line about this work. */
  fields: Record<string, unknown>;
}

/** Stable per piece of work, so a redelivered failure overwrites its own letter instead of adding one. */
export function deadLetterPath(source: string, workId: string): string {
  const id = `${source}-${workId}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 400);
  return `${DEAD_LETTERS}/${id}`;
}

/**
 * Runs `fn` for one piece of work and settles its failure: a retryable error
 * before the last attempt is rethrown for the platform to retry; anything
 * else is dead-lettered and swallowed. If the letter cannot be written, the
 * original error is rethrown so the platform keeps the work.
 */
export async function runGuarded(
  ports: Ports,
  work: Work,
  fn: (ctx: Context) => Promise<void>,
): Promise<void> {
  const logger = ports.logger.child({ correlationId: work.workId, ...work.fields });
  const ctx: Context = { ...ports, correlationId: work.workId, logger };
  try {
    await fn(ctx);
  } catch (error) {
    const details = {
      error: errorMessage(error),
      code: error instanceof SeraphimError ? error.code : 'internal',
      attempt: work.attempt,
    };
    if (isRetryable(error) && !work.lastAttempt) {
      logger.warn(`${work.kind} failed; the platform will retry it`, details);
      throw error;
    }
    const path = deadLetterPath(work.source, work.workId);
    try {
      await ports.documents.set(path, DeadLetterDocument.stamp(deadLetter(work, error, ports.clock.now())));
    } catch (writeError) {
      logger.error(
        `${work.kind} failed and its dead letter could not be written; handing it back to the platform`,
        {
          ...details,
          deadLetterError: errorMessage(writeError),
          payload: work.payload,
        },
      );
      throw error;
    }
    logger.error(`${work.kind} failed for good; dead-lettered`, { ...details, deadLetter: path });
  }
}

function deadLetter(work: Work, error: unknown, now: number): DeadLetter {
  const json = JSON.stringify(work.payload ?? null);
  const bytes = Buffer.byteLength(json);
  return {
    kind: work.kind,
    source: work.source,
    workId: work.workId,
    attempts: work.attempt,
    error: {
      name: error instanceof Error ? error.name : typeof error,
      code: error instanceof SeraphimError ? error.code : 'internal',
      message: errorMessage(error).slice(0, 4000),
      retryable: isRetryable(error),
    },
    payload: bytes <= MAX_STORED_PAYLOAD_BYTES ? (JSON.parse(json) as unknown) : null,
    payloadBytes: bytes,
    ref: work.ref,
    correlationId: work.workId,
    deadAt: now,
  };
}

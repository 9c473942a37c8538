/**
 * The one error hierarchy. Each class says what the runtime should do with the
 * work that threw it (retry, retry later, give up) and how HTTP reports it.
 */

export type ErrorCode =
  | 'retryable'
  | 'retry-after'
  | 'permanent'
  | 'invalid-input'
  | 'not-found'
  | 'conflict'
  | 'unauthenticated'
  | 'forbidden'
  | 'payload-too-large'
  | 'expression-timeout'
  | 'rate-limited'
  | 'deferred'
  | 'storage-full'
  | 'internal';

/**
 * The HTTP status of each code: an error's status comes from here alone, so
 * the OpenAPI document can only name statuses that an error really has.
 */
export const ERROR_STATUS = {
  retryable: 503,
  'retry-after': 429,
  permanent: 422,
  'invalid-input': 400,
  'not-found': 404,
  conflict: 409,
  unauthenticated: 401,
  forbidden: 403,
  'payload-too-large': 413,
  'expression-timeout': 422,
  'rate-limited': 429,
  deferred: 429,
  'storage-full': 507,
  internal: 500,
} as const satisfies Record<ErrorCode, number>;

/** A status an error answers with. */
export type ProblemStatus = (typeof ERROR_STATUS)[ErrorCode];
type ClientStatus<S> = S extends number ? (`${S}` extends `4${string}` ? S : never) : never;
/** The 4xx among them: what a route may declare it returns (5xx are the document's `default`). */
export type ClientProblemStatus = ClientStatus<ProblemStatus>;

export interface ProblemField {
  /** JSON pointer-ish dotted path of the offending field, e.g. `body.name`. */
  path: string;
  message: string;
}

export class SeraphimError extends Error {
  readonly code: ErrorCode;
  readonly status: ProblemStatus;
  /** Whether the platform should deliver the work again. */
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { retryable: boolean; cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.retryable = opts.retryable;
    this.details = opts.details;
  }
}

/** A transient failure: deliver again with backoff. */
export class RetryableError extends SeraphimError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super('retryable', message, { retryable: true, ...opts });
  }
}

/** A transient failure with a known earliest retry time (e.g. upstream 429 Retry-After). */
export class RetryAfterError extends SeraphimError {
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number, opts: { cause?: unknown } = {}) {
    super('retry-after', message, { retryable: true, ...opts });
    this.retryAfterMs = Math.max(0, Math.round(retryAfterMs));
  }
}

/**
 * Not a failure: the task cannot run yet (the resource pool is full) and asks
 * to be dispatched again later, without spending an attempt. For task
 * handlers only. The runtime picks the wait: growing with each deferral of
 * the task (deferDelayMs), never under `delayMs`; a runtime that can wake
 * tasks ({@link TaskQueue.wake}) also wakes it early when its `gate` frees.
 * `waiting`: the task's next copy waits in a kv waiting list and whoever frees
 * the gate enqueues it (flow-control.ts), so a requeueing runtime schedules
 * the copy only as a late fallback (waitFallbackMs), not as a poll.
 * A handler that throws this must not have done anything yet.
 */
export class DeferError extends SeraphimError {
  readonly delayMs: number;
  readonly gate: string | undefined;
  readonly waiting: boolean;
  constructor(message: string, opts: { delayMs: number; gate?: string; waiting?: boolean }) {
    super('deferred', message, { retryable: true });
    this.delayMs = Math.max(0, Math.round(opts.delayMs));
    this.gate = opts.gate;
    this.waiting = opts.waiting ?? false;
  }
}

/** Retrying cannot help: mark the work failed and stop. */
export class PermanentError extends SeraphimError {
  constructor(message: string, opts: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super('permanent', message, { retryable: false, ...opts });
  }
}

/**
 * A user expression ran past its deadline and was stopped. Not retried: the
 * same expression on the same data runs as long again.
 */
export class ExpressionTimeoutError extends SeraphimError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('expression-timeout', message, { retryable: false, details });
  }
}

export class InvalidInputError extends SeraphimError {
  readonly fields: ProblemField[];
  constructor(message: string, fields: ProblemField[] = []) {
    super('invalid-input', message, { retryable: false });
    this.fields = fields;
  }
}

export class NotFoundError extends SeraphimError {
  constructor(message: string) {
    super('not-found', message, { retryable: false });
  }
}

export class ConflictError extends SeraphimError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('conflict', message, { retryable: false, details });
  }
}

export class UnauthenticatedError extends SeraphimError {
  constructor(message = 'Authentication required') {
    super('unauthenticated', message, { retryable: false });
  }
}

/** Signed in, and a member, but the role is too low for what was asked. */
export class ForbiddenError extends SeraphimError {
  constructor(message = 'Your role does not allow this') {
    super('forbidden', message, { retryable: false });
  }
}

/** The caller asked too often; `retryAfterMs` tells when to try again (Retry-After). */
export class RateLimitedError extends SeraphimError {
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number) {
    super('rate-limited', message, { retryable: false });
    this.retryAfterMs = Math.max(0, Math.round(retryAfterMs));
  }
}

export class PayloadTooLargeError extends SeraphimError {
  constructor(message: string) {
    super('payload-too-large', message, { retryable: false });
  }
}

/**
 * The disk (or the store's size limit) is full: nothing was written. Retrying
 * once space is freed succeeds; the task queue retries such work without
 * spending an attempt. HTTP: 507 with Retry-After.
 */
export class StorageFullError extends SeraphimError {
  readonly retryAfterMs: number;
  constructor(message: string, opts: { cause?: unknown; retryAfterMs?: number } = {}) {
    super('storage-full', message, { retryable: true, cause: opts.cause });
    this.retryAfterMs = opts.retryAfterMs ?? 5_000;
  }
}

/** True when the platform should try the work again. Unknown errors are treated as transient. */
export function isRetryable(error: unknown): boolean {
  return error instanceof SeraphimError ? error.retryable : true;
}

/** A safe, one-line message for any thrown value. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}

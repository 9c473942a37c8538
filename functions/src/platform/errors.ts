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
  | 'rate-limited'
  | 'deferred'
  | 'internal';

export interface ProblemField {
  /** JSON pointer-ish dotted path of the offending field, e.g. `body.name`. */
  path: string;
  message: string;
}

export class SeraphimError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Whether the platform should deliver the work again. */
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { status: number; retryable: boolean; cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = opts.status;
    this.retryable = opts.retryable;
    this.details = opts.details;
  }
}

/** A transient failure: deliver again with backoff. */
export class RetryableError extends SeraphimError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super('retryable', message, { status: 503, retryable: true, ...opts });
  }
}

/** A transient failure with a known earliest retry time (e.g. upstream 429 Retry-After). */
export class RetryAfterError extends SeraphimError {
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number, opts: { cause?: unknown } = {}) {
    super('retry-after', message, { status: 429, retryable: true, ...opts });
    this.retryAfterMs = Math.max(0, Math.round(retryAfterMs));
  }
}

/**
 * Not a failure: the task cannot run yet (the resource pool is full) and asks
 * to be dispatched again later, without spending an attempt. For task
 * handlers only. The runtime picks the wait: growing with each deferral of
 * the task (deferDelayMs), never under `delayMs`; a runtime that can wake
 * tasks ({@link TaskQueue.wake}) also wakes it early when its `gate` frees.
 * A handler that throws this must not have done anything yet.
 */
export class DeferError extends SeraphimError {
  readonly delayMs: number;
  readonly gate: string | undefined;
  constructor(message: string, opts: { delayMs: number; gate?: string }) {
    super('deferred', message, { status: 429, retryable: true });
    this.delayMs = Math.max(0, Math.round(opts.delayMs));
    this.gate = opts.gate;
  }
}

/** Retrying cannot help: mark the work failed and stop. */
export class PermanentError extends SeraphimError {
  constructor(message: string, opts: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super('permanent', message, { status: 422, retryable: false, ...opts });
  }
}

export class InvalidInputError extends SeraphimError {
  readonly fields: ProblemField[];
  constructor(message: string, fields: ProblemField[] = []) {
    super('invalid-input', message, { status: 400, retryable: false });
    this.fields = fields;
  }
}

export class NotFoundError extends SeraphimError {
  constructor(message: string) {
    super('not-found', message, { status: 404, retryable: false });
  }
}

export class ConflictError extends SeraphimError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('conflict', message, { status: 409, retryable: false, details });
  }
}

export class UnauthenticatedError extends SeraphimError {
  constructor(message = 'Authentication required') {
    super('unauthenticated', message, { status: 401, retryable: false });
  }
}

/** Signed in, and a member, but the role is too low for what was asked. */
export class ForbiddenError extends SeraphimError {
  constructor(message = 'Your role does not allow this') {
    super('forbidden', message, { status: 403, retryable: false });
  }
}

/** The caller asked too often; `retryAfterMs` tells when to try again (Retry-After). */
export class RateLimitedError extends SeraphimError {
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number) {
    super('rate-limited', message, { status: 429, retryable: false });
    this.retryAfterMs = Math.max(0, Math.round(retryAfterMs));
  }
}

export class PayloadTooLargeError extends SeraphimError {
  constructor(message: string) {
    super('payload-too-large', message, { status: 413, retryable: false });
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

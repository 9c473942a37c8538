/**
 * The tracer port: spans through the OpenTelemetry API, so orchestrators and
 * agents trace their work without importing a runtime. Each runtime hands
 * over an OTel tracer wired to its own exporter (SQLite on the embedded
 * runtime, Cloud Trace on Firebase); this module adds what the platform does
 * the same way everywhere: the active span follows awaits (AsyncLocalStorage),
 * work carried across a task or an event continues its trace through a W3C
 * `traceparent`, and a thrown error marks its span.
 */
import {
  type Attributes,
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  isSpanContextValid,
  type Context as OtelContext,
  type Tracer as OtelTracer,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { DeferError, errorMessage } from './errors.js';

export { type Attributes, type Span, SpanKind, SpanStatusCode };

export interface SpanOptions {
  /** @default SpanKind.INTERNAL */
  kind?: SpanKind;
  attributes?: Attributes;
  /**
   * Work carried by a task or an event: continue the trace its W3C
   * `traceparent` names, or start a new one when it names none (never the
   * dispatcher's, whose context says nothing of the work). Without it, the
   * span is a child of the active one.
   */
  carried?: { traceparent: string | undefined };
}

import type { RecordedSpan } from './spans.js';

export { type RecordedSpan, RecordedSpanSchema } from './spans.js';

export interface Tracer {
  /** The OpenTelemetry tracer underneath, for code that wants the whole API. */
  readonly otel: OtelTracer;
  /**
   * Runs `fn` inside a new active span, a child of the active span (or of
   * `opts.traceparent`). The span ends when `fn` settles; a thrown error marks
   * it failed and is rethrown, except a DeferError, which is not a failure.
   */
  span<T>(name: string, opts: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T>;
  /**
   * The spans of one trace that this runtime keeps, oldest first, or
   * `undefined` when it keeps none here (Firebase: they are in Cloud Trace).
   */
  read(traceId: string): Promise<RecordedSpan[] | undefined>;
  /** Exports what is buffered now (tests, and before reading a trace back). */
  flush(): Promise<void>;
}

export interface TracerBackend {
  read?(traceId: string): Promise<RecordedSpan[] | undefined>;
  flush?(): Promise<void>;
}

export const TRACER_NAME = 'seraphim';

/**
 * Wraps an OTel tracer in the port. Without a provider (`trace.getTracer`
 * before any is set) spans record nothing, but an incoming `traceparent` is
 * still carried on, so logs and problems keep quoting the caller's trace.
 */
export function createTracer(
  otel: OtelTracer = trace.getTracer(TRACER_NAME),
  backend: TracerBackend = {},
): Tracer {
  enableTraceContext();
  return {
    otel,
    span(name, opts, fn) {
      const parent = opts.carried ? contextFromTraceparent(opts.carried.traceparent) : context.active();
      const startOpts = { kind: opts.kind ?? SpanKind.INTERNAL, attributes: opts.attributes ?? {} };
      return otel.startActiveSpan(name, startOpts, parent, async (span) => {
        try {
          return await fn(span);
        } catch (error) {
          markFailed(span, error);
          throw error;
        } finally {
          span.end();
        }
      });
    },
    read: async (traceId) => (backend.read ? backend.read(traceId) : undefined),
    flush: async () => backend.flush?.(),
  };
}

/** Records a thrown value on its span: failed, with the error's type and message; a deferral is only noted. */
function markFailed(span: Span, error: unknown): void {
  if (error instanceof DeferError) {
    span.setAttribute('seraphim.deferred', true);
    return;
  }
  const message = errorMessage(error).slice(0, 500);
  span.setAttribute('error.type', error instanceof Error ? error.name : typeof error);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

let contextEnabled = false;

/**
 * Installs the AsyncLocalStorage context manager, once per process, so the
 * active span follows awaits, timers and callbacks. If something else
 * installed one first, that one is used.
 */
function enableTraceContext(): void {
  if (contextEnabled) return;
  contextEnabled = true;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

const propagator = new W3CTraceContextPropagator();

/** The active span's W3C `traceparent`, to send along with work; undefined when no trace is active. */
export function currentTraceparent(): string | undefined {
  const carrier: Record<string, string> = {};
  propagator.inject(context.active(), carrier, defaultTextMapSetter);
  return carrier.traceparent;
}

/** A context whose remote parent is the span `traceparent` names; the root context when it names none. */
export function contextFromTraceparent(traceparent: string | undefined): OtelContext {
  if (!traceparent) return ROOT_CONTEXT;
  return propagator.extract(ROOT_CONTEXT, { traceparent }, defaultTextMapGetter);
}

/**
 * Runs `fn` outside any trace. For dispatchers that schedule timers and
 * callbacks: AsyncLocalStorage would otherwise hand the context of whatever
 * woke them (a request, say) to all the unrelated work they go on to do.
 */
export function detachedFromTrace<T>(fn: () => T): T {
  return context.with(ROOT_CONTEXT, fn);
}

/** Runs `fn` in the trace a task or event carries, so what it logs about that work names that trace. */
export function inCarriedTrace<T>(traceparent: string | undefined, fn: () => T): T {
  return context.with(contextFromTraceparent(traceparent), fn);
}

export interface TraceIds {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

/** The ids of the active span, for logs and problem bodies; undefined outside any trace. */
export function activeTraceIds(): TraceIds | undefined {
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (!spanContext || !isSpanContextValid(spanContext)) return undefined;
  return {
    traceId: spanContext.traceId,
    spanId: spanContext.spanId,
    sampled: (spanContext.traceFlags & 1) === 1,
  };
}

/** What a delivered task says about itself, for its span. */
export interface TracedTask {
  queue: string;
  id: string;
  attempt: number;
  traceparent?: string | undefined;
}

/**
 * One span per task attempt, continuing the trace of whoever enqueued the
 * task. Both runtimes' task wrappers run each attempt through it.
 */
export function traceTaskAttempt<T>(tracer: Tracer, task: TracedTask, fn: () => Promise<T>): Promise<T> {
  return consume(
    tracer,
    task.queue,
    task.id,
    { 'seraphim.task.attempt': task.attempt },
    task.traceparent,
    fn,
  );
}

/**
 * One span per delivery of an event or a document change, continuing the
 * trace of the request or task that published it (its `traceparent` attribute).
 */
export function traceDelivery<T>(
  tracer: Tracer,
  delivery: { source: string; id: string; attempt: number; traceparent: string | undefined },
  fn: () => Promise<T>,
): Promise<T> {
  const attempt = { 'seraphim.delivery.attempt': delivery.attempt };
  return consume(tracer, delivery.source, delivery.id, attempt, delivery.traceparent, fn);
}

/** A consumer span (`process <source>`) under the messaging conventions, continuing a carried trace. */
function consume<T>(
  tracer: Tracer,
  source: string,
  id: string,
  attempt: Attributes,
  traceparent: string | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  return tracer.span(
    `process ${source}`,
    {
      kind: SpanKind.CONSUMER,
      carried: { traceparent },
      attributes: {
        'messaging.operation.type': 'process',
        'messaging.destination.name': source,
        'messaging.message.id': id,
        ...attempt,
      },
    },
    fn,
  );
}

/** The attribute an event carries its publisher's trace in (Pub/Sub attributes, or the embedded log's). */
export const TRACEPARENT_ATTRIBUTE = 'traceparent';

/** Adds the active trace to an event's attributes, unless the publisher set one itself. */
export function withTraceAttribute(attributes: Record<string, string>): Record<string, string> {
  if (attributes[TRACEPARENT_ATTRIBUTE] !== undefined) return attributes;
  const traceparent = currentTraceparent();
  return traceparent ? { ...attributes, [TRACEPARENT_ATTRIBUTE]: traceparent } : attributes;
}

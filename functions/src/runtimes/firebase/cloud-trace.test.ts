/**
 * The firebase runtime's tracing wiring, with an in-memory exporter in place
 * of Cloud Trace: the exporter is made on the first export, nothing leaves an
 * emulated instance unless asked, and task and event functions continue the
 * trace their work carries (a Cloud Tasks header, a Pub/Sub attribute).
 */
import type { DatabaseSync } from 'node:sqlite';
import { InMemorySpanExporter, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { TaskOptions } from 'firebase-admin/functions';
import functionsTest from 'firebase-functions-test';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { LOCAL_OWNER } from '../../platform/identity.js';
import { createLogger, MemorySink } from '../../platform/logger.js';
import { defineOrchestrator, defineSubscription, defineTask } from '../../platform/orchestrator.js';
import { activeTraceIds, type Tracer } from '../../platform/tracing.js';
import { testPorts } from '../../test-support/ports.js';
import { openDatabase } from '../embedded/sqlite.js';
import { CloudTasksQueue } from './cloud-tasks.js';
import { createCloudTraceTracer } from './cloud-trace.js';
import { toCloudFunctions } from './functions.js';

const fft = functionsTest({ projectId: 'demo-seraphim' });
afterAll(() => fft.cleanup());

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE}-${PARENT}-01`;

interface Wired {
  tracer: Tracer;
  memory: InMemorySpanExporter;
  /** How many times the exporter was made. */
  made: () => number;
}

function wire(env: Record<string, string> = {}): Wired {
  const memory = new InMemorySpanExporter();
  let made = 0;
  const tracer = createCloudTraceTracer({
    env,
    logger: createLogger({ sink: new MemorySink() }),
    exporter: async (): Promise<SpanExporter> => {
      made++;
      return memory;
    },
  });
  return { tracer, memory, made: () => made };
}

const names = (spans: ReadableSpan[]) => spans.map((s) => s.name);

describe('the Cloud Trace tracer', () => {
  it('makes its exporter on the first export, then sends spans in batches', async () => {
    const w = wire();
    expect(w.made()).toBe(0);
    await w.tracer.span('first', {}, async () => {});
    await w.tracer.span('second', {}, async () => {});
    await w.tracer.flush();
    expect(w.made()).toBe(1);
    expect(names(w.memory.getFinishedSpans())).toEqual(['first', 'second']);
  });

  it('exports nothing under the emulator unless asked, yet still gives work a trace id', async () => {
    const off = wire({ FUNCTIONS_EMULATOR: 'true' });
    const ids = await off.tracer.span('local', {}, async () => activeTraceIds());
    await off.tracer.flush();
    expect(off.made()).toBe(0);
    expect(ids?.traceId).toMatch(/^[0-9a-f]{32}$/);

    const asked = wire({ FUNCTIONS_EMULATOR: 'true', SERAPHIM_TRACE_EXPORT: '1' });
    await asked.tracer.span('local', {}, async () => {});
    await asked.tracer.flush();
    expect(names(asked.memory.getFinishedSpans())).toEqual(['local']);
  });

  it('samples new traces by SERAPHIM_TRACE_SAMPLE_RATIO but keeps a sampled caller', async () => {
    const w = wire({ SERAPHIM_TRACE_SAMPLE_RATIO: '0' });
    await w.tracer.span('unsampled', {}, async () => {});
    await w.tracer.span('caller sampled', { carried: { traceparent: TRACEPARENT } }, async () => {});
    await w.tracer.flush();
    expect(names(w.memory.getFinishedSpans())).toEqual(['caller sampled']);
  });
});

describe('trace context across Cloud Tasks and Pub/Sub', () => {
  let db: DatabaseSync;
  let w: Wired;
  beforeEach(() => {
    db = openDatabase({ file: ':memory:' });
    w = wire();
  });
  afterEach(() => db.close());

  const seenTraces: Array<string | undefined> = [];
  const probe = defineOrchestrator({
    name: 'probe',
    tasks: {
      work: defineTask({
        payload: z.object({}),
        async handler() {
          seenTraces.push(activeTraceIds()?.traceId);
        },
      }),
    },
    events: {
      seen: defineSubscription({
        topic: 'probe.seen',
        data: z.object({}),
        async handler() {
          seenTraces.push(activeTraceIds()?.traceId);
        },
      }),
    },
  });
  const group = () =>
    toCloudFunctions(probe, {
      ports: () => testPorts(db, { tracer: w.tracer }),
      resolvers: [async () => LOCAL_OWNER],
    });

  it('sends the active trace with an enqueued task as a traceparent header', async () => {
    const sent: Array<TaskOptions | undefined> = [];
    const queue = new CloudTasksQueue({
      region: 'us-central1',
      queues: ['probe-work'],
      taskQueue: async () => ({
        enqueue: async (_data, opts) => {
          sent.push(opts);
        },
      }),
      counts: async () => ({ depth: 0, inFlight: 0, oldestAgeMs: 0 }),
      updateRateLimits: async () => {},
      countDeadLetters: async () => 0,
    });
    const spanId = await w.tracer.span('request', { carried: { traceparent: TRACEPARENT } }, async (span) => {
      await queue.enqueue('probe-work', {}, { id: 't-1' });
      return span.spanContext().spanId;
    });
    await queue.enqueue('probe-work', {}, { id: 't-2' });
    expect(sent[0]?.headers).toEqual({ traceparent: `00-${TRACE}-${spanId}-01` });
    expect(sent[1]?.headers).toBeUndefined();
  });

  it('runs a dispatched task in a span that continues its traceparent header', async () => {
    seenTraces.length = 0;
    await (group().work as unknown as { run(request: unknown): Promise<void> }).run({
      data: {},
      id: 'task-1',
      retryCount: 1,
      queueName: 'probe-work',
      executionCount: 1,
      scheduledTime: new Date().toISOString(),
      headers: { traceparent: TRACEPARENT },
    });
    await w.tracer.flush();
    const [span] = w.memory.getFinishedSpans();
    expect(span?.name).toBe('process probe-work');
    expect(span?.spanContext().traceId).toBe(TRACE);
    expect(span?.parentSpanContext?.spanId).toBe(PARENT);
    expect(span?.attributes).toMatchObject({ 'messaging.message.id': 'task-1', 'seraphim.task.attempt': 2 });
    expect(seenTraces).toEqual([TRACE]);
  });

  it('runs a Pub/Sub delivery in a span that continues its traceparent attribute', async () => {
    seenTraces.length = 0;
    const seen = fft.wrap(group().seen as never);
    await seen({
      data: { message: { json: {}, messageId: 'm-1', attributes: { traceparent: TRACEPARENT } } },
    });
    await w.tracer.flush();
    const [span] = w.memory.getFinishedSpans();
    expect(span?.name).toBe('process probe-seen');
    expect(span?.parentSpanContext?.spanId).toBe(PARENT);
    expect(seenTraces).toEqual([TRACE]);
  });
});

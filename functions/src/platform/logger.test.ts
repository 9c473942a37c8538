import { describe, expect, it } from 'vitest';
import { cloudLoggingTraceFields, createLogger, MemorySink, redactValue } from './logger.js';
import { createTracer } from './tracing.js';

describe('logger', () => {
  it('writes structured entries with severity, blanking secret-looking fields and registered secret values', () => {
    const sink = new MemorySink();
    redactValue('sk-live-1234567890');
    const log = createLogger({ sink, fields: { service: 'test' }, now: () => 0 }).child({ requestId: 'r1' });
    log.info('called upstream with sk-live-1234567890', {
      headers: { authorization: 'Bearer abc', accept: 'json' },
      apiKey: 'k',
      note: 'token in text sk-live-1234567890',
    });
    expect(sink.entries).toEqual([
      {
        severity: 'INFO',
        message: 'called upstream with [redacted]',
        time: '1970-01-01T00:00:00.000Z',
        service: 'test',
        requestId: 'r1',
        headers: { authorization: '[redacted]', accept: 'json' },
        apiKey: '[redacted]',
        note: 'token in text [redacted]',
      },
    ]);
  });

  it('drops entries below the level', () => {
    const sink = new MemorySink();
    const log = createLogger({ sink, level: 'WARNING' });
    log.info('quiet');
    log.error('loud');
    expect(sink.entries.map((e) => e.message)).toEqual(['loud']);
  });
});

describe('logger and traces', () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const carried = { traceparent: `00-${traceId}-00f067aa0ba902b7-01` };
  // No provider: spans record nothing, but the carried trace is still the active one.
  const tracer = createTracer();

  it('names the active trace and span in plain fields, and nothing outside a trace', async () => {
    const sink = new MemorySink();
    const log = createLogger({ sink }).child({ step: 's1' });
    log.info('outside');
    await tracer.span('work', { carried }, async () => log.info('inside'));
    expect(sink.entries[0]).not.toHaveProperty('traceId');
    expect(sink.entries[1]).toMatchObject({ traceId, spanId: '00f067aa0ba902b7', step: 's1' });
  });

  it("uses Cloud Logging's trace fields when given a project", async () => {
    const sink = new MemorySink();
    const log = createLogger({ sink, traceFields: cloudLoggingTraceFields('my-project') });
    await tracer.span('work', { carried }, async () => log.child({ a: 1 }).warn('inside'));
    expect(sink.entries[0]).toMatchObject({
      'logging.googleapis.com/trace': `projects/my-project/traces/${traceId}`,
      'logging.googleapis.com/spanId': '00f067aa0ba902b7',
      'logging.googleapis.com/trace_sampled': true,
      a: 1,
    });
    expect(sink.entries[0]).not.toHaveProperty('traceId');
  });
});

import { describe, expect, it } from 'vitest';
import { createLogger, MemorySink, redactValue } from './logger.js';

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

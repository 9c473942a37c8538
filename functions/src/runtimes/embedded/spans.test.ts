/** The embedded span store on real SQLite: spans written in batches, read back by trace, pruned by count and age. */
import type { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, MemorySink } from '../../platform/logger.js';
import { currentTraceparent } from '../../platform/tracing.js';
import { createEmbeddedTracing, type EmbeddedTracing } from './spans.js';
import { openDatabase } from './sqlite.js';

let db: DatabaseSync;
let tracing: EmbeddedTracing;
let now: number;

beforeEach(() => {
  db = openDatabase({ file: ':memory:' });
  now = Date.UTC(2026, 0, 1);
  tracing = createEmbeddedTracing(db, { now: () => now, logger: createLogger({ sink: new MemorySink() }) });
});
afterEach(async () => {
  await tracing.shutdown();
  db.close();
});

/** Records `n` single-span traces and returns their trace ids, oldest first. */
async function record(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    await tracing.tracer.span(`work ${i}`, { carried: { traceparent: undefined } }, async (span) => {
      ids.push(span.spanContext().traceId);
    });
  }
  await tracing.tracer.flush();
  return ids;
}

const count = () => (db.prepare('SELECT count(*) AS n FROM spans').get() as { n: number }).n;

describe('the span table', () => {
  it('keeps a trace as a tree: parents, kinds, times, attributes and a failure status', async () => {
    let traceId = '';
    await tracing.tracer
      .span('outer', { attributes: { 'seraphim.step.id': 's1' } }, async (outer) => {
        traceId = outer.spanContext().traceId;
        await tracing.tracer.span('inner', {}, async () => {
          throw new Error('upstream is down');
        });
      })
      .catch(() => undefined);
    const spans = await tracing.tracer.read(traceId);
    // Oldest first; two spans started in the same microsecond may come either way.
    expect(spans?.map((s) => s.name).sort()).toEqual(['inner', 'outer']);
    const outer = spans?.find((s) => s.name === 'outer');
    const inner = spans?.find((s) => s.name === 'inner');
    expect(outer).toMatchObject({ parentSpanId: null, kind: 'internal', status: 'error' });
    expect(outer?.attributes).toMatchObject({ 'seraphim.step.id': 's1' });
    expect(inner).toMatchObject({
      parentSpanId: outer?.spanId,
      status: 'error',
      statusMessage: 'upstream is down',
      attributes: { 'error.type': 'Error' },
    });
    expect(inner?.endTime).toBeGreaterThanOrEqual(inner?.startTime ?? Number.POSITIVE_INFINITY);
  });

  it('continues a carried traceparent, and starts a new trace when it is malformed', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const carried = await tracing.tracer.span(
      'task',
      { carried: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } },
      async () => currentTraceparent(),
    );
    expect(carried).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    const fresh = await tracing.tracer.span('task', { carried: { traceparent: 'garbage' } }, async () =>
      currentTraceparent(),
    );
    expect(fresh).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(fresh).not.toContain(traceId);
  });

  it('keeps only the newest spans past the count limit, a batch per sweep', async () => {
    const ids = await record(250);
    expect(count()).toBe(250);
    expect(tracing.table.prune({ keepSpans: 100, keepDays: 7 }, now)).toBe(150);
    expect(count()).toBe(100);
    expect(await tracing.tracer.read(ids[149] as string)).toEqual([]);
    expect(await tracing.tracer.read(ids[150] as string)).toHaveLength(1);
    expect(tracing.table.prune({ keepSpans: 100, keepDays: 7 }, now)).toBe(0);
  });

  it('drops spans older than the age limit', async () => {
    await record(5);
    now += 2 * 86_400_000;
    const recent = await record(3);
    expect(tracing.table.prune({ keepSpans: 1000, keepDays: 1 }, now)).toBe(5);
    expect(count()).toBe(3);
    expect(await tracing.tracer.read(recent[0] as string)).toHaveLength(1);
    now += 2 * 86_400_000;
    expect(tracing.table.prune({ keepSpans: 1000, keepDays: 1 }, now)).toBe(3);
  });
});

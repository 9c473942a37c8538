/**
 * The embedded runtime's recent spans, in its SQLite file, so a trace can be
 * read back (and Mission Control can draw its waterfall) without any
 * collector. Spans reach the table through OTel's batch processor: one
 * transaction per batch, off the request path, so recording a span never
 * waits on SQLite. The table is bounded: the sweep keeps the newest
 * `keepSpans` spans, none older than `keepDays`.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { type HrTime, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { ExportResultCode, hrTimeToMicroseconds } from '@opentelemetry/core';
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { errorMessage } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import {
  createTracer,
  type RecordedSpan,
  RecordedSpanSchema,
  TRACER_NAME,
  type Tracer,
} from '../../platform/tracing.js';
import { inTransaction } from './sqlite.js';

export interface SpanRetention {
  /** @default 100000 */
  keepSpans: number;
  /** @default 7 */
  keepDays: number;
}

export const DEFAULT_SPAN_RETENTION: SpanRetention = { keepSpans: 100_000, keepDays: 7 };

const KINDS: Record<SpanKind, RecordedSpan['kind']> = {
  [SpanKind.INTERNAL]: 'internal',
  [SpanKind.SERVER]: 'server',
  [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
};
const STATUSES: Record<SpanStatusCode, RecordedSpan['status']> = {
  [SpanStatusCode.UNSET]: 'unset',
  [SpanStatusCode.OK]: 'ok',
  [SpanStatusCode.ERROR]: 'error',
};
const PRUNE_BATCH = 5000;

interface SpanRow {
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  name: string;
  kind: string;
  start_us: number;
  end_us: number;
  status: string;
  status_message: string | null;
  attributes: string;
}

/** Every SQL statement on the `spans` table. */
export class SpanTable {
  readonly #db: DatabaseSync;
  readonly #sql: Record<'insert' | 'byTrace' | 'newest' | 'firstYoung' | 'prune', StatementSync>;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#sql = {
      insert: db.prepare(
        `INSERT INTO spans (trace_id, span_id, parent_span_id, name, kind, start_us, end_us, status, status_message, attributes, recorded_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      byTrace: db.prepare(
        `SELECT trace_id, span_id, parent_span_id, name, kind, start_us, end_us, status, status_message, attributes
         FROM spans WHERE trace_id = ? ORDER BY start_us, seq LIMIT 10000`,
      ),
      newest: db.prepare(`SELECT max(seq) AS seq FROM spans`),
      // Rows are appended in time order, so the walk stops at the first young one.
      firstYoung: db.prepare(`SELECT seq FROM spans WHERE recorded_at >= ? ORDER BY seq LIMIT 1`),
      prune: db.prepare(
        `DELETE FROM spans WHERE seq IN (SELECT seq FROM spans WHERE seq < ? ORDER BY seq LIMIT ${PRUNE_BATCH})`,
      ),
    };
  }

  /** One transaction for the whole batch. */
  insert(spans: readonly ReadableSpan[], now: number): void {
    inTransaction(this.#db, () => {
      for (const span of spans) {
        const { traceId, spanId } = span.spanContext();
        this.#sql.insert.run(
          traceId,
          spanId,
          span.parentSpanContext?.spanId ?? null,
          span.name,
          KINDS[span.kind],
          micros(span.startTime),
          micros(span.endTime),
          STATUSES[span.status.code],
          span.status.message ?? null,
          JSON.stringify(span.attributes),
          now,
        );
      }
    });
  }

  /** The spans of one trace, oldest first, each parsed (a row that does not parse is a bug worth failing on). */
  read(traceId: string): RecordedSpan[] {
    return (this.#sql.byTrace.all(traceId) as unknown as SpanRow[]).map((row) =>
      RecordedSpanSchema.parse({
        traceId: row.trace_id,
        spanId: row.span_id,
        parentSpanId: row.parent_span_id,
        name: row.name,
        kind: row.kind,
        startTime: row.start_us / 1000,
        endTime: row.end_us / 1000,
        status: row.status,
        ...(row.status_message === null ? {} : { statusMessage: row.status_message }),
        attributes: JSON.parse(row.attributes) as unknown,
      }),
    );
  }

  /** Deletes spans past the retention, at most one batch per call (the sweep calls it often). */
  prune(retention: SpanRetention, now: number): number {
    const newest = (this.#sql.newest.get() as { seq: number | null }).seq;
    if (newest === null) return 0;
    const young = this.#sql.firstYoung.get(now - retention.keepDays * 86_400_000) as
      | { seq: number }
      | undefined;
    const cutoff = Math.max(newest - retention.keepSpans + 1, young?.seq ?? newest + 1);
    return Number(this.#sql.prune.run(cutoff).changes);
  }
}

function micros(time: HrTime): number {
  return Math.round(hrTimeToMicroseconds(time));
}

/** OTel's exporter interface over the span table. */
export class SqliteSpanExporter implements SpanExporter {
  readonly #table: SpanTable;
  readonly #now: () => number;
  readonly #logger: Logger;
  #open = true;

  constructor(table: SpanTable, opts: { now: () => number; logger: Logger }) {
    this.#table = table;
    this.#now = opts.now;
    this.#logger = opts.logger;
  }

  export(spans: ReadableSpan[], done: (result: { code: ExportResultCode; error?: Error }) => void): void {
    if (!this.#open) {
      done({ code: ExportResultCode.FAILED, error: new Error('The span store is closed') });
      return;
    }
    try {
      this.#table.insert(spans, this.#now());
      done({ code: ExportResultCode.SUCCESS });
    } catch (error) {
      // Tracing must never take the runtime down: the batch is lost, and said so.
      this.#logger.warn('Could not store spans', { spans: spans.length, error: errorMessage(error) });
      done({
        code: ExportResultCode.FAILED,
        error: error instanceof Error ? error : new Error(String(error)),
      });
    }
  }

  async shutdown(): Promise<void> {
    this.#open = false;
  }

  async forceFlush(): Promise<void> {}
}

export interface EmbeddedTracing {
  tracer: Tracer;
  table: SpanTable;
  /** Exports what is buffered and stops; call before closing the database. */
  shutdown(): Promise<void>;
}

/**
 * The embedded runtime's tracer: every span recorded (one machine's traffic
 * is small, and pruning bounds it), batched into the span table about once a
 * second. A caller's unsampled `traceparent` is honoured.
 */
export function createEmbeddedTracing(
  db: DatabaseSync,
  opts: { now: () => number; logger: Logger },
): EmbeddedTracing {
  const table = new SpanTable(db);
  const provider = new BasicTracerProvider({
    sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
    spanProcessors: [
      new BatchSpanProcessor(new SqliteSpanExporter(table, opts), {
        scheduledDelayMillis: 1000,
        maxExportBatchSize: 512,
        maxQueueSize: 8192,
      }),
    ],
  });
  const tracer = createTracer(provider.getTracer(TRACER_NAME), {
    read: async (traceId) => {
      await provider.forceFlush();
      return table.read(traceId);
    },
    flush: () => provider.forceFlush(),
  });
  return { tracer, table, shutdown: () => provider.shutdown() };
}

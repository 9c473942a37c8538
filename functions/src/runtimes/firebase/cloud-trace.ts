/**
 * The firebase runtime's tracer: spans batched to Cloud Trace. The exporter
 * (gRPC and Google auth underneath) is loaded when the first batch is sent,
 * not at cold start, so an instance pays for it only once it has recorded a
 * span. Under the emulator suite nothing is exported unless asked
 * (`SERAPHIM_TRACE_EXPORT=1`), but spans still get real ids, so logs and
 * problem bodies quote a trace id everywhere.
 */
import { ExportResultCode } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type ReadableSpan,
  type SpanExporter,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import type { Env } from '../../platform/config.js';
import { errorMessage } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import { createTracer, TRACER_NAME, type Tracer } from '../../platform/tracing.js';

export interface CloudTraceOptions {
  env: Env;
  logger: Logger;
  /** Makes the exporter on first export. @default Google's Cloud Trace exporter, imported then */
  exporter?: () => Promise<SpanExporter>;
}

/** Whether spans leave the process: on in production, off under the emulator suite unless `SERAPHIM_TRACE_EXPORT=1`. */
export function cloudTraceEnabled(env: Env): boolean {
  const asked = env.SERAPHIM_TRACE_EXPORT;
  if (asked === '0') return false;
  if (asked === '1') return true;
  return env.FUNCTIONS_EMULATOR !== 'true';
}

/** `SERAPHIM_TRACE_SAMPLE_RATIO` (0 to 1) of new traces are recorded; a caller's sampling decision is kept. */
export function sampleRatio(env: Env): number {
  const ratio = Number(env.SERAPHIM_TRACE_SAMPLE_RATIO ?? 1);
  return Number.isFinite(ratio) ? Math.min(1, Math.max(0, ratio)) : 1;
}

export function createCloudTraceTracer(opts: CloudTraceOptions): Tracer {
  const spanProcessors: SpanProcessor[] = cloudTraceEnabled(opts.env)
    ? [
        new BatchSpanProcessor(
          new LazySpanExporter(opts.exporter ?? googleCloudTraceExporter, opts.logger),
          // Instances are frozen between requests: send soon rather than in big, rare batches.
          { scheduledDelayMillis: 1000, maxExportBatchSize: 256 },
        ),
      ]
    : [];
  const provider = new BasicTracerProvider({
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(sampleRatio(opts.env)) }),
    spanProcessors,
  });
  return createTracer(provider.getTracer(TRACER_NAME), { flush: () => provider.forceFlush() });
}

async function googleCloudTraceExporter(): Promise<SpanExporter> {
  const { TraceExporter } = await import('@google-cloud/opentelemetry-cloud-trace-exporter');
  return new TraceExporter();
}

/** Makes the real exporter on the first export; a failed load is tried again with the next batch. */
export class LazySpanExporter implements SpanExporter {
  readonly #create: () => Promise<SpanExporter>;
  readonly #logger: Logger;
  #exporter: Promise<SpanExporter> | undefined;

  constructor(create: () => Promise<SpanExporter>, logger: Logger) {
    this.#create = create;
    this.#logger = logger;
  }

  export(spans: ReadableSpan[], done: (result: { code: ExportResultCode; error?: Error }) => void): void {
    this.#exporter ??= this.#create();
    this.#exporter.then(
      (exporter) => exporter.export(spans, done),
      (error: unknown) => {
        this.#exporter = undefined;
        this.#logger.warn('Could not load the Cloud Trace exporter', { error: errorMessage(error) });
        done({
          code: ExportResultCode.FAILED,
          error: error instanceof Error ? error : new Error(String(error)),
        });
      },
    );
  }

  async shutdown(): Promise<void> {
    await (await this.#exporter)?.shutdown();
  }

  async forceFlush(): Promise<void> {
    await (await this.#exporter)?.forceFlush?.();
  }
}

/**
 * The one logger: JSON lines that Cloud Logging parses natively (`severity`,
 * `message`) and that read fine in a terminal. Secret-looking fields are
 * blanked, and so is any value registered with `redactValue`. A line written
 * inside a span carries its trace and span ids (see {@link TraceFieldFormat}).
 */
import { activeTraceIds, type TraceIds } from './tracing.js';

export type Severity = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LogSink {
  write(entry: LogFields & { severity: Severity; message: string; time: string }): void;
}

const SECRET_KEY = /(secret|token|password|passwd|authorization|api[-_]?key|cookie|credential)/i;
const ORDER: Record<Severity, number> = { DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40 };

const redactedValues = new Set<string>();

/** Blank this exact value wherever it appears in log fields (used for resolved secrets). */
export function redactValue(value: string): void {
  if (value.length >= 4) redactedValues.add(value);
}

export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') {
    let out = value;
    for (const secret of redactedValues) if (out.includes(secret)) out = out.split(secret).join('[redacted]');
    return out;
  }
  if (value instanceof Error) return { name: value.name, message: redact(value.message) };
  if (value === null || typeof value !== 'object' || depth > 6) return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value))
    out[k] = SECRET_KEY.test(k) ? '[redacted]' : redact(v, depth + 1);
  return out;
}

export const consoleSink: LogSink = {
  write(entry) {
    const line = JSON.stringify(entry);
    if (ORDER[entry.severity] >= ORDER.WARNING) process.stderr.write(`${line}\n`);
    else process.stdout.write(`${line}\n`);
  },
};

/** Collects entries in memory: for tests and for `seraphim` debugging views. */
export class MemorySink implements LogSink {
  readonly entries: Array<LogFields & { severity: Severity; message: string }> = [];
  write(entry: LogFields & { severity: Severity; message: string; time: string }): void {
    this.entries.push(entry);
  }
}

/** How a log line names the active trace: the embedded runtime's plain ids, or Cloud Logging's fields. */
export type TraceFieldFormat = (ids: TraceIds) => LogFields;

export const plainTraceFields: TraceFieldFormat = ({ traceId, spanId }) => ({ traceId, spanId });

/** The fields Cloud Logging reads to link a line to its trace in Cloud Trace. */
export function cloudLoggingTraceFields(project: string): TraceFieldFormat {
  return ({ traceId, spanId, sampled }) => ({
    'logging.googleapis.com/trace': `projects/${project}/traces/${traceId}`,
    'logging.googleapis.com/spanId': spanId,
    'logging.googleapis.com/trace_sampled': sampled,
  });
}

export function createLogger(
  opts: {
    sink?: LogSink;
    level?: Severity;
    fields?: LogFields;
    now?: () => number;
    /** @default {@link plainTraceFields} */
    traceFields?: TraceFieldFormat;
  } = {},
): Logger {
  const sink = opts.sink ?? consoleSink;
  const traceFields = opts.traceFields ?? plainTraceFields;
  const min = ORDER[opts.level ?? 'INFO'];
  const base = opts.fields ?? {};
  const now = opts.now ?? Date.now;
  const emit = (severity: Severity, message: string, fields?: LogFields) => {
    if (ORDER[severity] < min) return;
    const merged = redact({ ...base, ...fields }) as LogFields;
    const ids = activeTraceIds();
    sink.write({
      severity,
      message: redact(message) as string,
      time: new Date(now()).toISOString(),
      ...(ids ? traceFields(ids) : {}),
      ...merged,
    });
  };
  return {
    debug: (m, f) => emit('DEBUG', m, f),
    info: (m, f) => emit('INFO', m, f),
    warn: (m, f) => emit('WARNING', m, f),
    error: (m, f) => emit('ERROR', m, f),
    child: (fields) =>
      createLogger({ sink, level: opts.level ?? 'INFO', fields: { ...base, ...fields }, now, traceFields }),
  };
}

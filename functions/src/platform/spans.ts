/** The shape of a recorded span, apart from the tracer so API contracts can name it without loading OpenTelemetry. */
import { z } from 'zod';

/** One finished span as a runtime keeps it (the embedded runtime's `spans` table). */
export const RecordedSpanSchema = z
  .object({
    traceId: z.string(),
    spanId: z.string(),
    parentSpanId: z.string().nullable(),
    name: z.string(),
    kind: z.enum(['internal', 'server', 'client', 'producer', 'consumer']),
    startTime: z.number().describe('ms since epoch, with microseconds'),
    endTime: z.number().describe('ms since epoch, with microseconds'),
    status: z.enum(['unset', 'ok', 'error']),
    statusMessage: z.string().optional(),
    attributes: z.record(
      z.string(),
      z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number(), z.boolean()]))]),
    ),
  })
  .meta({ id: 'Span' });
export type RecordedSpan = z.infer<typeof RecordedSpanSchema>;

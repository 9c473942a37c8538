import { z } from 'zod';
import { RecordedSpanSchema } from '../../platform/spans.js';
import { defineDocumentKind } from '../../platform/stored.js';

export const CheckSchema = z.object({
  status: z.enum(['ok', 'failing']),
  detail: z.string().optional(),
  latencyMs: z.number().optional(),
});

export const HealthSchema = z
  .object({
    status: z.enum(['ok', 'degraded']),
    runtime: z.enum(['embedded', 'firebase']),
    version: z.string(),
    node: z.string(),
    startedAt: z.number().describe('Process start, ms since epoch'),
    uptimeMs: z.number(),
    checks: z.record(z.string(), CheckSchema),
  })
  .meta({ id: 'Health' });
export type Health = z.infer<typeof HealthSchema>;

export const QueueStatsSchema = z.object({
  queue: z.string(),
  depth: z.number().int(),
  inFlight: z.number().int(),
  oldestAgeMs: z.number(),
  deadLettered: z.number().int(),
});

export const QueuesSchema = z.object({ queues: z.array(QueueStatsSchema) }).meta({ id: 'Queues' });

export const InfoSchema = z
  .object({
    runtime: z.enum(['embedded', 'firebase']),
    version: z.string(),
    node: z.string(),
    orchestrators: z.array(
      z.object({
        name: z.string(),
        description: z.string(),
        routes: z.array(z.string()),
        tasks: z.array(z.string()),
        events: z.array(z.string()),
        documents: z.array(z.string()),
        schedules: z.array(z.string()),
      }),
    ),
  })
  .meta({ id: 'RuntimeInfo' });

export const PING_TOPIC = 'system.ping';
export const PingEventSchema = z.object({ pingId: z.string() });
export const PingTaskSchema = z.object({ pingId: z.string() });

export const PingSchema = z
  .object({
    id: z.string(),
    sentAt: z.number(),
    eventId: z.string(),
    eventReceivedAt: z.number().nullable(),
    eventDeliveries: z.number().int().describe('Deliveries seen; >1 shows redelivery was absorbed'),
    taskReceivedAt: z.number().nullable(),
  })
  .meta({ id: 'Ping' });
export type Ping = z.infer<typeof PingSchema>;
export const PingDocument = defineDocumentKind({ name: 'ping', schema: PingSchema });

export const PingParamsSchema = z.object({
  id: z.string().regex(/^[0-9A-Z]{26}$/, 'must be a ping id (ULID)'),
});

/** Pings live outside any workspace: they are the platform's own. */
export const pingPath = (id: string) => `system/health/pings/${id}`;

export const TraceParamsSchema = z.object({
  traceId: z
    .string()
    .regex(/^[0-9a-f]{32}$/, 'must be a trace id (32 lowercase hex digits)')
    .refine((id) => !/^0+$/.test(id), 'must not be all zeros'),
});

export const TraceSchema = z
  .object({
    traceId: z.string(),
    spans: z
      .array(RecordedSpanSchema)
      .describe('Oldest first; a span whose parent is not listed is a root here'),
  })
  .meta({ id: 'Trace' });

export const SessionUserSchema = z.object({
  uid: z.string(),
  email: z.string().nullable(),
  displayName: z.string().nullable(),
  platformAdmin: z.boolean(),
});

export const SessionSchema = z
  .object({
    mode: z.enum(['local', 'session', 'firebase']),
    signedIn: z.boolean(),
    user: SessionUserSchema.nullable(),
    firebase: z
      .object({
        apiKey: z.string().nullable(),
        authDomain: z.string().nullable(),
        projectId: z.string().nullable(),
        authEmulatorUrl: z.string().nullable(),
      })
      .nullable()
      .describe('Firebase Auth settings for the web SDK; null unless mode is firebase'),
  })
  .meta({ id: 'Session' });
export type Session = z.infer<typeof SessionSchema>;

export const SignInBodySchema = z.object({
  email: z.string().min(1).max(320),
  password: z.string().min(1).max(1024),
});
export const RedeemLinkBodySchema = z.object({
  token: z.string().min(1).max(200),
  password: z.string().max(1024).optional(),
});
export const SignedOutSchema = z.object({ signedIn: z.literal(false) });

export const UsersSchema = z.object({ users: z.array(SessionUserSchema) }).meta({ id: 'Users' });
export const AddUserBodySchema = z.object({ email: z.email() }).strict();
export const AddedUserSchema = z
  .object({
    user: SessionUserSchema,
    invitation: z.object({ url: z.string(), expiresAt: z.number() }).nullable(),
  })
  .meta({ id: 'AddedUser' });
export const UserParamsSchema = z.object({ uid: z.string().min(1).max(128) });
export const RemovedSchema = z.object({ removed: z.literal(true) });

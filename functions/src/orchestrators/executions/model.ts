/**
 * Use cases, workflows, executions: the zod schemas and the types inferred
 * from them. Stored documents and API bodies both go through these.
 */
import { z } from 'zod';
import { PRIORITY_CLASSES } from '../../platform/priority.js';
import { defineDocumentKind } from '../../platform/stored.js';

/** Step ids and context keys: short identifiers, so they are safe in paths, task ids and expressions. */
export const IdentifierSchema = z
  .string()
  .regex(/^[a-z][a-zA-Z0-9_]{0,62}$/, 'must be a lower camel case identifier');

/** Context keys every execution has besides its steps' outputs. */
export const RESERVED_CONTEXT_KEYS = ['input', 'vars'] as const;

export const RetrySchema = z
  .object({
    /** Attempts in all, the first included. @default 3 */
    maxAttempts: z.number().int().min(1).max(20).default(3),
    /** @default 1 */
    minBackoffSeconds: z.number().min(0).max(3600).default(1),
    /** @default 300 */
    maxBackoffSeconds: z.number().min(0).max(86_400).default(300),
  })
  .default({ maxAttempts: 3, minBackoffSeconds: 1, maxBackoffSeconds: 300 });

export const CachePolicySchema = z.object({
  /**
   * Input names whose values make the cache key, with the workspace, the agent kind and its
   * config (not the step id: identical calls share results across steps and use cases).
   */
  key: z.array(z.string().min(1)).min(1),
  ttlSeconds: z
    .number()
    .int()
    .min(1)
    .max(30 * 24 * 3600),
});

/** The agent kinds Seraphim ships (agents/registry.ts builds them, in this order). */
export const BUILTIN_AGENT_KINDS = [
  'transform',
  'validate',
  'rules',
  'branch',
  'wait',
  'human',
  'http',
  'llm',
] as const;

/** The API document's name for a kind's config schema: `TransformAgentConfig`. */
export const agentConfigId = (kind: string) =>
  `${kind.replace(/(^|[-_])([a-z])/g, (_, __, c: string) => c.toUpperCase())}AgentConfig`;

export const StepSchema = z.object({
  id: IdentifierSchema,
  /** An agent kind from the registry: transform, validate, rules, branch, http, llm, human, wait, … */
  agent: z.string().min(1),
  config: z
    .record(z.string(), z.unknown())
    .default({})
    .meta({
      description:
        "The agent's configuration: the schema of its kind (`agent`). `GET /api/executions/agents` lists every kind's.",
      // Documentation: which schema applies is decided by the sibling `agent`, so the step is checked by
      // the workflow validator, not by this union (a kind added to the registry is not listed here).
      anyOf: [
        ...BUILTIN_AGENT_KINDS.map((kind) => ({ $ref: `#/components/schemas/${agentConfigId(kind)}` })),
        { type: 'object', description: 'another kind, as its agent describes it' },
      ],
    }),
  /**
   * Local input name → context path: `input.claim.amount`, `vars.region`, or
   * `<another step's output key>[.field…]`. A step sees these and nothing else.
   */
  inputs: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string().min(1)).default({}),
  /** The one context key this step writes. */
  output: IdentifierSchema,
  /** JSON Schema the output must satisfy: the step's contract. */
  outputSchema: z.record(z.string(), z.unknown()).optional(),
  /** Extra ordering edges beside the ones its inputs imply. */
  after: z.array(IdentifierSchema).default([]),
  /** `all`: runs when every dependency succeeded; `any`: when all are settled and one succeeded (joins after a branch). */
  join: z.enum(['all', 'any']).default('all'),
  /** At most 29 min: the step's task must finish inside Cloud Tasks' 30-min dispatch deadline. */
  timeoutSeconds: z.number().int().min(1).max(1740).default(60),
  retry: RetrySchema,
  priority: z.enum(PRIORITY_CLASSES).default('normal'),
  cache: CachePolicySchema.optional(),
});
export type Step = z.infer<typeof StepSchema>;
export type StepInput = z.input<typeof StepSchema>;

export const WorkflowSchema = z.object({
  /** JSON Schema of the execution input; when given, `input.<field>` mappings are checked against it. */
  inputSchema: z.record(z.string(), z.unknown()).optional(),
  vars: z.record(z.string(), z.unknown()).default({}),
  steps: z.array(StepSchema).min(1).max(200),
});
export type Workflow = z.infer<typeof WorkflowSchema>;

// ---------------------------------------------------------------- executions

export const EXECUTION_STATUSES = [
  'pending',
  'running',
  'waiting',
  'succeeded',
  'failed',
  'cancelled',
] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];
export const TERMINAL_EXECUTION: readonly ExecutionStatus[] = ['succeeded', 'failed', 'cancelled'];

export const STEP_STATUSES = [
  'blocked',
  'queued',
  'running',
  'waiting',
  'succeeded',
  'failed',
  'skipped',
  'cancelled',
] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];
export const SETTLED_STEP: readonly StepStatus[] = ['succeeded', 'failed', 'skipped', 'cancelled'];

export const StepErrorSchema = z.object({
  message: z.string(),
  code: z.string(),
  retryable: z.boolean(),
  /** An upstream's Retry-After: the next attempt waits at least this long. */
  retryAfterMs: z.number().optional(),
});
export type StepError = z.infer<typeof StepErrorSchema>;

export const StepStateSchema = z.object({
  status: z.enum(STEP_STATUSES),
  /** Attempts started so far. */
  attempts: z.number().int().min(0),
  queuedAt: z.number().nullable(),
  startedAt: z.number().nullable(),
  endedAt: z.number().nullable(),
  /** When a `wait` step or a retry backoff resumes. */
  resumeAt: z.number().nullable(),
  waitingFor: z.enum(['human', 'timer']).nullable(),
  prompt: z.string().nullable(),
  error: StepErrorSchema.nullable(),
  cacheHit: z.boolean(),
  /** For a branch step: the targets its route selected. */
  route: z.array(z.string()).nullable(),
  /** Attempts counted before the last operator retry: the retry budget restarts there. */
  budgetFrom: z.number().int().min(0),
  tokens: z.object({ model: z.string(), prompt: z.number(), completion: z.number() }).nullable(),
});
export type StepState = z.infer<typeof StepStateSchema>;

export const ExecutionSchema = z
  .object({
    id: z.string(),
    workspace: z.string(),
    useCaseId: z.string(),
    useCaseVersion: z.number().int(),
    status: z.enum(EXECUTION_STATUSES),
    /** Set while an operator holds it: no new steps are dispatched. */
    paused: z.boolean(),
    input: z.unknown(),
    /** The shared context: `input`, `vars` and each finished step's output key. */
    context: z.record(z.string(), z.unknown()),
    steps: z.record(z.string(), StepStateSchema),
    error: StepErrorSchema.nullable(),
    correlationId: z.string(),
    parentId: z.string().nullable(),
    forkedFromCheckpoint: z.number().int().nullable(),
    /**
     * The last checkpoint folded into this state. The stored execution is a
     * snapshot: the checkpoints written after it carry the rest (store.ts).
     */
    checkpoint: z.number().int().min(0),
    /** A fork's starting point: the finished steps and outputs it carried over from its parent; null otherwise. */
    origin: z
      .object({
        context: z.record(z.string(), z.unknown()),
        steps: z.record(z.string(), StepStateSchema),
      })
      .nullable(),
    createdAt: z.number(),
    updatedAt: z.number(),
    endedAt: z.number().nullable(),
    /** Context and checkpoints are deleted after this (ms since epoch). */
    expiresAt: z.number(),
  })
  .meta({ id: 'Execution' });
export type Execution = z.infer<typeof ExecutionSchema>;

/** What one decision changed: the step states it changed, the context keys it wrote, the execution's own fields. */
export const ExecutionChangeSchema = z.object({
  steps: z.record(z.string(), StepStateSchema),
  context: z.record(z.string(), z.unknown()),
  execution: ExecutionSchema.pick({
    status: true,
    paused: true,
    error: true,
    endedAt: true,
    updatedAt: true,
  }).partial(),
});
export type ExecutionChange = z.infer<typeof ExecutionChangeSchema>;

/**
 * A checkpoint as stored: written when a step settles, with what the step
 * read and what its settling changed, not a copy of the whole state, so its
 * size does not grow with the steps before it. The state at checkpoint n is
 * the execution's start with the changes 1..n applied (store.ts).
 */
export const CheckpointRecordSchema = z.object({
  n: z.number().int().min(1),
  at: z.number(),
  /** The step whose settling wrote it. */
  stepId: z.string(),
  attempt: z.number().int().min(0),
  status: z.enum(STEP_STATUSES),
  /** What the step read (its declared inputs only), for re-runs and debugging. */
  inputs: z.record(z.string(), z.unknown()),
  change: ExecutionChangeSchema,
});
export type CheckpointRecord = z.infer<typeof CheckpointRecordSchema>;

/**
 * A checkpoint as the API shows it: the record with the context and step
 * states at that point. Checkpoint 0 is the start, which no step wrote.
 */
export type Checkpoint = Omit<CheckpointRecord, 'change' | 'stepId' | 'status'> & {
  stepId: string | null;
  status: CheckpointRecord['status'] | null;
  context: Record<string, unknown>;
  steps: Record<string, StepState>;
};

// ---------------------------------------------------------------- stored kinds

export const ExecutionDocument = defineDocumentKind({
  name: 'execution',
  schema: ExecutionSchema,
  version: 2,
  // v1 stored the whole state with every step; it has no fork origin recorded.
  migrations: { 1: (data) => ({ ...data, origin: null }) },
});
export const CheckpointDocument = defineDocumentKind({
  name: 'checkpoint',
  schema: CheckpointRecordSchema,
  version: 2,
  migrations: {
    // v1 held the whole context and step states after the step: applying all of them is its change.
    1: ({ context, steps, ...rest }) => ({ ...rest, change: { context, steps, execution: {} } }),
  },
});

/**
 * The pool's settings: per-workspace settings (on the workspace document),
 * platform-wide limits from configuration, and the record of an auto-scaling
 * decision.
 */
import { z } from 'zod';
import { InvalidInputError } from '../errors.js';
import type { ConfigSource } from '../ports.js';
import { zodFields } from '../problem.js';
import { defineDocumentKind } from '../stored.js';

// The bounds of each setting, shared by the settings and a change to them.
const Weight = z.number().min(0.01).max(100);
const QueueBudget = z.number().int().min(1).max(1_000_000);
const MaxConcurrent = z.number().int().min(1).max(10_000);

/** Per-workspace pool settings, kept on the workspace document under `pool`. */
export const WorkspacePoolSchema = z
  .object({
    /** Share of the global limit under contention, relative to other workspaces. @default 1 */
    weight: Weight.default(1),
    /** Executions accepted and not finished before admission answers 429. @default 1000 */
    queueBudget: QueueBudget.default(1000),
    /** A hard cap on this workspace's running steps, below its fair share. */
    maxConcurrent: MaxConcurrent.optional(),
  })
  .meta({ id: 'WorkspacePool' });
export type WorkspacePool = z.infer<typeof WorkspacePoolSchema>;

/** A change to a workspace's settings: the fields given replace the stored ones, the others stay. */
export const WorkspacePoolPatchSchema = z
  .object({
    weight: Weight.optional(),
    queueBudget: QueueBudget.optional(),
    maxConcurrent: MaxConcurrent.nullable().optional().describe('null removes the cap'),
  })
  .meta({ id: 'WorkspacePoolPatch' });
export type WorkspacePoolPatch = z.infer<typeof WorkspacePoolPatchSchema>;

/** The stored settings with a patch applied; `maxConcurrent: null` removes the cap. */
export function mergeWorkspacePool(stored: WorkspacePool, patch: WorkspacePoolPatch): WorkspacePool {
  const given = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
  const { maxConcurrent, ...rest } = { ...stored, ...given };
  return WorkspacePoolSchema.parse(maxConcurrent === null ? rest : { ...rest, maxConcurrent });
}

/** Platform-wide limits; from configuration (SERAPHIM_POOL_*), with these defaults. */
export interface PoolLimits {
  /** Steps running at once across every workspace. */
  global: number;
  /** Steps of one use case running at once. */
  perUseCase: number;
  /** Steps of one agent kind running at once, e.g. an LLM provider's concurrency. */
  perAgentKind: Readonly<Record<string, number>>;
  /** For agent kinds not listed. */
  defaultPerAgentKind: number;
}

/**
 * The pool's limits from configuration, read when used (never at import):
 * `SERAPHIM_POOL_GLOBAL`, `SERAPHIM_POOL_PER_USE_CASE`,
 * `SERAPHIM_POOL_DEFAULT_PER_AGENT_KIND`, and `SERAPHIM_POOL_PER_AGENT_KIND`
 * as `kind=limit` pairs (`llm=4,http=32`), each over its default. A bad value
 * is refused with the setting named.
 * @example poolLimitsFromConfig(envConfig({ SERAPHIM_POOL_GLOBAL: '64' })).global // 64
 */
export function poolLimitsFromConfig(config: Pick<ConfigSource, 'get'>): PoolLimits {
  const parsed = PoolSettingsSchema.safeParse({
    SERAPHIM_POOL_GLOBAL: config.get('SERAPHIM_POOL_GLOBAL'),
    SERAPHIM_POOL_PER_USE_CASE: config.get('SERAPHIM_POOL_PER_USE_CASE'),
    SERAPHIM_POOL_DEFAULT_PER_AGENT_KIND: config.get('SERAPHIM_POOL_DEFAULT_PER_AGENT_KIND'),
    SERAPHIM_POOL_PER_AGENT_KIND: config.get('SERAPHIM_POOL_PER_AGENT_KIND'),
  });
  if (!parsed.success) {
    const fields = zodFields(parsed.error, 'config');
    throw new InvalidInputError(
      `Bad pool configuration: ${fields.map((f) => `${f.path}: ${f.message}`).join('; ')}`,
      fields,
    );
  }
  const s = parsed.data;
  return {
    global: s.SERAPHIM_POOL_GLOBAL ?? DEFAULT_POOL_LIMITS.global,
    perUseCase: s.SERAPHIM_POOL_PER_USE_CASE ?? DEFAULT_POOL_LIMITS.perUseCase,
    defaultPerAgentKind: s.SERAPHIM_POOL_DEFAULT_PER_AGENT_KIND ?? DEFAULT_POOL_LIMITS.defaultPerAgentKind,
    perAgentKind: { ...DEFAULT_POOL_LIMITS.perAgentKind, ...s.SERAPHIM_POOL_PER_AGENT_KIND },
  };
}

const Limit = z.coerce.number().int().min(1).max(100_000);
const PoolSettingsSchema = z.object({
  SERAPHIM_POOL_GLOBAL: Limit.optional(),
  SERAPHIM_POOL_PER_USE_CASE: Limit.optional(),
  SERAPHIM_POOL_DEFAULT_PER_AGENT_KIND: Limit.optional(),
  SERAPHIM_POOL_PER_AGENT_KIND: z
    .string()
    .regex(
      /^\s*[a-z][a-zA-Z0-9_-]*\s*=\s*\d+\s*(,\s*[a-z][a-zA-Z0-9_-]*\s*=\s*\d+\s*)*$/,
      'use kind=limit pairs, e.g. llm=4,http=32',
    )
    .transform((text) =>
      Object.fromEntries(
        text.split(',').map((pair) => {
          const [kind = '', limit = ''] = pair.split('=').map((part) => part.trim());
          return [kind, Number(limit)];
        }),
      ),
    )
    .pipe(z.record(z.string(), z.number().int().min(1).max(100_000)))
    .optional(),
});

export const DEFAULT_POOL_LIMITS: PoolLimits = {
  global: 32,
  perUseCase: 16,
  perAgentKind: { llm: 8, http: 16, human: 10_000, wait: 10_000 },
  defaultPerAgentKind: 32,
};

/** One auto-scaling change, as recorded at `poolDecisions/{id}`. */
export const PoolDecisionSchema = z.object({
  /** Set on an agent kind's concurrency decision. */
  agentKind: z.string().optional(),
  /** Set on a step queue's decision; from/to are tenths of its declared limits. */
  queue: z.string().optional(),
  /** Set on another adaptive dimension's decision: its name and key, `<name>:<value>…`. */
  dimension: z.string().optional(),
  from: z.number(),
  to: z.number(),
  reason: z.string(),
  at: z.number(),
  policy: z.object({ min: z.number(), max: z.number(), window: z.number() }),
  targetLatencyMs: z.number().nullable(),
});
export type PoolDecision = z.infer<typeof PoolDecisionSchema>;
export const PoolDecisionDocument = defineDocumentKind({ name: 'pool decision', schema: PoolDecisionSchema });

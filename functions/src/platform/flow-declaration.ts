/**
 * Flow control as data: what a task definition declares about how its tasks
 * share capacity. Priority and throttle stay where they were (the task's
 * `priority` class and its queue's `rateLimits`); this adds what limits a
 * task by what it carries:
 *
 * - `concurrency`: counting semaphores keyed by payload fields, each with a
 *   limit that is a number or one of the pool's configured limits, and
 *   optionally adaptive (an AIMD controller lowers it on latency and 429s);
 * - `fairness`: the payload field whose value takes turns at dispatch, weighted
 *   by that workspace's pool settings;
 * - `adaptiveRate`: the queue's dispatch rate follows the upstream's 429s.
 *
 * One wrapper honours it on both runtimes (`flow-control.ts`); the handler just
 * does the work. Inngest's function configuration (`concurrency` with `key`,
 * `throttle`, `priority`) is the model; the keys here name payload fields, not
 * expressions, so a declaration is checked against the payload schema when the
 * orchestrator is defined.
 *
 * @example
 * flowControl: {
 *   fairness: { key: 'workspace' },
 *   concurrency: [
 *     { name: 'workspace', key: ['workspace'], limit: 'fairShare' },
 *     { name: 'agentKind', key: ['agentKind'], limit: 'perAgentKind', adaptive: true },
 *   ],
 * }
 */
import { z } from 'zod';

const PayloadField = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'a top-level payload field');

/**
 * Where a concurrency limit comes from: a number, or one of the pool's limits,
 * read from configuration (`SERAPHIM_POOL_*`) and workspace settings:
 * `global`, `perUseCase`, `perAgentKind` (the limit of the kind the dimension's
 * one key field names), or `fairShare` (the fairness key's share of the global
 * limit, under its workspace's `maxConcurrent` cap).
 */
export const POOL_LIMITS = ['global', 'perUseCase', 'perAgentKind', 'fairShare'] as const;
export type PoolLimitName = (typeof POOL_LIMITS)[number];

export const ConcurrencySchema = z.strictObject({
  /** Lower camel case: the dimension in refusals, throttle counts and kv keys. */
  name: z.string().regex(/^[a-z][A-Za-z0-9]{0,31}$/, 'lower camel case'),
  /** Payload fields whose values key the semaphore; none: one semaphore for every task. */
  key: z.array(PayloadField).max(4).default([]),
  limit: z.union([z.number().int().min(1).max(100_000), z.enum(POOL_LIMITS)]),
  /** An AIMD controller lowers the limit on slow answers and 429s, and raises it back. */
  adaptive: z.boolean().default(false),
});

export const FlowControlSchema = z
  .strictObject({
    /** Fair queuing: tasks take turns by this field's value (a workspace id), by its pool weight. */
    fairness: z.strictObject({ key: PayloadField }).optional(),
    /** Checked in order: list the dimension most likely to refuse first, so a refusal takes nothing. */
    concurrency: z.array(ConcurrencySchema).min(1).max(8),
    /** The queue's dispatch rate and concurrency follow the upstream's 429s (AIMD, in tenths). */
    adaptiveRate: z.boolean().default(false),
  })
  .superRefine((flow, check) => {
    const names = new Set<string>();
    flow.concurrency.forEach((c, i) => {
      const at = ['concurrency', i];
      if (names.has(c.name))
        check.addIssue({ code: 'custom', path: [...at, 'name'], message: 'declared twice' });
      names.add(c.name);
      if (c.limit === 'fairShare' && (flow.fairness === undefined || c.key.join() !== flow.fairness.key)) {
        check.addIssue({
          code: 'custom',
          path: [...at, 'key'],
          message: 'a fairShare limit is keyed by the fairness key alone',
        });
      }
      if (c.limit === 'perAgentKind' && c.key.length !== 1) {
        check.addIssue({
          code: 'custom',
          path: [...at, 'key'],
          message: 'a perAgentKind limit is keyed by one field, the agent kind',
        });
      }
    });
  });

/** What a task definition declares. */
export type FlowControlDeclaration = z.input<typeof FlowControlSchema>;
/** The declaration checked, with its defaults. */
export type FlowControl = z.output<typeof FlowControlSchema>;
export type Concurrency = FlowControl['concurrency'][number];

/**
 * Checks a declaration and, when the payload schema is an object, that every
 * field it names is one of the payload's; returns the problems, as lines.
 */
export function flowControlProblems(declared: unknown, payload: z.ZodType): string[] {
  const parsed = FlowControlSchema.safeParse(declared);
  if (!parsed.success) {
    return parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  if (!(payload instanceof z.ZodObject)) return [];
  const fields = new Set(Object.keys(payload.shape));
  const named = [
    ...(parsed.data.fairness ? [parsed.data.fairness.key] : []),
    ...parsed.data.concurrency.flatMap((c) => c.key),
  ];
  return [...new Set(named)]
    .filter((field) => !fields.has(field))
    .map((field) => `"${field}" is not a field of the task's payload`);
}

const checked = new WeakMap<object, FlowControl>();

/** The declaration with its defaults, parsed once per declaration. */
export function flowControlOf(declared: FlowControlDeclaration): FlowControl {
  let flow = checked.get(declared);
  if (!flow) {
    flow = FlowControlSchema.parse(declared);
    checked.set(declared, flow);
  }
  return flow;
}

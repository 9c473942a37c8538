import { z } from 'zod';

export const PoolStatsSchema = z
  .object({
    limits: z.object({
      global: z.number(),
      perUseCase: z.number(),
      perAgentKind: z.record(z.string(), z.number()),
      defaultPerAgentKind: z.number(),
    }),
    utilisation: z.object({ running: z.number(), limit: z.number(), ratio: z.number() }),
    queues: z.array(
      z.object({
        queue: z.string(),
        depth: z.number(),
        inFlight: z.number(),
        oldestAgeMs: z.number(),
        deadLettered: z.number(),
      }),
    ),
    waits: z.record(z.string(), z.object({ p50Ms: z.number(), p95Ms: z.number(), samples: z.number() })),
    limitsInForce: z
      .object({
        global: z.number(),
        perUseCase: z.number(),
        perAgentKind: z
          .record(z.string(), z.number())
          .describe(
            'Every agent kind configured by name or named by a recent auto-scaling decision, at its ' +
              'limit now: the controller’s state for configured kinds, the latest decision for the others',
          ),
      })
      .describe('The limits acquisition enforces now, auto-scaling included'),
    throttled: z.object({
      lastMinute: z.number(),
      lastHour: z.number(),
      byDimension: z.record(z.string(), z.number()),
      totals: z
        .record(z.string(), z.number())
        .describe('Refusals by dimension since the kv store began: a running total'),
    }),
    workspaces: z.array(
      z.object({
        workspace: z.string(),
        inFlight: z.number(),
        weight: z.number(),
        share: z.number(),
        queueBudget: z.number(),
        maxConcurrent: z.number().nullable().describe('Its cap; null for none'),
        limit: z.number().describe('The most steps it may run now: its share, or its cap when lower'),
      }),
    ),
  })
  .meta({ id: 'PoolStats' });
export type PoolStats = z.infer<typeof PoolStatsSchema>;

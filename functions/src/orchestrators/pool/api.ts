/**
 * The pool API's contract: monitoring, and each workspace's share and budget.
 * Imports only zod and schema modules.
 */
import { z } from 'zod';
import { defineContract } from '../../platform/contract.js';
import { WorkspacePoolPatchSchema, WorkspacePoolSchema } from '../../platform/pool/model.js';
import { PoolStatsSchema } from './model.js';

export const poolApi = {
  stats: defineContract({
    method: 'GET',
    path: '/stats',
    access: 'signed-in',
    summary: 'Queue depth, in flight, wait p50/p95, utilisation, throttling and each workspace’s share',
    response: PoolStatsSchema,
  }),
  decisions: defineContract({
    method: 'GET',
    path: '/decisions',
    access: 'signed-in',
    summary:
      'Auto-scaling decisions, newest first: each change of an agent kind limit or of a step queue’s dispatch limits, and why',
    query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }),
    response: z.object({
      effectiveLimits: z.record(z.string(), z.number()),
      queueScale: z
        .record(z.string(), z.number())
        .describe(
          'Each step queue’s dispatch rate and concurrency now, as a share of what it declares (0.1–1)',
        ),
      decisions: z.array(
        z.object({
          agentKind: z.string().optional().describe('Set on an agent kind’s concurrency decision'),
          queue: z
            .string()
            .optional()
            .describe('Set on a step queue’s decision; from/to are tenths of its declared limits'),
          from: z.number(),
          to: z.number(),
          reason: z.string(),
          at: z.number(),
        }),
      ),
    }),
  }),
  settings: defineContract({
    method: 'GET',
    path: '/workspaces/:workspace/settings',
    access: 'viewer',
    summary: 'A workspace’s weight, queue budget and cap',
    params: z.object({ workspace: z.string() }),
    response: WorkspacePoolSchema,
  }),
  updateSettings: defineContract({
    method: 'PUT',
    path: '/workspaces/:workspace/settings',
    access: 'admin',
    summary: 'Change a workspace’s weight, queue budget or cap; the fields left out keep their value',
    problems: [409], // the read-and-write transaction gave up under contention
    description: '`maxConcurrent: null` removes the cap. Answers with the settings now in force.',
    params: z.object({ workspace: z.string() }),
    body: WorkspacePoolPatchSchema,
    response: WorkspacePoolSchema,
  }),
};

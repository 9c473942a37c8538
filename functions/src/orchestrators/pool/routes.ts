import { NotFoundError } from '../../platform/errors.js';
import { myWorkspaces } from '../../platform/identity.js';
import {
  type Context,
  functionName,
  implement,
  PRIORITY_CLASSES,
  priorityQueueKey,
  type RouteDefinition,
} from '../../platform/orchestrator.js';
import { fairShare, percentile } from '../../platform/pool/machine.js';
import { mergeWorkspacePool, PoolDecisionDocument, WorkspacePoolSchema } from '../../platform/pool/model.js';
import { GLOBAL_SLOTS, type PoolStore, poolOf } from '../../platform/pool/store.js';
import { readDocument, readPage } from '../../platform/stored.js';
import { ExecutionDocument } from '../executions/model.js';
import { UseCaseDocument } from '../use-cases/model.js';
import { poolApi } from './api.js';
import type { PoolStats } from './model.js';

/** How many of the latest decisions name the agent kinds not configured by name. */
const DECISIONS_SCANNED = 100;

/** Wait times (queued or due → started) of recent steps, per priority class. */
async function recentWaits(ctx: Context, workspaces: string[]): Promise<PoolStats['waits']> {
  const samples = new Map<string, number[]>();
  // Each use case read once a call: 50 executions of one use case were 50 reads of the same document.
  const priorities = new Map<string, Promise<Map<string, string>>>();
  const priorityOf = (ws: string, useCaseId: string) => {
    const key = `${ws}/${useCaseId}`;
    let found = priorities.get(key);
    if (!found) {
      found = readDocument(ctx.documents, UseCaseDocument, `workspaces/${ws}/useCases/${useCaseId}`).then(
        (useCase) => new Map(useCase?.data.workflow.steps.map((s) => [s.id, s.priority])),
      );
      priorities.set(key, found);
    }
    return found;
  };
  for (const ws of workspaces) {
    const page = readPage(
      ExecutionDocument,
      await ctx.documents.query(`workspaces/${ws}/executions`, {
        orderBy: [{ field: 'updatedAt', direction: 'desc' }],
        limit: 50,
      }),
    );
    for (const { data } of page.docs) {
      const stepPriorities = await priorityOf(ws, data.useCaseId);
      for (const [stepId, s] of Object.entries(data.steps)) {
        const due = s.resumeAt ?? s.queuedAt;
        if (s.startedAt === null || due === null) continue;
        const priority = stepPriorities.get(stepId) ?? 'normal';
        const list = samples.get(priority) ?? [];
        list.push(Math.max(0, s.startedAt - due));
        samples.set(priority, list);
      }
    }
  }
  return Object.fromEntries(
    [...samples].map(([priority, values]) => [
      priority,
      { p50Ms: percentile(values, 50), p95Ms: percentile(values, 95), samples: values.length },
    ]),
  );
}

/**
 * The limit now of every agent kind configured by name (its controller's
 * state) and of every other kind a recent decision names: a limit moves only
 * by a decision, so the latest one for a kind holds its limit. (A kv store
 * that lost the controllers' state starts them at their maximum again; the
 * decisions, being documents, do not know that.)
 */
async function agentLimitsInForce(pool: PoolStore, ctx: Context): Promise<Record<string, number>> {
  const [configured, recent] = await Promise.all([
    pool.effectiveAgentLimits(ctx),
    ctx.documents
      .query('poolDecisions', { orderBy: [{ field: 'at', direction: 'desc' }], limit: DECISIONS_SCANNED })
      .then((page) => readPage(PoolDecisionDocument, page)),
  ]);
  const limits = { ...configured };
  // Newest first: the first decision seen for a kind is its latest.
  for (const { data } of recent.docs) {
    if (data.agentKind !== undefined && !Object.hasOwn(limits, data.agentKind))
      limits[data.agentKind] = data.to;
  }
  return limits;
}

export function poolRoutes(): RouteDefinition[] {
  return [
    implement(poolApi.stats, async (req, ctx): Promise<PoolStats> => {
      const pool = poolOf(ctx);
      // Shares are computed over every workspace, but only the caller's own are listed.
      const [page, mine] = await Promise.all([
        ctx.documents.query('workspaces', { limit: 200 }),
        req.identity ? myWorkspaces(req.identity, ctx.documents) : [],
      ]);
      const visible = new Set(mine.map((w) => w.id));
      const ids = page.docs.map((d) => d.id);
      const settings = page.docs.map((d) => WorkspacePoolSchema.parse(d.data.pool ?? {}));
      const [inFlight, runnable] = await Promise.all([pool.inFlight(ctx, ids), pool.runnable(ctx, ids)]);
      // The shares the pool gives: among workspaces with runnable work (PoolStore's fair shares).
      const active = new Map<string, number>();
      ids.forEach((id, i) => {
        if ((runnable[i] ?? 0) > 0) active.set(id, settings[i]?.weight ?? 1);
      });
      const running = await pool.held(ctx, GLOBAL_SLOTS);
      const queues = (await ctx.tasks.list()).filter((q) => q.queue.startsWith('executions-'));
      const [throttled, totals, perAgentKind] = await Promise.all([
        pool.throttles(ctx),
        pool.throttleTotals(ctx),
        agentLimitsInForce(pool, ctx),
      ]);
      return {
        limits: { ...pool.limitsFor(ctx), perAgentKind: { ...pool.limitsFor(ctx).perAgentKind } },
        limitsInForce: {
          global: pool.limitsFor(ctx).global,
          perUseCase: pool.limitsFor(ctx).perUseCase,
          perAgentKind,
        },
        utilisation: {
          running,
          limit: pool.limitsFor(ctx).global,
          ratio: running / pool.limitsFor(ctx).global,
        },
        queues,
        waits: await recentWaits(
          ctx,
          ids.filter((id) => visible.has(id)),
        ),
        throttled: { ...throttled, totals },
        workspaces: ids.flatMap((workspace, i) => {
          if (!visible.has(workspace)) return [];
          const share = fairShare({
            globalLimit: pool.limitsFor(ctx).global,
            workspace,
            activeWeights: active,
          });
          const cap = settings[i]?.maxConcurrent ?? null;
          return [
            {
              workspace,
              inFlight: inFlight[i] ?? 0,
              weight: settings[i]?.weight ?? 1,
              share,
              queueBudget: settings[i]?.queueBudget ?? 1000,
              maxConcurrent: cap,
              limit: cap === null ? share : Math.min(share, cap),
            },
          ];
        }),
      };
    }),
    implement(poolApi.decisions, async (req, ctx) => {
      const pool = poolOf(ctx);
      const page = readPage(
        PoolDecisionDocument,
        await ctx.documents.query('poolDecisions', {
          orderBy: [{ field: 'at', direction: 'desc' }],
          limit: req.query.limit,
        }),
      );
      const [effectiveLimits, queueScale] = await Promise.all([
        pool.effectiveAgentLimits(ctx),
        pool.effectiveQueueScale(
          ctx,
          PRIORITY_CLASSES.map((p) => functionName('executions', priorityQueueKey('step', p))),
        ),
      ]);
      return {
        effectiveLimits,
        queueScale,
        decisions: page.docs.map(({ data: { agentKind, queue, from, to, reason, at } }) => ({
          ...(agentKind === undefined ? {} : { agentKind }),
          ...(queue === undefined ? {} : { queue }),
          from,
          to,
          reason,
          at,
        })),
      };
    }),
    implement(poolApi.settings, async (req, ctx) => poolOf(ctx).workspaceSettings(ctx, req.params.workspace)),
    implement(poolApi.updateSettings, async (req, ctx) => {
      const path = `workspaces/${req.params.workspace}`;
      // Read and write in one transaction: two edits of different fields both land.
      return ctx.documents.transaction(async (tx) => {
        const doc = await tx.get(path);
        if (!doc) throw new NotFoundError(`Workspace "${req.params.workspace}" not found`);
        const settings = mergeWorkspacePool(WorkspacePoolSchema.parse(doc.data.pool ?? {}), req.body);
        tx.update(path, { pool: settings });
        return settings;
      });
    }),
  ];
}

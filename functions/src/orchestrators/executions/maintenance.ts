/**
 * Scheduled upkeep: recovering steps whose dispatch or lease was lost, and
 * deleting expired execution contexts with their checkpoints. Both walk the
 * workspaces in bounded pages, so one run has bounded cost.
 */

import { errorMessage } from '../../platform/errors.js';
import type { Context } from '../../platform/orchestrator.js';
import { poolOf } from '../../platform/pool/store.js';
import type { StoredDocument } from '../../platform/ports.js';
import type { ExecutionEngine } from './engine.js';
import { type Execution, ExecutionDocument } from './model.js';
import { deleteExecution, paths } from './store.js';

/** A step queued this long without settling may have lost its task (a crash between commit and enqueue). */
export const STALL_AFTER_MS = 30_000;
const PAGE = 100;

async function* workspaces(ctx: Context): AsyncGenerator<string> {
  let cursor: string | undefined;
  do {
    const page = await ctx.documents.query('workspaces', { limit: PAGE, ...(cursor ? { cursor } : {}) });
    for (const doc of page.docs) yield doc.id;
    cursor = page.nextCursor;
  } while (cursor);
}

/**
 * Re-enqueues the current attempt of every step that looks stalled, and the
 * timer of every waiting timer. Enqueueing is keyed on the attempt, so where
 * the task still exists this is a no-op; where it was lost, it runs again.
 */
export async function recoverStalled(
  ctx: Context,
  engine: ExecutionEngine,
): Promise<{ executions: number; redispatched: number; failed: number }> {
  const now = ctx.clock.now();
  let executions = 0;
  let redispatched = 0;
  let failed = 0;
  for await (const ws of workspaces(ctx)) {
    let inFlight = 0;
    for (const status of ['pending', 'running', 'waiting'] as const) {
      let cursor: string | undefined;
      do {
        const page = await ctx.documents.query(paths.executions(ws), {
          where: [{ field: 'status', op: '==', value: status }],
          limit: PAGE,
          ...(cursor ? { cursor } : {}),
        });
        for (const doc of page.docs) {
          const execution = parseOrReport(ctx, doc);
          if (!execution) continue;
          executions++;
          inFlight++;
          try {
            redispatched += await engine.recover(ctx, execution, now - STALL_AFTER_MS);
          } catch (error) {
            // One execution that cannot be recovered (a task Cloud Tasks refuses, say) must not stop the
            // sweep for every other: it is recorded, and tried again on the next run.
            failed++;
            ctx.logger.error('Recovering an execution failed; the sweep goes on', {
              workspace: ws,
              executionId: execution.id,
              error: errorMessage(error),
            });
          }
        }
        cursor = page.nextCursor;
      } while (cursor);
    }
    // The admission counter is only a cache of this count: repair any drift a crash left.
    await poolOf(ctx).reconcile(ctx, ws, inFlight);
  }
  return { executions, redispatched, failed };
}

/** Deletes finished executions past their context TTL, at most `maxExecutions` a run. */
export async function cleanupExpired(
  ctx: Context,
  maxExecutions = 200,
): Promise<{ executions: number; documents: number; more: boolean }> {
  const now = ctx.clock.now();
  let executions = 0;
  let documents = 0;
  for await (const ws of workspaces(ctx)) {
    const page = await ctx.documents.query(paths.executions(ws), {
      where: [{ field: 'expiresAt', op: '<', value: now }],
      orderBy: [{ field: 'expiresAt' }],
      limit: Math.max(1, maxExecutions - executions),
    });
    for (const doc of page.docs) {
      const data = parseOrReport(ctx, doc);
      if (!data) continue;
      if (!['succeeded', 'failed', 'cancelled'].includes(data.status)) continue; // never pull a live context away
      documents += await deleteExecution(ctx, ws, data.id);
      executions++;
    }
    if (executions >= maxExecutions) return { executions, documents, more: true };
  }
  return { executions, documents, more: false };
}

/** One execution that cannot be read is logged and passed over: it must never stop a sweep. */
function parseOrReport(ctx: Context, doc: StoredDocument): Execution | null {
  try {
    return ExecutionDocument.parse(doc.path, doc.data);
  } catch (error) {
    ctx.logger.error('Sweep passed over an execution it cannot read', {
      path: doc.path,
      error: errorMessage(error),
    });
    return null;
  }
}

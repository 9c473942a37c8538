/**
 * Scheduled upkeep: recovering steps whose dispatch or lease was lost, and
 * deleting expired execution contexts with their checkpoints. Each run has a
 * bounded cost: recovery reads only the executions whose lease expired,
 * through an index (recovery.ts), at most `maxExecutions` a run.
 */
import { z } from 'zod';
import { errorMessage } from '../../platform/errors.js';
import type { Context } from '../../platform/orchestrator.js';
import { poolOf } from '../../platform/pool/store.js';
import type { StoredDocument } from '../../platform/ports.js';
import { CorruptDocumentError, defineDocumentKind, readDocument } from '../../platform/stored.js';
import type { ExecutionEngine } from './engine.js';
import { type Execution, ExecutionDocument } from './model.js';
import { hasRecoveryIndex } from './recovery.js';
import { deleteExecution, paths } from './store.js';

const PAGE = 100;
/** How many executions one recovery run looks at, at most; the rest wait for the next run. */
export const RECOVER_PER_RUN = 500;
/** An execution whose look failed is looked at again after this, so it cannot hold the head of the index. */
export const RETRY_FAILED_LOOK_MS = 5 * 60_000;
/** The collection group the recovery index covers: `workspaces/{ws}/executions`. */
const EXECUTIONS = 'executions';
const ACTIVE = ['pending', 'running', 'waiting'] as const;

/** Where the sweep keeps its place between runs. */
const MAINTENANCE_PATH = 'maintenance/executions';
const MaintenanceSchema = z.object({
  /** Set once every execution stored before the recovery index has one. */
  backfilled: z.boolean().default(false),
  /** Where the backfill goes on from. */
  backfillCursor: z.string().nullable().default(null),
  /** The page of workspaces the next admission reconcile starts at (null: the first). */
  reconcileCursor: z.string().nullable().default(null),
});
type Maintenance = z.infer<typeof MaintenanceSchema>;
const MaintenanceDocument = defineDocumentKind({ name: 'executions maintenance', schema: MaintenanceSchema });

export type RecoveryRun = {
  /** Executions looked at. */
  executions: number;
  /** Step dispatches and timers sent again. */
  redispatched: number;
  /** Looks that failed (logged; looked at again after RETRY_FAILED_LOOK_MS). */
  failed: number;
  /** Whether executions whose lease expired were left for the next run. */
  more: boolean;
  /** Workspaces whose admission count was reconciled this run. */
  reconciled: number;
};

/**
 * One recovery run: looks at the executions whose lease expired (oldest
 * first, bounded), backfills the index of executions stored before it (one
 * page a run, until done), and reconciles the admission count of one page of
 * workspaces (the next page on the next run).
 */
export async function recoverStalled(
  ctx: Context,
  engine: Pick<ExecutionEngine, 'recover'>,
  opts: { maxExecutions?: number } = {},
): Promise<RecoveryRun> {
  const now = ctx.clock.now();
  const max = opts.maxExecutions ?? RECOVER_PER_RUN;
  const run: RecoveryRun = { executions: 0, redispatched: 0, failed: 0, more: false, reconciled: 0 };
  let cursor: string | undefined;
  do {
    const page = await ctx.documents.queryGroup(EXECUTIONS, {
      where: [{ field: 'recoverAt', op: '<=', value: now }],
      orderBy: [{ field: 'recoverAt' }],
      limit: Math.min(PAGE, max - run.executions),
      ...(cursor ? { cursor } : {}),
    });
    for (const doc of page.docs) {
      await look(ctx, engine, doc, now, run);
      // On SQLite every await above settles without an I/O turn: let requests and dispatch in between looks.
      await new Promise((resolve) => setImmediate(resolve));
    }
    cursor = page.nextCursor;
  } while (cursor && run.executions < max);
  run.more = cursor !== undefined;

  const stored = await readDocument(ctx.documents, MaintenanceDocument, MAINTENANCE_PATH);
  const state: Maintenance = stored?.data ?? MaintenanceSchema.parse({});
  const next = { ...state };
  if (!state.backfilled) {
    const page = await ctx.documents.queryGroup(EXECUTIONS, {
      where: [{ field: 'status', op: 'in', value: [...ACTIVE] }],
      limit: PAGE,
      ...(state.backfillCursor ? { cursor: state.backfillCursor } : {}),
    });
    for (const doc of page.docs) if (!hasRecoveryIndex(doc.data)) await look(ctx, engine, doc, now, run);
    next.backfillCursor = page.nextCursor ?? null;
    next.backfilled = page.nextCursor === undefined;
  }
  const workspaces = await ctx.documents.query('workspaces', {
    limit: PAGE,
    ...(state.reconcileCursor ? { cursor: state.reconcileCursor } : {}),
  });
  for (const ws of workspaces.docs) {
    // The admission and waiting counters are only caches of these counts: repair any drift a crash left.
    const [inFlight, waiting] = await Promise.all([
      ctx.documents.count(paths.executions(ws.id), [{ field: 'status', op: 'in', value: [...ACTIVE] }]),
      ctx.documents.count(paths.executions(ws.id), [{ field: 'status', op: '==', value: 'waiting' }]),
    ]);
    await poolOf(ctx).reconcile(ctx, ws.id, { inFlight, waiting });
    run.reconciled++;
  }
  next.reconcileCursor = workspaces.nextCursor ?? null;
  if (!stored || JSON.stringify(next) !== JSON.stringify(state))
    await ctx.documents.set(MAINTENANCE_PATH, MaintenanceDocument.stamp(next));
  return run;
}

async function* workspaces(ctx: Context): AsyncGenerator<string> {
  let cursor: string | undefined;
  do {
    const page = await ctx.documents.query('workspaces', { limit: PAGE, ...(cursor ? { cursor } : {}) });
    for (const doc of page.docs) yield doc.id;
    cursor = page.nextCursor;
  } while (cursor);
}

/** `workspaces/{ws}/executions/{id}`: the execution a group query's document is, if it is one. */
function executionRef(path: string): { workspace: string; id: string } | null {
  const [root, workspace, collection, id, ...rest] = path.split('/');
  return root === 'workspaces' && collection === EXECUTIONS && workspace && id && rest.length === 0
    ? { workspace, id }
    : null;
}

/**
 * One execution's look. A failure is recorded and logged, and the sweep goes
 * on; the execution is looked at again after RETRY_FAILED_LOOK_MS.
 */
async function look(
  ctx: Context,
  engine: Pick<ExecutionEngine, 'recover'>,
  doc: StoredDocument,
  now: number,
  run: RecoveryRun,
): Promise<void> {
  const ref = executionRef(doc.path);
  if (!ref) return;
  run.executions++;
  try {
    run.redispatched += await engine.recover(ctx, ref, now);
  } catch (error) {
    // One execution that cannot be recovered (a task Cloud Tasks refuses, a corrupt document)
    // must not stop the sweep for every other.
    run.failed++;
    if (error instanceof CorruptDocumentError) {
      ctx.logger.error('Sweep passed over an execution it cannot read', {
        path: doc.path,
        error: errorMessage(error),
      });
    } else {
      ctx.logger.error('Recovering an execution failed; the sweep goes on', {
        workspace: ref.workspace,
        executionId: ref.id,
        error: errorMessage(error),
      });
    }
    // Only if nothing wrote it meanwhile: a commit keeps the index right by itself.
    await ctx.documents
      .update(doc.path, { recoverAt: now + RETRY_FAILED_LOOK_MS }, { ifVersion: doc.version })
      .catch(() => {});
  }
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

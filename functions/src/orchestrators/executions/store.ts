/**
 * Reads and writes of use cases, executions and checkpoints through the
 * documents port. Every execution change goes through `commitDecision`: one
 * transaction that checks the version it read, writes the new state and, when
 * a step settled, its checkpoint: at most two document writes per step.
 */
import { NotFoundError } from '../../platform/errors.js';
import type { DocumentStore, DocumentTransaction } from '../../platform/ports.js';
import { type Parsed, readDocument, readPage } from '../../platform/stored.js';
import type { Decision } from './machine.js';
import {
  type Checkpoint,
  CheckpointDocument,
  type Execution,
  ExecutionDocument,
  type ExecutionStatus,
  type StepState,
  type UseCase,
  type UseCaseBody,
  UseCaseDocument,
} from './model.js';

export type { Checkpoint } from './model.js';

export const paths = {
  useCases: (ws: string) => `workspaces/${ws}/useCases`,
  useCase: (ws: string, id: string) => `workspaces/${ws}/useCases/${id}`,
  useCaseVersion: (ws: string, id: string, version: number) =>
    `workspaces/${ws}/useCases/${id}/versions/${String(version).padStart(6, '0')}`,
  executions: (ws: string) => `workspaces/${ws}/executions`,
  execution: (ws: string, id: string) => `workspaces/${ws}/executions/${id}`,
  checkpoints: (ws: string, id: string) => `workspaces/${ws}/executions/${id}/checkpoints`,
  checkpoint: (ws: string, id: string, n: number) =>
    `workspaces/${ws}/executions/${id}/checkpoints/${String(n).padStart(6, '0')}`,
};

/** Creates or replaces a use case; each save is a new immutable version that executions pin. */
export async function saveUseCase(
  documents: DocumentStore,
  workspace: string,
  body: UseCaseBody,
  now: number,
): Promise<{ useCase: UseCase; created: boolean }> {
  return documents.transaction(async (tx) => {
    const existing = await readDocument(tx, UseCaseDocument, paths.useCase(workspace, body.id));
    const version = (existing?.data.version ?? 0) + 1;
    const useCase: UseCase = {
      ...body,
      workspace,
      version,
      createdAt: existing?.data.createdAt ?? now,
      updatedAt: now,
    };
    tx.set(paths.useCase(workspace, body.id), UseCaseDocument.stamp(useCase));
    tx.create(paths.useCaseVersion(workspace, body.id, version), UseCaseDocument.stamp(useCase));
    return { useCase, created: !existing };
  });
}

export async function getUseCase(
  documents: DocumentStore,
  workspace: string,
  id: string,
  version?: number,
): Promise<UseCase> {
  const doc = await readDocument(
    documents,
    UseCaseDocument,
    version === undefined ? paths.useCase(workspace, id) : paths.useCaseVersion(workspace, id, version),
  );
  if (!doc)
    throw new NotFoundError(`Use case ${id}${version === undefined ? '' : ` version ${version}`} not found`);
  return doc.data;
}

export async function listUseCases(
  documents: DocumentStore,
  workspace: string,
  limit: number,
  cursor?: string,
) {
  return readPage(
    UseCaseDocument,
    await documents.query(paths.useCases(workspace), {
      orderBy: [{ field: 'id' }],
      limit,
      ...(cursor ? { cursor } : {}),
    }),
  );
}

export async function createExecution(documents: DocumentStore, execution: Execution): Promise<void> {
  await documents.create(
    paths.execution(execution.workspace, execution.id),
    ExecutionDocument.stamp(execution),
  );
}

export async function getExecution(
  documents: DocumentStore,
  workspace: string,
  id: string,
): Promise<Parsed<Execution>> {
  const doc = await readDocument(documents, ExecutionDocument, paths.execution(workspace, id));
  if (!doc) throw new NotFoundError(`Execution ${id} not found`);
  return doc;
}

/**
 * Newest first. With `updatedAfter` (polling), only the executions updated
 * after it, ordered by `updatedAt` instead: Firestore wants a range filter's
 * field ordered, and the cursor then names a position in that order. On
 * Firestore, each equality filter combined with the order needs a composite
 * index (useCaseId and/or status, then createdAt or updatedAt descending).
 */
export async function listExecutions(
  documents: DocumentStore,
  workspace: string,
  filter: {
    useCaseId?: string | undefined;
    status?: ExecutionStatus | undefined;
    /** ms since epoch. */
    updatedAfter?: number | undefined;
    limit: number;
    cursor?: string | undefined;
  },
): Promise<{ docs: Parsed<Execution>[]; nextCursor: string | undefined }> {
  const polling = filter.updatedAfter !== undefined;
  const page = await documents.query(paths.executions(workspace), {
    where: [
      ...(filter.useCaseId ? [{ field: 'useCaseId', op: '==' as const, value: filter.useCaseId }] : []),
      ...(filter.status ? [{ field: 'status', op: '==' as const, value: filter.status }] : []),
      ...(polling ? [{ field: 'updatedAt', op: '>' as const, value: filter.updatedAfter }] : []),
    ],
    orderBy: [{ field: polling ? 'updatedAt' : 'createdAt', direction: 'desc' }],
    limit: filter.limit,
    ...(filter.cursor ? { cursor: filter.cursor } : {}),
  });
  return readPage(ExecutionDocument, page);
}

/**
 * Reads an execution, lets `decideFn` turn it into a decision, and commits the
 * new state with a checkpoint per settled step, all in one transaction that
 * fails if anyone wrote in between (and is then run again on fresh state).
 */
export async function commitDecision(
  documents: DocumentStore,
  workspace: string,
  id: string,
  decideFn: (
    execution: Execution,
    tx: DocumentTransaction,
  ) => Promise<(Decision & { inputs?: Record<string, unknown>; attempt?: number }) | null>,
): Promise<Decision | null> {
  return documents.transaction(async (tx) => {
    const doc = await readDocument(tx, ExecutionDocument, paths.execution(workspace, id));
    if (!doc) throw new NotFoundError(`Execution ${id} not found`);
    const decision = await decideFn(doc.data, tx);
    if (!decision?.accepted) return decision;
    const next = decision.state;
    for (const effect of decision.effects) {
      if (effect.type !== 'checkpoint') continue;
      next.checkpoint += 1;
      const step = next.steps[effect.stepId] as StepState;
      const checkpoint: Checkpoint = {
        n: next.checkpoint,
        at: next.updatedAt,
        stepId: effect.stepId,
        attempt: step.attempts,
        status: step.status,
        inputs: decision.inputs ?? {},
        context: next.context,
        steps: next.steps,
      };
      tx.create(paths.checkpoint(workspace, id, next.checkpoint), CheckpointDocument.stamp(checkpoint));
    }
    // The transaction re-checks the version it read before committing.
    tx.set(paths.execution(workspace, id), ExecutionDocument.stamp(next));
    return decision;
  });
}

export async function getCheckpoint(
  documents: DocumentStore,
  workspace: string,
  id: string,
  n: number,
): Promise<Checkpoint> {
  const doc = await readDocument(documents, CheckpointDocument, paths.checkpoint(workspace, id, n));
  if (!doc) throw new NotFoundError(`Checkpoint ${n} of execution ${id} not found`);
  return doc.data;
}

export async function listCheckpoints(
  documents: DocumentStore,
  workspace: string,
  id: string,
  limit: number,
  cursor?: string,
) {
  return readPage(
    CheckpointDocument,
    await documents.query(paths.checkpoints(workspace, id), {
      orderBy: [{ field: 'n' }],
      limit,
      ...(cursor ? { cursor } : {}),
    }),
  );
}

/** Deletes an execution and its checkpoints in bounded batches; returns how many documents went. */
export async function deleteExecution(
  documents: DocumentStore,
  workspace: string,
  id: string,
): Promise<number> {
  let removed = 0;
  for (;;) {
    const page = await documents.query(paths.checkpoints(workspace, id), { limit: 200 });
    for (const doc of page.docs) if (await documents.delete(doc.path)) removed++;
    if (page.docs.length < 200) break;
  }
  if (await documents.delete(paths.execution(workspace, id))) removed++;
  return removed;
}

/** The last checkpoint a step wrote, with the inputs it read then; null when it never settled. */
export async function lastCheckpointOf(
  documents: DocumentStore,
  workspace: string,
  id: string,
  stepId: string,
): Promise<Checkpoint | null> {
  const page = await documents.query(paths.checkpoints(workspace, id), {
    where: [{ field: 'stepId', op: '==', value: stepId }],
    orderBy: [{ field: 'n', direction: 'desc' }],
    limit: 1,
  });
  return readPage(CheckpointDocument, page).docs[0]?.data ?? null;
}

/**
 * Reads and writes of executions and checkpoints through the
 * documents port. An execution is a snapshot plus the checkpoints written
 * after it (record.ts). Every change goes through `commitDecision`: one
 * transaction that reads the snapshot, folds in the checkpoints since, makes
 * sure no checkpoint was added meanwhile, and writes the next checkpoint, the
 * snapshot, or both: a step that settles without changing the execution's
 * status costs one document write. The snapshot also carries the recovery
 * index (`recoverAt`, recovery.ts), written with it when the index must move.
 */
import { ConflictError, NotFoundError } from '../../platform/errors.js';
import type { DocumentStore, DocumentTransaction, Ports } from '../../platform/ports.js';
import { type Parsed, readDocument, readPage } from '../../platform/stored.js';
import type { Decision } from './machine.js';
import {
  type Checkpoint,
  CheckpointDocument,
  type CheckpointRecord,
  type Execution,
  ExecutionDocument,
  type ExecutionStatus,
  TERMINAL_EXECUTION,
} from './model.js';

import { changeOf, fold, needsSnapshot, startOf, stateAt } from './record.js';
import { indexAfterLook, indexAtCommit, storedRecoverAt } from './recovery.js';
import { type ValueOwner, valuesPrefix } from './values.js';

export type { Checkpoint, CheckpointRecord } from './model.js';

export const paths = {
  executions: (ws: string) => `workspaces/${ws}/executions`,
  execution: (ws: string, id: string) => `workspaces/${ws}/executions/${id}`,
  checkpoints: (ws: string, id: string) => `workspaces/${ws}/executions/${id}/checkpoints`,
  checkpoint: (ws: string, id: string, n: number) =>
    `workspaces/${ws}/executions/${id}/checkpoints/${String(n).padStart(6, '0')}`,
};

export async function createExecution(documents: DocumentStore, execution: Execution): Promise<void> {
  const { recoverAt } = indexAtCommit(null, execution, execution.updatedAt);
  await documents.create(
    paths.execution(execution.workspace, execution.id),
    stampSnapshot(execution, recoverAt),
  );
}

/** A snapshot as stored: the execution, and its recovery index (recovery.ts), which reads strip. */
function stampSnapshot(execution: Execution, recoverAt: number | null): Record<string, unknown> {
  return { ...ExecutionDocument.stamp(execution), recoverAt };
}

/** The snapshot, parsed, with the recovery index it carries (null when none). */
async function readSnapshot(
  tx: Pick<DocumentTransaction, 'get'>,
  workspace: string,
  id: string,
): Promise<{ snapshot: Parsed<Execution>; recoverAt: number | null }> {
  const path = paths.execution(workspace, id);
  const doc = await tx.get(path);
  if (!doc) throw new NotFoundError(`Execution ${id} not found`);
  return {
    snapshot: { ...doc, data: ExecutionDocument.parse(path, doc.data) },
    recoverAt: storedRecoverAt(doc.data),
  };
}

/** The execution now: its snapshot with the checkpoints written since folded in. */
export async function getExecution(
  documents: DocumentStore,
  workspace: string,
  id: string,
): Promise<Parsed<Execution>> {
  const doc = await readDocument(documents, ExecutionDocument, paths.execution(workspace, id));
  if (!doc) throw new NotFoundError(`Execution ${id} not found`);
  return { ...doc, data: (await current(documents, doc)).state };
}

/**
 * States this process folded, per store, by execution path, with the version
 * of the snapshot they grew from: checkpoints never change, so while the
 * snapshot is at that version, a read only folds what came after.
 */
const folded = new WeakMap<object, Map<string, { version: number; state: Execution }>>();
const FOLDED_MAX = 2_000;

function foldedIn(documents: DocumentStore): Map<string, { version: number; state: Execution }> {
  let map = folded.get(documents);
  if (!map) {
    map = new Map();
    folded.set(documents, map);
  }
  return map;
}

function remember(documents: DocumentStore, path: string, version: number, state: Execution): void {
  const map = foldedIn(documents);
  map.delete(path);
  if (map.size >= FOLDED_MAX) map.delete(map.keys().next().value as string);
  // Kept as it is: states are never changed in place (decide() works on a copy), so no copy is needed.
  map.set(path, { version, state });
}

/**
 * The execution now, from its snapshot. Checkpoints are written one after
 * another, so when this process folded the same snapshot before and the slot
 * after that state is still empty, that state is current and no query is
 * needed. `read` reads that slot: the store, or a transaction, whose commit
 * then fails if the slot fills meanwhile. `nextSlotEmpty` says it was read empty.
 */
async function current(
  documents: DocumentStore,
  snapshot: Parsed<Execution>,
  read: (path: string) => Promise<unknown> = (path) => documents.get(path),
): Promise<{ state: Execution; nextSlotEmpty: boolean }> {
  const known = foldedIn(documents).get(snapshot.path);
  const { workspace, id } = snapshot.data;
  const fresh = known?.version === snapshot.version ? known.state : undefined;
  if (fresh && !(await read(paths.checkpoint(workspace, id, fresh.checkpoint + 1)))) {
    return { state: fresh, nextSlotEmpty: true };
  }
  const base = fresh ?? snapshot.data;
  const state = fold(base, await checkpointsAfter(documents, workspace, id, base.checkpoint));
  remember(documents, snapshot.path, snapshot.version, state);
  return { state, nextSlotEmpty: false };
}

/** The checkpoints after `n`, in order: the tail a snapshot does not hold yet (bounded by COMPACT_EVERY, plus slack). */
async function checkpointsAfter(
  documents: DocumentStore,
  workspace: string,
  id: string,
  n: number,
): Promise<CheckpointRecord[]> {
  const records: CheckpointRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = readPage(
      CheckpointDocument,
      await documents.query(paths.checkpoints(workspace, id), {
        where: [{ field: 'n', op: '>', value: n }],
        orderBy: [{ field: 'n' }],
        limit: 200,
        ...(cursor ? { cursor } : {}),
      }),
    );
    records.push(...page.docs.map((d) => d.data));
    cursor = page.nextCursor;
  } while (cursor);
  return records;
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
  const parsed = readPage(ExecutionDocument, page);
  // A live execution's snapshot lags its checkpoints: fold them in, so a row's progress is current.
  const docs = await Promise.all(
    parsed.docs.map(async (doc) =>
      TERMINAL_EXECUTION.includes(doc.data.status)
        ? doc
        : { ...doc, data: (await current(documents, doc)).state },
    ),
  );
  return { docs, nextCursor: parsed.nextCursor };
}

/** Gives up after this many rounds of finding a checkpoint added between its read and its commit. */
const MAX_COMMIT_ROUNDS = 50;
const RACED = Symbol('raced');

/**
 * Reads an execution, lets `decideFn` turn it into a decision, and commits
 * it in one transaction that fails if anyone wrote in between (and is then
 * run again on fresh state). The transaction reads the snapshot and the slot
 * of the next checkpoint (which must be empty), so a concurrent checkpoint or
 * snapshot write makes one of the two commits run again; the checkpoints
 * between them are immutable and read outside it.
 */
export async function commitDecision(
  documents: DocumentStore,
  workspace: string,
  id: string,
  decideFn: (
    execution: Execution,
    tx: DocumentTransaction,
  ) => Promise<(Decision & { inputs?: Record<string, unknown> }) | null>,
): Promise<Decision | null> {
  for (let round = 1; ; round++) {
    const result = await documents.transaction(async (tx) => {
      const { snapshot, recoverAt } = await readSnapshot(tx, workspace, id);
      // The next checkpoint's slot is read inside the transaction: a checkpoint written there since
      // makes this commit run again.
      const { state: now, nextSlotEmpty } = await current(documents, snapshot, (path) => tx.get(path));
      if (!nextSlotEmpty && (await tx.get(paths.checkpoint(workspace, id, now.checkpoint + 1)))) return RACED;
      const decision = await decideFn(now, tx);
      if (!decision?.accepted) return decision;
      const next = decision.state;
      const settled = decision.effects.find((e) => e.type === 'checkpoint');
      if (settled?.type === 'checkpoint') {
        next.checkpoint = now.checkpoint + 1;
        const step = next.steps[settled.stepId];
        const record: CheckpointRecord = {
          n: next.checkpoint,
          at: next.updatedAt,
          stepId: settled.stepId,
          attempt: step?.attempts ?? 0,
          status: step?.status ?? 'succeeded',
          inputs: decision.inputs ?? {},
          change: changeOf(now, next),
        };
        tx.create(paths.checkpoint(workspace, id, next.checkpoint), CheckpointDocument.stamp(record));
      }
      const index = indexAtCommit(recoverAt, next, next.updatedAt);
      const rewrite =
        index.mustWrite || needsSnapshot(now, next, settled !== undefined, snapshot.data.checkpoint);
      // The transaction re-checks the snapshot's version before committing.
      if (rewrite) tx.set(paths.execution(workspace, id), stampSnapshot(next, index.recoverAt));
      return {
        decision,
        committed: { version: rewrite ? snapshot.version + 1 : snapshot.version, state: next },
      };
    });
    if (result === RACED) {
      if (round >= MAX_COMMIT_ROUNDS)
        throw new ConflictError(`Execution ${id}: gave up after ${round} rounds under contention`);
      continue;
    }
    if (result && 'committed' in result) {
      // Both stores count a document's versions up by one per write.
      remember(documents, paths.execution(workspace, id), result.committed.version, result.committed.state);
      return result.decision;
    }
    return result;
  }
}

/**
 * The recovery sweep's look at one execution: `look` gets its state now and
 * sends again what its expired leases held, naming them (recovery.ts,
 * leaseKey); then one transaction writes the snapshot again (compacted), with
 * the index after that look. A checkpoint written meanwhile only means a
 * fresher state: the index is computed from the state the transaction reads.
 */
export async function commitRecoveryLook(
  documents: DocumentStore,
  workspace: string,
  id: string,
  now: number,
  look: (execution: Execution) => Promise<ReadonlySet<string>>,
): Promise<void> {
  const sent = await look((await getExecution(documents, workspace, id)).data);
  for (let round = 1; ; round++) {
    const committed = await documents.transaction(async (tx) => {
      const { snapshot, recoverAt } = await readSnapshot(tx, workspace, id);
      const { state, nextSlotEmpty } = await current(documents, snapshot, (path) => tx.get(path));
      if (!nextSlotEmpty && (await tx.get(paths.checkpoint(workspace, id, state.checkpoint + 1))))
        return RACED;
      const index = indexAfterLook(state, now, sent);
      if (index === recoverAt && state.checkpoint === snapshot.data.checkpoint) return null;
      tx.set(paths.execution(workspace, id), stampSnapshot(state, index));
      return { version: snapshot.version + 1, state };
    });
    if (committed === RACED) {
      if (round >= MAX_COMMIT_ROUNDS)
        throw new ConflictError(`Execution ${id}: gave up after ${round} rounds under contention`);
      continue;
    }
    if (committed) remember(documents, paths.execution(workspace, id), committed.version, committed.state);
    return;
  }
}

/**
 * Checkpoint n as the API shows it: the record, with the context and step
 * states at that point. 0 is the start, which no step wrote: the input, the
 * variables and, for a fork, what it inherited (record.ts, startOf); diff and
 * fork mean the same by 0.
 */
export async function getCheckpoint(
  documents: DocumentStore,
  workspace: string,
  id: string,
  n: number,
): Promise<Checkpoint> {
  const [{ data: execution }, record] = await Promise.all([
    getExecution(documents, workspace, id),
    n === 0 ? null : readDocument(documents, CheckpointDocument, paths.checkpoint(workspace, id, n)),
  ]);
  if (n === 0) {
    const start = { n, at: execution.createdAt, stepId: null, attempt: 0, status: null, inputs: {} };
    return { ...start, ...startOf(execution) };
  }
  if (!record) throw new NotFoundError(`Checkpoint ${n} of execution ${id} not found`);
  const { change: _, ...rest } = record.data;
  return { ...rest, ...(await contextAt(documents, execution, n)) };
}

/** The context and step states at checkpoint n (0: the start), replayed from the checkpoints 1..n. */
export async function contextAt(
  documents: DocumentStore,
  execution: Execution,
  n: number,
): Promise<Pick<Checkpoint, 'context' | 'steps'>> {
  const records =
    n === 0
      ? []
      : (await checkpointsAfter(documents, execution.workspace, execution.id, 0)).filter((r) => r.n <= n);
  return stateAt(execution, records);
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
  { documents, blobs }: Pick<Ports, 'documents' | 'blobs'>,
  workspace: string,
  id: string,
): Promise<number> {
  let removed = 0;
  // Its values kept by reference first: an execution document left without them would point nowhere.
  for (;;) {
    const page = await blobs.list(valuesPrefix(workspace, id), { limit: 200 });
    for (const blob of page.blobs) await blobs.delete(blob.path);
    if (!page.nextCursor) break;
  }
  for (;;) {
    const page = await documents.query(paths.checkpoints(workspace, id), { limit: 200 });
    for (const doc of page.docs) if (await documents.delete(doc.path)) removed++;
    if (page.docs.length < 200) break;
  }
  if (await documents.delete(paths.execution(workspace, id))) removed++;
  return removed;
}

/** The last checkpoint a step wrote (at or before checkpoint `upTo`), with the inputs it read then; null when it never settled. */
async function lastCheckpointOf(
  documents: DocumentStore,
  workspace: string,
  id: string,
  stepId: string,
  upTo?: number,
): Promise<CheckpointRecord | null> {
  const page = await documents.query(paths.checkpoints(workspace, id), {
    where: [
      { field: 'stepId', op: '==', value: stepId },
      ...(upTo === undefined ? [] : [{ field: 'n', op: '<=' as const, value: upTo }]),
    ],
    orderBy: [{ field: 'n', direction: 'desc' }],
    limit: 1,
  });
  return readPage(CheckpointDocument, page).docs[0]?.data ?? null;
}

/** What a step read when it last ran, and the execution whose values its references name. */
export interface RecordedInputs {
  inputs: Record<string, unknown>;
  owner: ValueOwner;
}

/**
 * The inputs a step last ran on. A step a fork inherited ran in its parent
 * (or further up the line of forks), at or before the checkpoint the fork
 * started from: its inputs are recorded there. Null when the step never ran,
 * or when the execution that ran it is gone (its context expired).
 */
export async function recordedInputsOf(
  documents: DocumentStore,
  execution: Execution,
  stepId: string,
): Promise<RecordedInputs | null> {
  const { workspace } = execution;
  let holder: Execution = execution;
  let upTo: number | undefined;
  for (;;) {
    const record = await lastCheckpointOf(documents, workspace, holder.id, stepId, upTo);
    if (record) return { inputs: record.inputs, owner: { workspace, id: holder.id } };
    if (!holder.origin?.steps[stepId] || holder.parentId === null || holder.forkedFromCheckpoint === null)
      return null;
    upTo = holder.forkedFromCheckpoint;
    // A fork's origin and parent are set when it is created and never change: the snapshot has them.
    const parent = await readDocument(
      documents,
      ExecutionDocument,
      paths.execution(workspace, holder.parentId),
    );
    if (!parent) return null;
    holder = parent.data;
  }
}

/**
 * Reads and writes of use cases through the documents port. The head document
 * (`useCases/{id}`) is a copy of the latest version plus the archived flag;
 * each version (`useCases/{id}/versions/{n}`) is written once and never
 * rewritten, so an execution that pins one always reads what it ran.
 */
import { ConflictError, NotFoundError } from '../../platform/errors.js';
import type { DocumentStore } from '../../platform/ports.js';
import { readDocument, readPage } from '../../platform/stored.js';
import { type UseCase, type UseCaseBody, UseCaseDocument } from './model.js';

export const useCasePaths = {
  useCases: (ws: string) => `workspaces/${ws}/useCases`,
  useCase: (ws: string, id: string) => `workspaces/${ws}/useCases/${id}`,
  versions: (ws: string, id: string) => `workspaces/${ws}/useCases/${id}/versions`,
  useCaseVersion: (ws: string, id: string, version: number) =>
    `workspaces/${ws}/useCases/${id}/versions/${String(version).padStart(6, '0')}`,
};

export interface SaveOptions {
  /** What changed, shown beside the version. */
  note?: string;
  /** Refuse unless the latest version is this one: an editor saving over a version it did not see. */
  ifVersion?: number;
  /** `create`: refuse if it exists; `update`: refuse unless it exists; `upsert` (default): either. */
  mode?: 'create' | 'update' | 'upsert';
}

/** Why a save of use case `id` over `existing` is refused (it throws), as a save and its dry run both ask. */
export function refuseSave(id: string, existing: UseCase | null, opts: SaveOptions): void {
  const mode = opts.mode ?? 'upsert';
  if (existing && mode === 'create')
    throw new ConflictError(`Use case ${id} already exists; edit it to save a new version`, {
      useCase: id,
      version: existing.version,
    });
  if (!existing && mode === 'update') throw new NotFoundError(`Use case ${id} not found`);
  if (existing?.archived)
    throw new ConflictError(`Use case ${id} is archived; unarchive it before saving a new version`, {
      useCase: id,
    });
  if (opts.ifVersion !== undefined && (existing?.version ?? 0) !== opts.ifVersion)
    throw new ConflictError(
      `Use case ${id} is at version ${existing?.version ?? 0}, not ${opts.ifVersion}: reload and edit again`,
      { useCase: id, version: existing?.version ?? 0 },
    );
}

/** Creates a use case or saves its next version; versions are immutable once written. */
export async function saveUseCase(
  documents: DocumentStore,
  workspace: string,
  body: UseCaseBody,
  now: number,
  opts: SaveOptions = {},
): Promise<{ useCase: UseCase; created: boolean }> {
  return documents.transaction(async (tx) => {
    const existing = await readDocument(tx, UseCaseDocument, useCasePaths.useCase(workspace, body.id));
    // A workspace used without being created (the local owner may use any id) gets its document
    // here: everything that walks the workspaces (admission repair, fair shares, pool stats) sees it.
    const workspaceDoc = await tx.get(`workspaces/${workspace}`);
    refuseSave(body.id, existing?.data ?? null, opts);
    const version = (existing?.data.version ?? 0) + 1;
    const useCase: UseCase = {
      ...body,
      workspace,
      version,
      createdAt: existing?.data.createdAt ?? now,
      updatedAt: now,
      archived: false,
      note: opts.note ?? '',
    };
    if (!workspaceDoc) tx.create(`workspaces/${workspace}`, { name: workspace, createdAt: now });
    tx.set(useCasePaths.useCase(workspace, body.id), UseCaseDocument.stamp(useCase));
    tx.create(useCasePaths.useCaseVersion(workspace, body.id, version), UseCaseDocument.stamp(useCase));
    return { useCase, created: !existing };
  });
}

/** The latest version of a use case, or null when there is none. */
export async function findUseCase(
  documents: DocumentStore,
  workspace: string,
  id: string,
): Promise<UseCase | null> {
  return (await readDocument(documents, UseCaseDocument, useCasePaths.useCase(workspace, id)))?.data ?? null;
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
    version === undefined
      ? useCasePaths.useCase(workspace, id)
      : useCasePaths.useCaseVersion(workspace, id, version),
  );
  if (!doc)
    throw new NotFoundError(`Use case ${id}${version === undefined ? '' : ` version ${version}`} not found`);
  return doc.data;
}

/**
 * A page of use cases by id. Archived ones are left out unless asked for; the
 * filter runs on what was read (old documents have no `archived` field to query
 * on), reading on until the page is full or ten pages were read.
 */
export async function listUseCases(
  documents: DocumentStore,
  workspace: string,
  opts: { limit: number; cursor?: string | undefined; archived?: 'exclude' | 'include' | 'only' },
): Promise<{ useCases: UseCase[]; nextCursor: string | undefined }> {
  const want = opts.archived ?? 'exclude';
  const useCases: UseCase[] = [];
  let cursor = opts.cursor;
  for (let reads = 0; reads < 10; reads++) {
    const page = readPage(
      UseCaseDocument,
      await documents.query(useCasePaths.useCases(workspace), {
        orderBy: [{ field: 'id' }],
        limit: opts.limit - useCases.length,
        ...(cursor ? { cursor } : {}),
      }),
    );
    for (const { data } of page.docs) {
      if (want === 'include' || (want === 'only') === data.archived) useCases.push(data);
    }
    cursor = page.nextCursor;
    if (!cursor || useCases.length >= opts.limit) break;
  }
  return { useCases, nextCursor: cursor };
}

export async function listUseCaseVersions(
  documents: DocumentStore,
  workspace: string,
  id: string,
  opts: { limit: number; cursor?: string | undefined },
) {
  await getUseCase(documents, workspace, id); // 404 for an unknown use case, not an empty list
  return readPage(
    UseCaseDocument,
    await documents.query(useCasePaths.versions(workspace, id), {
      orderBy: [{ field: 'version', direction: 'desc' }],
      limit: opts.limit,
      ...(opts.cursor ? { cursor: opts.cursor } : {}),
    }),
  );
}

/** Archives or restores a use case; its versions and executions stay. */
export async function setArchived(
  documents: DocumentStore,
  workspace: string,
  id: string,
  archived: boolean,
  now: number,
): Promise<UseCase> {
  return documents.transaction(async (tx) => {
    const path = useCasePaths.useCase(workspace, id);
    const existing = await readDocument(tx, UseCaseDocument, path);
    if (!existing) throw new NotFoundError(`Use case ${id} not found`);
    const useCase: UseCase = { ...existing.data, archived, updatedAt: now };
    tx.set(path, UseCaseDocument.stamp(useCase));
    return useCase;
  });
}

/**
 * The one way from "run use case X" to a runnable definition. The engine
 * calls it for a new run (the latest version, refused when archived) and for
 * each step of a running one (the version the execution pinned). The
 * experiments capability plugs variant selection in here: `{ experiment }`
 * will pick the version a run gets.
 */
import { ConflictError } from '../../platform/errors.js';
import type { DocumentStore } from '../../platform/ports.js';
import type { UseCase } from './model.js';
import { getUseCase } from './store.js';

export type UseCaseSelector =
  /** The latest version, for a new run: an archived use case starts nothing. */
  | { version?: undefined }
  /** A pinned version: what an execution started with, archived or not. */
  | { version: number };

export async function resolveUseCase(
  documents: DocumentStore,
  workspace: string,
  id: string,
  selector: UseCaseSelector = {},
): Promise<UseCase> {
  if (selector.version !== undefined) return getUseCase(documents, workspace, id, selector.version);
  const latest = await getUseCase(documents, workspace, id);
  if (latest.archived)
    throw new ConflictError(`Use case ${id} is archived: unarchive it to start runs`, { useCase: id });
  return latest;
}

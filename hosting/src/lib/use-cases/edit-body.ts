/**
 * A use case as its editor shows it (JSON of what an author may change) and the body a save sends.
 * Pure functions of their input.
 */
import type { UseCase, UseCaseEdit, UseCaseWithNotice } from './api.ts';

/** What the server sets on every version (or tells beside it): not the author's to edit. */
const SERVER_FIELDS = [
  'id',
  'workspace',
  'version',
  'createdAt',
  'updatedAt',
  'archived',
  'note',
  'templateDeprecation',
] as const;

/** The use case without what the server sets, in its own key order. */
export function editableOf(useCase: UseCase | UseCaseWithNotice): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...useCase };
  for (const key of SERVER_FIELDS) delete copy[key];
  return copy;
}

/** The editor's text of a use case: its editable part, pretty-printed. */
export function editorText(useCase: UseCase | UseCaseWithNotice): string {
  return JSON.stringify(editableOf(useCase), null, 2);
}

/**
 * The author's JSON as a use case to send: an object, or why it is not one.
 */
export function parseEdited(text: string): { ok: true; value: Record<string, unknown> } | { ok: false; message: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, message: `Not JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, message: 'A use case is a JSON object: { "name": …, "workflow": { "steps": [ … ] }, … }' };
  return { ok: true, value: value as Record<string, unknown> };
}

/**
 * The PUT body for what the author typed: their use case without what the server sets, the note
 * when there is one, and the version the edit was made on.
 */
export function editBody(edited: Record<string, unknown>, note: string, ifVersion: number | undefined): UseCaseEdit {
  const body: Record<string, unknown> = { ...edited };
  for (const key of SERVER_FIELDS) delete body[key];
  const trimmed = note.trim();
  return {
    ...body,
    ...(trimmed ? { note: trimmed } : {}),
    ...(ifVersion === undefined ? {} : { ifVersion }),
  };
}

/**
 * A workspace's pool settings as the operator types them, and the body a save sends. The server
 * is the one validator: what was typed goes to it as typed when it is not a number, and its
 * `invalid-input` problem names each bad field. Pure functions of their input.
 */
import type { ProblemField } from '../api.ts';
import type { WorkspacePoolSettings } from './api.ts';

export const SETTINGS_FIELDS = ['weight', 'queueBudget', 'maxConcurrent'] as const;
export type SettingsField = (typeof SETTINGS_FIELDS)[number];

/** The text in each field; an empty cap means "no cap". */
export type SettingsDraft = Record<SettingsField, string>;

export function draftOf(settings: WorkspacePoolSettings): SettingsDraft {
  return {
    weight: String(settings.weight),
    queueBudget: String(settings.queueBudget),
    maxConcurrent: settings.maxConcurrent === undefined ? '' : String(settings.maxConcurrent),
  };
}

/** A number when the text is one, else the trimmed text itself (for the server to refuse by name). */
function numberOrText(text: string): number | string {
  const trimmed = text.trim();
  const value = Number(trimmed);
  return trimmed !== '' && Number.isFinite(value) ? value : trimmed;
}

/**
 * The PUT body for a draft: every field the form shows, an empty cap as `null` (the PUT keeps a
 * field it is not sent, so a cap is removed by saying so).
 * @example settingsBody({ weight: '2', queueBudget: '500', maxConcurrent: '' }) // { weight: 2, queueBudget: 500, maxConcurrent: null }
 */
export function settingsBody(draft: SettingsDraft): Record<string, unknown> {
  return {
    weight: numberOrText(draft.weight),
    queueBudget: numberOrText(draft.queueBudget),
    maxConcurrent: draft.maxConcurrent.trim() === '' ? null : numberOrText(draft.maxConcurrent),
  };
}

/** The fields an `invalid-input` problem names (its paths read `body.<field>`). */
export function invalidFields(errors: readonly ProblemField[]): Set<SettingsField> {
  const fields = new Set<SettingsField>();
  for (const { path } of errors) {
    const field = SETTINGS_FIELDS.find((name) => path === `body.${name}` || path.startsWith(`body.${name}.`));
    if (field) fields.add(field);
  }
  return fields;
}

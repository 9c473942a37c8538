/** Operator-typed JSON (a fork's edited input): parsed, or the parser's complaint to show inline. */

export type ParsedJson = { ok: true; value: unknown } | { ok: false; message: string };

export function parseJsonInput(text: string): ParsedJson {
  if (text.trim() === '') return { ok: false, message: 'Enter a JSON value, e.g. {}' };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}

/** Pretty-printed for display and editing; `undefined` (never stored) shows as `null`. */
export function formatJson(value: unknown): string {
  return JSON.stringify(value ?? null, null, 2);
}

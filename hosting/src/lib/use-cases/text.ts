/** Prose from templates as written: `code` spans marked with backticks. Pure. */

export interface TextPart {
  text: string;
  code: boolean;
}

/**
 * A description split on its backtick code spans, for a page to show them as code.
 * @example inlineCode('`high` for payments') // [{ text: 'high', code: true }, { text: ' for payments', code: false }]
 */
export function inlineCode(text: string): TextPart[] {
  const parts: TextPart[] = [];
  const pattern = /`([^`]+)`/g;
  let at = 0;
  for (const match of text.matchAll(pattern)) {
    const start = match.index ?? 0;
    if (start > at) parts.push({ text: text.slice(at, start), code: false });
    parts.push({ text: match[1] ?? '', code: true });
    at = start + match[0].length;
  }
  if (at < text.length) parts.push({ text: text.slice(at), code: false });
  return parts;
}

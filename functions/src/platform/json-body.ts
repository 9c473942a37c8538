/**
 * A request body read as JSON, refused before any work that a hostile body
 * could make expensive: the nesting is counted on the raw bytes (JSON.parse
 * copes with 100,000 levels, but every recursive walk after it, zod and
 * JSON.stringify included, overflows the stack), and the bytes must be UTF-8
 * (decoding them loosely would store replacement characters in their place).
 */
import { errorMessage, InvalidInputError } from './errors.js';

/**
 * The deepest nesting of arrays and objects a body may have. Stored documents
 * allow 20 (document-rules.ts), so this leaves room for the envelope around them.
 */
export const MAX_BODY_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = new Set([0x5b, 0x7b]); // [ {
const CLOSE = new Set([0x5d, 0x7d]); // ] }

/**
 * The deepest nesting in `bytes`, counting brackets outside strings; it stops
 * as soon as it passes `limit`. Bytes of a multi-byte UTF-8 character are all
 * >= 0x80, so they never look like a bracket or a quote.
 */
export function jsonDepth(bytes: Uint8Array, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) inString = true;
    else if (OPEN.has(b)) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (CLOSE.has(b)) depth--;
  }
  return deepest;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * The body's JSON value; `undefined` when there is no body at all. A body
 * that says it is JSON must be one: an empty body sent as JSON is refused,
 * as `null` would be by a schema that wants an object.
 */
export function readJsonBody(bytes: Uint8Array | undefined, contentType: string | undefined): unknown {
  const type = contentType ?? '';
  const isJson = /^application\/([a-z.+-]*\+)?json\b/i.test(type);
  if (!bytes || bytes.byteLength === 0) {
    if (isJson) {
      throw new InvalidInputError('The body is empty but its content-type says JSON', [
        { path: 'body', message: 'empty; send a JSON value, or no content-type with no body' },
      ]);
    }
    return undefined;
  }
  if (!isJson) {
    throw new InvalidInputError('Body must be JSON (content-type: application/json)', [
      { path: 'headers.content-type', message: `expected application/json, got "${type || 'nothing'}"` },
    ]);
  }
  if (jsonDepth(bytes, MAX_BODY_DEPTH) > MAX_BODY_DEPTH) {
    throw new InvalidInputError(`Body is nested deeper than ${MAX_BODY_DEPTH} levels`, [
      { path: 'body', message: `nested deeper than ${MAX_BODY_DEPTH} arrays or objects` },
    ]);
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new InvalidInputError('Body is not valid UTF-8', [{ path: 'body', message: 'not valid UTF-8' }]);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(`Body is not valid JSON: ${errorMessage(error)}`, [
      { path: 'body', message: 'not valid JSON' },
    ]);
  }
}

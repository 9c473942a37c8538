/**
 * `{{name}}` / `{{name.field}}` placeholders, filled from a step's inputs: the
 * one template renderer the agents share (prompts, URLs, messages). Plain
 * lookups, never expressions.
 */
import { PermanentError } from '../../../platform/errors.js';

const PLACEHOLDER = /\{\{\s*([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)\s*\}\}/g;

function inputAt(inputs: Record<string, unknown>, path: string): unknown {
  let value: unknown = inputs;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/**
 * Fills `{{name}}` (or `{{name.field}}`) from the inputs: strings as they are,
 * anything else as JSON. A name that is not one of the step's inputs is a
 * config error. A missing or null field renders as nothing, like the `human`
 * agent's prompts, unless `strict` (URLs: an empty path segment would quietly
 * address another resource).
 */
export function renderTemplate(
  template: string,
  inputs: Record<string, unknown>,
  opts: {
    encode?: (value: string) => string;
    strict?: boolean /** Names the template in errors. */;
    what?: string;
  } = {},
): string {
  const encode = opts.encode ?? ((value: string) => value);
  return template.replace(PLACEHOLDER, (_match, path: string) => {
    const name = path.split('.')[0] as string;
    const value = inputAt(inputs, path);
    if (!Object.hasOwn(inputs, name)) {
      throw new PermanentError(
        `${opts.what ?? 'the template'} uses {{${name}}}, which is not one of the step's inputs`,
        {
          details: { placeholder: path },
        },
      );
    }
    if (opts.strict && (value === undefined || value === null)) {
      throw new PermanentError(`${opts.what ?? 'the template'} placeholder {{${path}}} has no value`, {
        details: { placeholder: path },
      });
    }
    if (value === undefined || value === null) return '';
    return encode(typeof value === 'string' ? value : JSON.stringify(value));
  });
}

/**
 * "Start from …": a new template that extends one of the library's, pinned to its current version,
 * with a metadata block to fill in and the inherited defaults as comments to uncomment: an
 * author's own variant without writing a workflow. Pure functions of their input; the text is
 * written by hand (comments are the point), its scalars quoted whenever plain YAML would misread
 * them.
 */
import type { TemplateVariable } from './api.ts';

/** What the skeleton needs of the template it extends. */
export interface StartFromBase {
  id: string;
  /** The version it pins: the library's current one. */
  version: string;
  name: string;
  vertical: string;
  tags: readonly string[];
}

const TEMPLATE_API_VERSION = 'seraphim.dev/v1';
const MAX_ID_LENGTH = 63;
/** Plain scalars YAML's core schema reads as something other than a string. */
const NOT_STRINGS = /^(?:true|false|null|~|yes|no|on|off|y|n)$/i;

/**
 * A string as a YAML scalar: plain when YAML reads it back as that same string (words, ids,
 * versions), JSON-quoted (a YAML double-quoted scalar) otherwise.
 */
export function yamlString(value: string): string {
  const plain = /^[A-Za-z][A-Za-z0-9 ._()/-]*[A-Za-z0-9.)]$|^[A-Za-z]$|^\d+\.\d+\.\d+$/.test(value);
  return plain && !NOT_STRINGS.test(value) ? value : JSON.stringify(value);
}

/** Any value as YAML flow (JSON is YAML), for a one-line comment. */
function flow(value: unknown): string {
  return typeof value === 'string' ? yamlString(value) : JSON.stringify(value);
}

/** One line of prose for a comment: no line breaks, at most `max` characters. */
function oneLine(text: string, max = 80): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** A template id of one's own for a variant of `base`, not among `taken`: `my-<base>`, then `my-<base>-2`, … */
export function variantId(base: string, taken: Iterable<string> = []): string {
  const used = new Set(taken);
  const stem = `my-${base}`.slice(0, MAX_ID_LENGTH).replace(/-+$/, '');
  if (!used.has(stem)) return stem;
  for (let n = 2; ; n++) {
    const suffix = `-${n}`;
    const id = `${stem.slice(0, MAX_ID_LENGTH - suffix.length).replace(/-+$/, '')}${suffix}`;
    if (!used.has(id)) return id;
  }
}

/**
 * The source of a new template extending `base`: metadata to fill in (an id of its own, version
 * 1.0.0, the base's vertical and tags), `extends` pinned to the base's version, and the inherited
 * variables' defaults as comments, ready to be uncommented and changed.
 */
export function startFromSkeleton(
  base: StartFromBase,
  variables: Readonly<Record<string, TemplateVariable>> = {},
  taken: Iterable<string> = [],
): string {
  const ref = `${base.id}@${base.version}`;
  const tags = base.tags.map(yamlString).join(', ');
  const lines = [
    `# A variant of ${ref}: it inherits everything, and changes what you write below.`,
    `apiVersion: ${TEMPLATE_API_VERSION}`,
    'kind: Template',
    'metadata:',
    `  id: ${variantId(base.id, taken)}  # yours: lower-case letters, digits and dashes`,
    '  version: 1.0.0',
    `  name: ${yamlString(`${base.name} (variant)`)}`,
    `  vertical: ${yamlString(base.vertical)}`,
    `  tags: [${tags}]`,
    `  description: ""  # what it is for, in a sentence or two`,
    `  changelog: ${yamlString(`First version, from ${ref}`)}`,
    'extends:',
    `  id: ${yamlString(base.id)}`,
    `  version: ${yamlString(base.version)}`,
  ];
  const defaults = Object.entries(variables).filter(([, variable]) => variable.default !== undefined);
  if (defaults.length > 0) {
    lines.push(
      '# Uncomment a variable to change its default (or add variables of your own):',
      '# variables:',
      ...defaults.map(([name, variable]) => {
        const about = oneLine([variable.type, variable.description ?? ''].filter(Boolean).join(': '));
        return `#   ${name}: { default: ${flow(variable.default)} }  # ${about}`;
      }),
    );
  }
  lines.push(
    '# The use case it makes is an overlay too: set what differs, e.g.',
    '# spec:',
    '#   pool: { priority: high }',
    '',
  );
  return lines.join('\n');
}

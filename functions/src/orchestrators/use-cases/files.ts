/**
 * Templates and use cases as files: YAML or JSON, one or several documents
 * per file, the basis of `seraphim apply`. Reading is guarded: a size limit
 * before parsing, YAML aliases capped (an alias bomb expands a few hundred
 * bytes into gigabytes), and every document checked against its kind's
 * schema, with problems at JSON pointers. Writing gives back what was read:
 * a round trip loses nothing.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { parseAllDocuments, stringify } from 'yaml';
import { z } from 'zod';
import { bodyOf, type UseCase, UseCaseIdSchema } from './model.js';
import { isPlainObject } from './templates/merge.js';
import {
  SemverSchema,
  TEMPLATE_API_VERSION,
  type Template,
  TemplateIdSchema,
  TemplateSchema,
} from './templates/model.js';

/** The most a configuration file may hold: configuration, not data. */
export const MAX_FILE_BYTES = 1024 * 1024;
/** YAML aliases a file may use; anchors for shared blocks stay possible, bombs do not. */
export const MAX_YAML_ALIASES = 100;
/** Documents in one file. */
export const MAX_DOCUMENTS = 200;

export const UseCaseFileSchema = z
  .strictObject({
    apiVersion: z.literal(TEMPLATE_API_VERSION),
    kind: z.literal('UseCase'),
    metadata: z.strictObject({
      id: UseCaseIdSchema,
      name: z.string().min(1).max(200).optional(),
      description: z.string().max(4000).optional(),
    }),
    /** Made from a template: which, and with what values. Alone, the use case is instantiated from it. */
    template: z
      .strictObject({
        id: TemplateIdSchema,
        version: SemverSchema.optional(),
        values: z.record(z.string(), z.unknown()).default({}),
      })
      .optional(),
    /** The use case itself (as the API takes it, less id, name and description). Wins over `template`. */
    spec: z.record(z.string(), z.unknown()).optional(),
  })
  .refine((f) => f.template !== undefined || f.spec !== undefined, {
    message: 'a use case file needs `template` (to instantiate) or `spec` (the use case itself)',
  })
  .meta({ id: 'UseCaseFile' });
export type UseCaseFile = z.infer<typeof UseCaseFileSchema>;

export type ConfigDocument =
  | { kind: 'Template'; template: Template }
  | { kind: 'UseCase'; useCase: UseCaseFile };

export interface FileProblem {
  /** `file.yaml#2` (the second document) and a JSON pointer inside it. */
  where: string;
  pointer: string;
  message: string;
}

export class ConfigFileError extends Error {
  constructor(readonly problems: FileProblem[]) {
    super(problems.map((p) => `${p.where}${p.pointer ? ` ${p.pointer}` : ''}: ${p.message}`).join('\n'));
  }
}

/**
 * Reads a configuration file: a regular file (not a device, a pipe or a folder), at most
 * MAX_FILE_BYTES read whatever its size claims, in UTF-8 (a byte that is not is refused, not
 * replaced), a byte-order mark dropped.
 */
export function readConfigFile(path: string): ConfigDocument[] {
  let fd: number | undefined;
  let bytes: Buffer;
  try {
    const stat = statSync(path);
    if (!stat.isFile())
      throw new ConfigFileError([{ where: path, pointer: '', message: 'not a regular file' }]);
    fd = openSync(path, 'r');
    const buffer = Buffer.alloc(MAX_FILE_BYTES + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > MAX_FILE_BYTES)
        throw new ConfigFileError([
          { where: path, pointer: '', message: `a file may have at most ${MAX_FILE_BYTES} bytes` },
        ]);
    }
    bytes = buffer.subarray(0, length);
  } catch (error) {
    if (error instanceof ConfigFileError) throw error;
    throw new ConfigFileError([
      { where: path, pointer: '', message: `cannot read it: ${(error as Error).message}` },
    ]);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  let text: string;
  try {
    // fatal: a byte that is not UTF-8 is refused, not replaced; the BOM is dropped (ignoreBOM false).
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ConfigFileError([{ where: path, pointer: '', message: 'not UTF-8 text' }]);
  }
  return parseConfigFile(path, text);
}

/** Parses a file's text into checked documents; throws ConfigFileError listing every problem. */
export function parseConfigFile(name: string, text: string): ConfigDocument[] {
  text = text.replace(/^\uFEFF/, ''); // a byte-order mark, which JSON.parse refuses
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_FILE_BYTES)
    throw new ConfigFileError([
      { where: name, pointer: '', message: `${bytes} bytes; a file may have at most ${MAX_FILE_BYTES}` },
    ]);
  const problems: FileProblem[] = [];
  const out: ConfigDocument[] = [];
  let raw: unknown[];
  if (/\.json$/i.test(name)) {
    try {
      const parsed = JSON.parse(text) as unknown;
      raw = Array.isArray(parsed) ? parsed : [parsed];
    } catch (error) {
      throw new ConfigFileError([
        { where: name, pointer: '', message: `not valid JSON: ${(error as Error).message}` },
      ]);
    }
  } else {
    const docs = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true, resolveKnownTags: false });
    const list = Array.isArray(docs) ? docs : [docs];
    if (list.length > MAX_DOCUMENTS)
      throw new ConfigFileError([
        { where: name, pointer: '', message: `${list.length} documents; at most ${MAX_DOCUMENTS}` },
      ]);
    raw = [];
    list.forEach((doc, i) => {
      const where = `${name}#${i + 1}`;
      for (const e of doc.errors)
        problems.push({ where, pointer: '', message: `not valid YAML: ${e.message}` });
      // A tag this schema does not know (`!custom`, YAML 1.1's `!!set`) would read as something else.
      for (const w of doc.warnings)
        problems.push({ where, pointer: '', message: `YAML refused: ${w.message}` });
      if (doc.errors.length > 0 || doc.warnings.length > 0) return;
      try {
        raw.push(doc.toJS({ maxAliasCount: MAX_YAML_ALIASES }));
      } catch (error) {
        problems.push({ where, pointer: '', message: `YAML refused: ${(error as Error).message}` });
      }
    });
    if (problems.length > 0) throw new ConfigFileError(problems);
  }
  raw.forEach((doc, i) => {
    const where = raw.length > 1 ? `${name}#${i + 1}` : name;
    if (doc === null || doc === undefined) return; // an empty document between `---` separators
    const kind = isPlainObject(doc) ? doc.kind : undefined;
    const schema = kind === 'Template' ? TemplateSchema : kind === 'UseCase' ? UseCaseFileSchema : null;
    if (!schema) {
      problems.push({ where, pointer: '/kind', message: 'must be Template or UseCase' });
      return;
    }
    const parsed = schema.safeParse(doc);
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        problems.push({
          where,
          pointer: issue.path.map((p) => `/${String(p)}`).join(''),
          message: issue.message,
        });
      return;
    }
    out.push(
      kind === 'Template'
        ? { kind: 'Template', template: parsed.data as Template }
        : { kind: 'UseCase', useCase: parsed.data as UseCaseFile },
    );
  });
  if (problems.length > 0) throw new ConfigFileError(problems);
  return out;
}

/** A use case as a file: its whole spec, and the template it came from. */
export function useCaseToFile(useCase: UseCase): UseCaseFile {
  const { id, name, description, template, ...spec } = bodyOf(useCase);
  return {
    apiVersion: TEMPLATE_API_VERSION,
    kind: 'UseCase',
    metadata: { id, name, description },
    ...(template ? { template } : {}),
    spec,
  };
}

export function toYaml(documents: readonly unknown[]): string {
  return documents.map((d) => stringify(d, { aliasDuplicateObjects: false, lineWidth: 0 })).join('---\n');
}

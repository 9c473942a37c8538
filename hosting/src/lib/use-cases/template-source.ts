/**
 * A template's source as an author pastes it or picks it from a file: YAML or JSON text, read in
 * the browser with the guards of the server's file reader (`functions/…/use-cases/files.ts`): a
 * size limit, YAML aliases capped (an alias bomb expands a few hundred bytes into gigabytes),
 * duplicate keys and unknown tags refused. And the line of the source a problem's JSON pointer
 * names, read from the YAML document's ranges.
 *
 * Pure functions of their input. The `yaml` module is passed in: the pages that read or write YAML
 * load it (`loadYaml`) when they need it, so it never weighs on the first page.
 */
import type { Document, LineCounter } from 'yaml';
import type { ProblemField } from '../api.ts';
import { parsePointer, problemPointer } from './pointers.ts';

export type Yaml = typeof import('yaml');

/** The `yaml` package, in a chunk of its own: only the pages that read or write YAML ask for it. */
export function loadYaml(): Promise<Yaml> {
  return import('yaml');
}

/** The most a template's source may hold, as the server's file reader allows: configuration, not data. */
export const MAX_SOURCE_BYTES = 1024 * 1024;
/** YAML aliases a source may use; anchors for shared blocks stay possible, bombs do not. */
export const MAX_YAML_ALIASES = 100;

/** One problem with the source: where (a JSON pointer, '' for the whole) and, when known, its line (1-based). */
export interface SourceProblem {
  pointer: string;
  message: string;
  line?: number;
}

export type SourceFormat = 'yaml' | 'json';

export type ParsedSource =
  | {
      ok: true;
      format: SourceFormat;
      value: unknown;
      /** The line (1-based) a JSON pointer names in the source, or undefined when it cannot say. */
      lineOf: (pointer: string) => number | undefined;
    }
  | { ok: false; format: SourceFormat; problems: SourceProblem[] };

const noLines = (): undefined => undefined;

/** Bytes of `text` as UTF-8, without encoding it. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** The 1-based line of a character offset. */
export function lineAt(text: string, offset: number): number {
  let line = 1;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** The offset where a 1-based line starts (the end of the text past the last line). */
export function lineStart(text: string, line: number): number {
  let at = 0;
  for (let n = 1; n < line; n++) {
    const next = text.indexOf('\n', at);
    if (next < 0) return text.length;
    at = next + 1;
  }
  return at;
}

/** `yaml`'s error message without its pretty context (the position and the excerpt under it). */
function plainMessage(message: string): string {
  const first = message.split('\n', 1)[0] ?? '';
  return first.replace(/ at line \d+, column \d+:?$/, '');
}

/** Where a node of a YAML document starts. */
function startOf(node: unknown): number | undefined {
  const range = (node as { range?: readonly number[] } | null | undefined)?.range;
  return range?.[0];
}

/**
 * The line a JSON pointer names in a YAML document: the key of the value it names (a value of a
 * mapping often starts on the line below), or the item of a list. A pointer to something the
 * source does not hold (a missing field) names its nearest enclosing key; one that matches nothing
 * at all (or the whole document) has no line.
 */
export function pointerLine(
  yaml: Yaml,
  doc: Document,
  counter: LineCounter,
  pointer: string,
): number | undefined {
  let node: unknown = doc.contents;
  let offset: number | undefined;
  for (const token of parsePointer(pointer)) {
    if (yaml.isMap(node)) {
      const pair = node.items.find((item) => yaml.isScalar(item.key) && String(item.key.value) === token);
      if (!pair) break;
      offset = startOf(pair.key) ?? offset;
      node = pair.value;
    } else if (yaml.isSeq(node)) {
      const item = /^(0|[1-9]\d*)$/.test(token) ? node.items[Number(token)] : undefined;
      if (item === undefined) break;
      offset = startOf(item) ?? offset;
      node = item;
    } else break;
  }
  return offset === undefined ? undefined : counter.linePos(offset).line;
}

/**
 * Reads a template's source. JSON (text that starts with `{` or `[`) is read as JSON, like the
 * server's reader reads a `.json` file; everything else as YAML: one document, duplicate keys and
 * tags the schema does not know refused (YAML 1.1's `!!set` would read as something else), and at
 * most MAX_YAML_ALIASES aliases resolved. Every problem found comes back, each with its line when
 * the text says.
 */
export function parseTemplateSource(text: string, yaml: Yaml): ParsedSource {
  const source = text.replace(/^\uFEFF/, '');
  const format: SourceFormat = /^\s*[{[]/.test(source) ? 'json' : 'yaml';
  const refuse = (message: string, line?: number): ParsedSource => ({
    ok: false,
    format,
    problems: [{ pointer: '', message, ...(line === undefined ? {} : { line }) }],
  });
  const bytes = utf8Length(source);
  if (bytes > MAX_SOURCE_BYTES) return refuse(`${bytes} bytes; a template's source may have at most ${MAX_SOURCE_BYTES}`);
  if (source.trim() === '') return refuse('Nothing to read: paste a template, or choose a file');

  const counter = new yaml.LineCounter();
  const options = { uniqueKeys: true, resolveKnownTags: false, prettyErrors: true, lineCounter: counter } as const;
  let docs: Document.Parsed[];
  try {
    docs = [...yaml.parseAllDocuments(source, options)];
  } catch (error) {
    if (format === 'yaml') return refuse(`Not valid YAML: ${(error as Error).message}`);
    docs = [];
  }

  if (format === 'json') {
    let value: unknown;
    try {
      value = JSON.parse(source);
    } catch (error) {
      const message = (error as Error).message;
      const position = /at position (\d+)/.exec(message)?.[1];
      return refuse(`Not valid JSON: ${message}`, position === undefined ? undefined : lineAt(source, Number(position)));
    }
    // The lines come from the same text read as YAML (JSON is YAML), when it reads as one document.
    const doc = docs.length === 1 ? docs[0] : undefined;
    const lineOf =
      doc && doc.errors.length === 0 ? (pointer: string) => pointerLine(yaml, doc, counter, pointer) : noLines;
    return { ok: true, format, value, lineOf };
  }

  const documents = docs.filter((doc) => doc.contents !== null || doc.errors.length > 0);
  if (documents.length === 0) return refuse('Nothing to read: the YAML holds no document');
  if (documents.length > 1) {
    const second = startOf(documents[1]?.contents);
    return refuse(
      `${documents.length} documents: publish one template at a time`,
      second === undefined ? undefined : counter.linePos(second).line,
    );
  }
  const doc = documents[0] as Document.Parsed;
  const problems: SourceProblem[] = [
    ...doc.errors.map((e) => ({ pointer: '', message: `Not valid YAML: ${plainMessage(e.message)}`, line: e.linePos?.[0].line })),
    // A tag this schema does not know (`!custom`, `!!set`) would read as something else: refused, not guessed.
    ...doc.warnings.map((w) => ({ pointer: '', message: `YAML refused: ${plainMessage(w.message)}`, line: w.linePos?.[0].line })),
  ].map(({ line, ...problem }) => (line === undefined ? problem : { ...problem, line }));
  if (problems.length > 0) return { ok: false, format, problems };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (error) {
    return refuse(`YAML refused: ${(error as Error).message}`);
  }
  return { ok: true, format, value, lineOf: (pointer) => pointerLine(yaml, doc, counter, pointer) };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Template ids whose page is another page of Mission Control: `/use-cases/templates/publish` is
 * where templates are published, so a template named so could not be opened.
 */
export const RESERVED_TEMPLATE_IDS: readonly string[] = ['publish'];

/**
 * What the browser already knows is wrong with a source read as `value`, before the server is
 * asked: it is not a mapping, it is a use case (which `seraphim apply` takes, not this page), or
 * its id is one Mission Control cannot show. The server checks everything else.
 */
export function clientProblems(value: unknown): SourceProblem[] {
  if (!isPlainObject(value))
    return [
      {
        pointer: '',
        message: `A template is a mapping (apiVersion, kind, metadata, …), not ${Array.isArray(value) ? 'a list' : 'a single value'}`,
      },
    ];
  const problems: SourceProblem[] = [];
  if (value.kind === 'UseCase')
    problems.push({
      pointer: '/kind',
      message: 'This is a use case file: this page publishes templates (kind: Template); `seraphim apply` takes use cases',
    });
  const metadata = value.metadata;
  if (isPlainObject(metadata) && typeof metadata.id === 'string' && RESERVED_TEMPLATE_IDS.includes(metadata.id))
    problems.push({
      pointer: '/metadata/id',
      message: `\`${metadata.id}\` is the address of a Mission Control page: its template page could not be opened; choose another id`,
    });
  return problems;
}

/**
 * The API's problems (a JSON pointer, or a dotted body path for the schema's own) as problems of
 * the source, each with its line when the source says. The whole body ('') has no line.
 */
export function locateProblems(
  errors: readonly ProblemField[],
  lineOf: (pointer: string) => number | undefined,
): SourceProblem[] {
  return errors.map((error) => {
    const pointer = problemPointer(error.path);
    const line = pointer === undefined || pointer === '' ? undefined : lineOf(pointer);
    return { pointer: pointer ?? error.path, message: error.message, ...(line === undefined ? {} : { line }) };
  });
}

/** Adds the lines to problems found in the browser (their pointers are the source's). */
export function withLines(
  problems: readonly SourceProblem[],
  lineOf: (pointer: string) => number | undefined,
): SourceProblem[] {
  return problems.map((problem) => {
    if (problem.line !== undefined || problem.pointer === '') return problem;
    const line = lineOf(problem.pointer);
    return line === undefined ? problem : { ...problem, line };
  });
}

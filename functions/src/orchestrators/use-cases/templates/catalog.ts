/**
 * The template library as one workspace sees it: the built-in templates
 * (library/, in code, every version) and the ones published to the workspace.
 * A workspace cannot publish under a built-in id, so an id names one template.
 */
import { NotFoundError } from '../../../platform/errors.js';
import type { DocumentStore } from '../../../platform/ports.js';
import { BUILTIN_TEMPLATES } from '../library/index.js';
import type { Template, TemplateRef, Variable } from './model.js';
import { isRequired, type ResolvedTemplate, resolveTemplate, type TemplateLoader } from './resolve.js';
import { getTemplateHead, getTemplateVersion, listTemplateHeads, type TemplateHead } from './store.js';
import { compareVersions } from './versions.js';

export type TemplateVersionInfo = TemplateHead['versions'][number] & { publishedAt: number | null };

export interface CatalogEntry {
  source: 'builtin' | 'workspace';
  /** Oldest first. */
  versions: {
    version: string;
    changelog: string;
    publishedAt: number | null;
    deprecated: TemplateHead['versions'][number]['deprecated'];
  }[];
}

const builtins = new Map<string, Template[]>();
for (const t of BUILTIN_TEMPLATES) {
  const list = builtins.get(t.metadata.id) ?? [];
  list.push(t);
  list.sort((a, b) => compareVersions(a.metadata.version, b.metadata.version));
  builtins.set(t.metadata.id, list);
}

export const isBuiltinId = (id: string) => builtins.has(id);

function builtinEntry(list: Template[]): CatalogEntry {
  return {
    source: 'builtin',
    versions: list.map((t) => ({
      version: t.metadata.version,
      changelog: t.metadata.changelog,
      publishedAt: null,
      deprecated: null,
    })),
  };
}

/** The newest version not deprecated; the newest when all are. */
export function currentVersion(entry: CatalogEntry): string {
  const live = entry.versions.filter((v) => !v.deprecated);
  return ((live.length > 0 ? live : entry.versions).at(-1) as CatalogEntry['versions'][number]).version;
}

export async function catalogEntry(
  documents: DocumentStore,
  workspace: string,
  id: string,
): Promise<CatalogEntry> {
  const list = builtins.get(id);
  if (list) return builtinEntry(list);
  const head = await getTemplateHead(documents, workspace, id);
  if (!head || head.versions.length === 0) throw new NotFoundError(`Template ${id} not found`);
  return { source: 'workspace', versions: head.versions };
}

/** One version of a template (the current one when `version` is not given), with its library entry. */
export async function findTemplate(
  documents: DocumentStore,
  workspace: string,
  id: string,
  version?: string,
): Promise<{ template: Template; entry: CatalogEntry }> {
  const entry = await catalogEntry(documents, workspace, id);
  const want = version ?? currentVersion(entry);
  const template =
    entry.source === 'builtin'
      ? builtins.get(id)?.find((t) => t.metadata.version === want)
      : ((await publishedTemplate(documents, workspace, { id, version: want })) ?? undefined);
  if (!template) throw new NotFoundError(`Template ${id} has no version ${want}`);
  return { template, entry };
}

/**
 * Published versions never change (only their deprecation does, which is not read here), so each
 * is read once per process and store: listing a library resolves every chain in it.
 */
const published = new WeakMap<DocumentStore, Map<string, Template>>();

async function publishedTemplate(documents: DocumentStore, workspace: string, ref: TemplateRef) {
  let cache = published.get(documents);
  if (!cache) {
    cache = new Map();
    published.set(documents, cache);
  }
  const key = `${workspace}/${ref.id}@${ref.version}`;
  const known = cache.get(key);
  if (known) return known;
  const found = (await getTemplateVersion(documents, workspace, ref.id, ref.version))?.template ?? null;
  if (found) {
    if (cache.size >= 1000) cache.delete(cache.keys().next().value as string);
    cache.set(key, found);
  }
  return found;
}

const resolutions = new WeakMap<Template, Promise<ResolvedTemplate>>();

/**
 * A template resolved through its chain. A chain pins exact versions, which never change, so a
 * template object (a built-in one, or a published version as read once above) resolves once: the
 * library lists every template's resolved variables on each call. A failure is not kept.
 */
export function resolveInLibrary(
  documents: DocumentStore,
  workspace: string,
  template: Template,
): Promise<ResolvedTemplate> {
  let found = resolutions.get(template);
  if (!found) {
    found = resolveTemplate(template, workspaceLoader(documents, workspace));
    resolutions.set(template, found);
    found.catch(() => resolutions.delete(template));
  }
  return found;
}

/** Resolves `extends` references within the workspace's view of the library. */
export function workspaceLoader(documents: DocumentStore, workspace: string): TemplateLoader {
  return async (ref: TemplateRef) => {
    const builtin = builtins.get(ref.id);
    if (builtin) return builtin.find((t) => t.metadata.version === ref.version) ?? null;
    return publishedTemplate(documents, workspace, ref);
  };
}

export interface LibraryFilter {
  q?: string | undefined;
  vertical?: string | undefined;
  tag?: string | undefined;
  abstract: 'exclude' | 'include';
}

/** Every template the workspace sees, at its current version, in the order: built-in first, then by id. */
export async function libraryTemplates(
  documents: DocumentStore,
  workspace: string,
): Promise<{ template: Template; entry: CatalogEntry }[]> {
  const out: { template: Template; entry: CatalogEntry }[] = [];
  for (const list of builtins.values()) {
    const entry = builtinEntry(list);
    const current = currentVersion(entry);
    out.push({ template: list.find((t) => t.metadata.version === current) as Template, entry });
  }
  for (const head of await listTemplateHeads(documents, workspace)) {
    if (head.versions.length === 0) continue;
    const entry: CatalogEntry = { source: 'workspace', versions: head.versions };
    const template = await publishedTemplate(documents, workspace, {
      id: head.id,
      version: currentVersion(entry),
    });
    if (template) out.push({ template, entry });
  }
  return out;
}

/** A library card; `variables` are the resolved ones, inherited included. */
export function summarize(
  { template, entry }: { template: Template; entry: CatalogEntry },
  /** Null when its chain no longer resolves: the card then shows what the template itself declares. */
  resolved: ResolvedTemplate | null,
) {
  const variables = Object.values(resolved?.variables ?? {}) as Variable[];
  const resolvedTags = resolved?.metadata.tags ?? template.metadata.tags;
  const current = entry.versions.find((v) => v.version === template.metadata.version);
  return {
    id: template.metadata.id,
    version: template.metadata.version,
    name: template.metadata.name,
    vertical: template.metadata.vertical,
    tags: resolvedTags,
    description: template.metadata.description,
    abstract: template.metadata.abstract,
    source: entry.source,
    ...(template.extends ? { extends: template.extends } : {}),
    requiredVariables: variables.filter(isRequired).length,
    variables: variables.length,
    deprecated: current?.deprecated ?? null,
  };
}

export function matches(summary: ReturnType<typeof summarize>, filter: LibraryFilter): boolean {
  if (filter.abstract === 'exclude' && summary.abstract) return false;
  if (filter.vertical && summary.vertical !== filter.vertical) return false;
  if (filter.tag && !summary.tags.includes(filter.tag)) return false;
  if (filter.q) {
    const haystack = [summary.id, summary.name, summary.description, summary.vertical, ...summary.tags]
      .join(' ')
      .toLowerCase();
    return filter.q
      .toLowerCase()
      .split(/\s+/)
      .filter(Boolean)
      .every((word) => haystack.includes(word));
  }
  return true;
}

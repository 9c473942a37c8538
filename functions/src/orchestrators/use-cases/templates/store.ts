/**
 * A workspace's own templates, through the documents port: one document per
 * published version (`templates/{id}/versions/{version}`), written once, and
 * a head per template (`templates/{id}`) with its versions for listing. Only
 * deprecation changes a version document, and only its `deprecated` field.
 */
import { z } from 'zod';
import { ConflictError, NotFoundError } from '../../../platform/errors.js';
import type { DocumentStore } from '../../../platform/ports.js';
import { defineDocumentKind, readDocument, readPage } from '../../../platform/stored.js';
import { type Template, TemplateSchema } from './model.js';
import { compareVersions } from './versions.js';

const DeprecationSchema = z.object({ message: z.string(), at: z.number() });

const StoredTemplateVersionSchema = z.object({
  template: TemplateSchema,
  publishedAt: z.number(),
  publishedBy: z.string().nullable(),
  deprecated: DeprecationSchema.nullable(),
});
export type StoredTemplateVersion = z.infer<typeof StoredTemplateVersionSchema>;
export const TemplateVersionDocument = defineDocumentKind({
  name: 'template version',
  schema: StoredTemplateVersionSchema,
});

const TemplateHeadSchema = z.object({
  id: z.string(),
  /** Every published version, oldest first, each with its deprecation. */
  versions: z.array(
    z.object({
      version: z.string(),
      changelog: z.string(),
      publishedAt: z.number(),
      deprecated: DeprecationSchema.nullable(),
    }),
  ),
  updatedAt: z.number(),
});
export type TemplateHead = z.infer<typeof TemplateHeadSchema>;
export const TemplateHeadDocument = defineDocumentKind({ name: 'template', schema: TemplateHeadSchema });

/** A template keeps at most this many versions: the head lists them all. */
export const MAX_TEMPLATE_VERSIONS = 500;
/** A workspace library lists at most this many templates of its own. */
export const MAX_WORKSPACE_TEMPLATES = 500;

export const templatePaths = {
  templates: (ws: string) => `workspaces/${ws}/templates`,
  template: (ws: string, id: string) => `workspaces/${ws}/templates/${id}`,
  version: (ws: string, id: string, version: string) =>
    `workspaces/${ws}/templates/${id}/versions/${version}`,
};

export async function publishTemplate(
  documents: DocumentStore,
  workspace: string,
  template: Template,
  opts: { now: number; by: string | null },
): Promise<StoredTemplateVersion> {
  const { id, version, changelog } = template.metadata;
  return documents.transaction(async (tx) => {
    const head = await readDocument(tx, TemplateHeadDocument, templatePaths.template(workspace, id));
    const versionPath = templatePaths.version(workspace, id, version);
    if (head?.data.versions.some((v) => v.version === version) || (await tx.get(versionPath)))
      throw new ConflictError(
        `Template ${id} version ${version} is already published; versions never change: publish a new version`,
        { template: id, version },
      );
    if ((head?.data.versions.length ?? 0) >= MAX_TEMPLATE_VERSIONS)
      throw new ConflictError(`Template ${id} has ${MAX_TEMPLATE_VERSIONS} versions, the most it may keep`, {
        template: id,
      });
    const stored: StoredTemplateVersion = {
      template,
      publishedAt: opts.now,
      publishedBy: opts.by,
      deprecated: null,
    };
    const versions = [
      ...(head?.data.versions ?? []),
      { version, changelog, publishedAt: opts.now, deprecated: null },
    ].sort((a, b) => compareVersions(a.version, b.version));
    tx.create(versionPath, TemplateVersionDocument.stamp(stored));
    tx.set(
      templatePaths.template(workspace, id),
      TemplateHeadDocument.stamp({ id, versions, updatedAt: opts.now }),
    );
    return stored;
  });
}

export async function getTemplateHead(
  documents: DocumentStore,
  workspace: string,
  id: string,
): Promise<TemplateHead | null> {
  return (
    (await readDocument(documents, TemplateHeadDocument, templatePaths.template(workspace, id)))?.data ?? null
  );
}

export async function getTemplateVersion(
  documents: DocumentStore,
  workspace: string,
  id: string,
  version: string,
): Promise<StoredTemplateVersion | null> {
  return (
    (await readDocument(documents, TemplateVersionDocument, templatePaths.version(workspace, id, version)))
      ?.data ?? null
  );
}

export async function listTemplateHeads(
  documents: DocumentStore,
  workspace: string,
): Promise<TemplateHead[]> {
  const page = readPage(
    TemplateHeadDocument,
    await documents.query(templatePaths.templates(workspace), {
      orderBy: [{ field: 'id' }],
      limit: MAX_WORKSPACE_TEMPLATES,
    }),
  );
  return page.docs.map((d) => d.data);
}

export async function setDeprecation(
  documents: DocumentStore,
  workspace: string,
  id: string,
  version: string,
  message: string | null,
  now: number,
): Promise<TemplateHead['versions'][number]> {
  return documents.transaction(async (tx) => {
    const headPath = templatePaths.template(workspace, id);
    const versionPath = templatePaths.version(workspace, id, version);
    const head = await readDocument(tx, TemplateHeadDocument, headPath);
    const stored = await readDocument(tx, TemplateVersionDocument, versionPath);
    if (!head || !stored)
      throw new NotFoundError(`Template ${id} version ${version} not found in this workspace`);
    const deprecated = message === null ? null : { message, at: now };
    const versions = head.data.versions.map((v) => (v.version === version ? { ...v, deprecated } : v));
    tx.set(versionPath, TemplateVersionDocument.stamp({ ...stored.data, deprecated }));
    tx.set(headPath, TemplateHeadDocument.stamp({ ...head.data, versions, updatedAt: now }));
    return versions.find((v) => v.version === version) as TemplateHead['versions'][number];
  });
}

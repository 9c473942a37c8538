/**
 * The use cases API: use cases and their versions, and the template library.
 * Thin: each implements its contract (api.ts) by calling the store, the
 * catalog or the template resolver.
 */
import { z } from 'zod';
import { firestoreProblems } from '../../platform/document-rules.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../../platform/errors.js';
import { type Context, implement, type RouteDefinition } from '../../platform/orchestrator.js';
import { type AgentCatalog, compileWorkflow } from '../executions/workflow.js';
import { useCasesApi } from './api.js';
import type { UseCase, UseCaseBody } from './model.js';
import {
  findUseCase,
  getUseCase,
  listUseCases,
  listUseCaseVersions,
  refuseSave,
  type SaveOptions,
  saveUseCase,
  setArchived,
} from './store.js';
import {
  catalogEntry,
  findTemplate,
  isBuiltinId,
  libraryTemplates,
  matches,
  resolveInLibrary,
  summarize,
  workspaceLoader,
} from './templates/catalog.js';
import { diffValues } from './templates/diff.js';
import { MAX_TEMPLATE_BYTES, TemplateSchema } from './templates/model.js';
import { instantiate, invalid, validateTemplate } from './templates/resolve.js';
import { publishTemplate, setDeprecation } from './templates/store.js';
import { compareVersions, majorOf } from './templates/versions.js';

/** Secrets a use case names must be ones the workspace may use: every save checks them. */
function checkSecrets(ctx: Context, workspace: string, body: UseCaseBody, at: (i: number) => string): void {
  const refused = body.secrets.flatMap((name, i) => {
    const why = ctx.config.useCaseSecrets.refusal(name, workspace);
    return why === null ? [] : [{ path: at(i), message: why }];
  });
  if (refused.length > 0) throw new InvalidInputError(refused.map((f) => f.message).join('; '), refused);
}

/** A use case is configuration: its document stays well under Firestore's 1 MiB. */
const MAX_USE_CASE_BYTES = 512 * 1024;

/** Refuses what a document store would: nesting past 20, reserved field names, and size. */
function storable(value: unknown, under: string, maxBytes: number): void {
  const problems = firestoreProblems(value, 20).map((p) => ({
    pointer: `${under}${p.pointer}`,
    message: p.message,
  }));
  const bytes = Buffer.byteLength(JSON.stringify(value));
  if (bytes > maxBytes)
    problems.push({ pointer: under, message: `${bytes} bytes as JSON; at most ${maxBytes}` });
  if (problems.length > 0) invalid('It cannot be stored', problems);
}

/** Ids a use case may not take: `/use-cases/templates` is the library's page in Mission Control. */
const RESERVED_IDS = ['templates'];
/** Ids a template may not take: `/use-cases/templates/publish` is the publish page. */
const RESERVED_TEMPLATE_IDS = ['publish'];

/** Where a refused secret is reported: the body's field, as zod reports the body's; or the template's spec. */
const inBody = (i: number) => `body.secrets.${i}`;
const inSpec = (i: number) => `/spec/secrets/${i}`;

/** What a save would store, without storing it: a dry run's answer. */
function preview(
  workspace: string,
  body: UseCaseBody,
  existing: UseCase | null,
  now: number,
  note = '',
): UseCase {
  return {
    ...body,
    workspace,
    version: (existing?.version ?? 0) + 1,
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
    archived: false,
    note,
  };
}

/** A read's `catch`: what is not there is null; any other failure goes on. */
function missing(error: unknown): null {
  if (error instanceof NotFoundError) return null;
  throw error;
}

export function useCaseRoutes(agents: AgentCatalog): RouteDefinition[] {
  async function save(
    ctx: Context,
    workspace: string,
    body: UseCaseBody,
    opts: SaveOptions & { dryRun: boolean; secretsAt: (i: number) => string },
  ): Promise<UseCase> {
    if (RESERVED_IDS.includes(body.id))
      throw new InvalidInputError(
        `"${body.id}" is reserved: Mission Control shows the template library there`,
        [{ path: '/id', message: 'reserved' }],
      );
    checkSecrets(ctx, workspace, body, opts.secretsAt);
    compileWorkflow(body.workflow, agents);
    // What the store would refuse, refused here for a dry run and a save alike, at its pointer.
    storable(body, opts.secretsAt === inSpec ? '/spec' : '', MAX_USE_CASE_BYTES);
    if (opts.dryRun) {
      // A dry run answers what the save would: the same refusals, nothing stored.
      const existing = await findUseCase(ctx.documents, workspace, body.id);
      refuseSave(body.id, existing, opts);
      return preview(workspace, body, existing, ctx.clock.now(), opts.note);
    }
    return (await saveUseCase(ctx.documents, workspace, body, ctx.clock.now(), opts)).useCase;
  }

  let templateJsonSchema: Record<string, unknown> | undefined;

  return [
    implement(useCasesApi.create, async (req, ctx) =>
      save(ctx, req.params.workspace, req.body, { dryRun: req.query.dryRun, secretsAt: inBody }),
    ),
    implement(useCasesApi.list, async (req, ctx) => {
      const page = await listUseCases(ctx.documents, req.params.workspace, req.query);
      return { useCases: page.useCases, ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
    }),
    implement(useCasesApi.get, async (req, ctx) => {
      const useCase = await getUseCase(
        ctx.documents,
        req.params.workspace,
        req.params.useCase,
        req.query.version,
      );
      const pinned = useCase.template;
      // The template may be gone from the library (a workspace's, deleted): no notice, not a failure.
      const entry =
        pinned && (await catalogEntry(ctx.documents, req.params.workspace, pinned.id).catch(missing));
      const templateDeprecation =
        entry?.versions.find((v) => v.version === pinned?.version)?.deprecated ?? null;
      return { ...useCase, templateDeprecation };
    }),
    implement(useCasesApi.update, async (req, ctx) => {
      const { note, ifVersion, ...rest } = req.body;
      return save(
        ctx,
        req.params.workspace,
        { ...rest, id: req.params.useCase },
        {
          dryRun: req.query.dryRun,
          secretsAt: inBody,
          mode: 'update',
          ...(note === undefined ? {} : { note }),
          ...(ifVersion === undefined ? {} : { ifVersion }),
        },
      );
    }),
    implement(useCasesApi.versions, async (req, ctx) => {
      const page = await listUseCaseVersions(
        ctx.documents,
        req.params.workspace,
        req.params.useCase,
        req.query,
      );
      return {
        versions: page.docs.map(({ data }) => ({
          version: data.version,
          createdAt: data.createdAt,
          updatedAt: data.updatedAt,
          note: data.note,
          ...(data.template ? { template: data.template } : {}),
        })),
        ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
      };
    }),
    implement(useCasesApi.archive, async (req, ctx) =>
      setArchived(
        ctx.documents,
        req.params.workspace,
        req.params.useCase,
        req.body.archived,
        ctx.clock.now(),
      ),
    ),

    // ------------------------------------------------------------ templates
    implement(useCasesApi.templateSchema, async () => {
      templateJsonSchema ??= z.toJSONSchema(TemplateSchema, {
        io: 'input',
        unrepresentable: 'any',
      }) as Record<string, unknown>;
      return templateJsonSchema;
    }),
    implement(useCasesApi.listTemplates, async (req, ctx) => {
      const all = [];
      for (const found of await libraryTemplates(ctx.documents, req.params.workspace)) {
        const resolved = await resolveInLibrary(ctx.documents, req.params.workspace, found.template).catch(
          (error: unknown) => {
            if (error instanceof InvalidInputError) return null;
            return missing(error);
          },
        );
        // A workspace template whose chain no longer resolves (its parent deprecated away, say)
        // still lists, with the variables it declares itself.
        all.push(summarize(found, resolved));
      }
      return {
        templates: all.filter((s) => matches(s, req.query)),
        verticals: [...new Set(all.map((s) => s.vertical))].sort(),
        tags: [...new Set(all.flatMap((s) => s.tags))].sort(),
      };
    }),
    implement(useCasesApi.getTemplate, async (req, ctx) => {
      const { workspace, template: id } = req.params;
      const found = await findTemplate(ctx.documents, workspace, id, req.query.version);
      const resolved = await resolveInLibrary(ctx.documents, workspace, found.template);
      return {
        summary: summarize(found, resolved),
        template: found.template,
        resolved,
        versions: found.entry.versions,
      };
    }),
    implement(useCasesApi.diffTemplate, async (req, ctx) => {
      const { workspace, template: id } = req.params;
      const [from, to] = await Promise.all([
        findTemplate(ctx.documents, workspace, id, req.query.from),
        findTemplate(ctx.documents, workspace, id, req.query.to),
      ]);
      const [a, b] = await Promise.all([
        resolveInLibrary(ctx.documents, workspace, from.template),
        resolveInLibrary(ctx.documents, workspace, to.template),
      ]);
      const view = (r: typeof a) => ({ variables: r.variables, spec: r.spec, samples: r.samples });
      return {
        from: req.query.from,
        to: req.query.to,
        structural: diffValues(from.template, to.template),
        resolved: diffValues(view(a), view(b)),
      };
    }),
    implement(useCasesApi.publishTemplate, async (req, ctx) => {
      const { workspace } = req.params;
      const template = req.body;
      storable(template, '', MAX_TEMPLATE_BYTES);
      if (RESERVED_TEMPLATE_IDS.includes(template.metadata.id))
        throw new InvalidInputError(
          `"${template.metadata.id}" is reserved: Mission Control's publish page is there`,
          [{ path: '/metadata/id', message: 'reserved' }],
        );
      if (isBuiltinId(template.metadata.id))
        throw new ConflictError(
          `Template id ${template.metadata.id} is a built-in template's: choose another id`,
          {
            template: template.metadata.id,
          },
        );
      const resolved = await validateTemplate(template, workspaceLoader(ctx.documents, workspace), agents);
      const existing = await catalogEntry(ctx.documents, workspace, template.metadata.id).catch(missing);
      if (existing?.versions.some((v) => v.version === template.metadata.version))
        throw new ConflictError(
          `Template ${template.metadata.id} version ${template.metadata.version} is already published; versions never change: publish a new version`,
          { template: template.metadata.id, version: template.metadata.version },
        );
      const now = ctx.clock.now();
      const published = {
        version: template.metadata.version,
        changelog: template.metadata.changelog,
        deprecated: null,
      };
      if (!req.query.dryRun)
        await publishTemplate(ctx.documents, workspace, template, { now, by: req.identity?.uid ?? null });
      const versions = [
        ...(existing?.versions ?? []),
        { ...published, publishedAt: req.query.dryRun ? null : now },
      ];
      const entry = { source: 'workspace' as const, versions };
      return { summary: summarize({ template, entry }, resolved), template, resolved, versions };
    }),
    implement(useCasesApi.deprecateTemplate, async (req, ctx) => {
      const { workspace, template, version } = req.params;
      if (isBuiltinId(template))
        throw new ConflictError(
          `Template ${template} is built in: its versions are deprecated by a Seraphim release`,
          {
            template,
          },
        );
      return setDeprecation(ctx.documents, workspace, template, version, req.body.message, ctx.clock.now());
    }),
    implement(useCasesApi.instantiate, async (req, ctx) => {
      const { workspace, template: id } = req.params;
      const found = await findTemplate(ctx.documents, workspace, id, req.body.version);
      if (found.template.metadata.abstract)
        throw new InvalidInputError(
          `Template ${id} is abstract: a base for other templates, not a use case`,
          [{ path: '/template', message: 'abstract' }],
        );
      const resolved = await resolveInLibrary(ctx.documents, workspace, found.template);
      const body = instantiate(resolved, req.body, agents);
      return save(ctx, workspace, body, { dryRun: req.query.dryRun, secretsAt: inSpec, mode: 'create' });
    }),
    implement(useCasesApi.upgrade, async (req, ctx) => {
      const { workspace, useCase: id } = req.params;
      const current = await getUseCase(ctx.documents, workspace, id);
      if (!current.template)
        throw new ConflictError(`Use case ${id} was not made from a template: there is nothing to upgrade`, {
          useCase: id,
        });
      const from = current.template.version;
      if (majorOf(req.body.version) !== majorOf(from) && !req.body.allowMajor)
        throw new ConflictError(
          `${current.template.id} ${from} → ${req.body.version} crosses a major version, which may change what values mean: ` +
            'review the template diff, then upgrade with allowMajor',
          { useCase: id, from, to: req.body.version },
        );
      const found = await findTemplate(ctx.documents, workspace, current.template.id, req.body.version);
      const deprecated = found.entry.versions.find((v) => v.version === req.body.version)?.deprecated;
      if (deprecated)
        throw new ConflictError(
          `${current.template.id} ${req.body.version} is deprecated (${deprecated.message}): move to another version`,
          { useCase: id, version: req.body.version },
        );
      const resolved = await resolveInLibrary(ctx.documents, workspace, found.template);
      // The values it was made with, less the ones the new version no longer declares (reported, not
      // silently dropped, unless the caller removes them with null), plus the caller's changes.
      const values: Record<string, unknown> = { ...current.template.values };
      for (const [name, value] of Object.entries(req.body.values)) {
        if (value === null) delete values[name];
        else values[name] = value;
      }
      let body: UseCaseBody;
      try {
        body = instantiate(
          resolved,
          { id, name: current.name, description: current.description, values },
          agents,
        );
      } catch (error) {
        if (error instanceof InvalidInputError)
          throw new InvalidInputError(
            `Upgrading ${id} to ${current.template.id} ${req.body.version} is not compatible with its values: ${error.message}`,
            error.fields,
          );
        throw error;
      }
      const { template: _before, ...was } = current;
      const { template: _after, ...next } = body;
      const changes = diffValues(
        { ...pick(was), template: current.template },
        { ...pick(next), template: body.template },
      );
      const note = `${compareVersions(req.body.version, from) < 0 ? 'Rolled back' : 'Upgraded'} ${current.template.id} ${from} → ${req.body.version}`;
      if (req.query.dryRun || changes.length === 0)
        return { useCase: preview(workspace, body, current, ctx.clock.now(), note), changes, applied: false };
      const useCase = await save(ctx, workspace, body, {
        dryRun: false,
        secretsAt: inSpec,
        mode: 'update',
        note,
        ifVersion: current.version,
      });
      return { useCase, changes, applied: true };
    }),
  ];
}

/** The parts of a use case an upgrade can change. */
function pick(u: Omit<UseCaseBody, 'template'>) {
  const { workflow, contextTtlSeconds, secrets, datasets, metrics, pool, cache, tags } = u;
  return { workflow, contextTtlSeconds, secrets, datasets, metrics, pool, cache, tags };
}

/**
 * `seraphim apply -f PATH…`: make a workspace match configuration files, the
 * way `kubectl apply` and `terraform plan` do. It reads every Template and
 * UseCase document, asks the API what each would change (dry runs: the
 * server checks everything it would check on a save), prints the plan, and,
 * unless `--dry-run`, applies it: templates first, parents before children,
 * then use cases. Nothing in the workspace that the files do not name is
 * touched.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError, type ResponseOf } from '../client/index.js';
import type { useCasesApi } from '../orchestrators/use-cases/api.js';
import type { ConfigDocument, UseCaseFile } from '../orchestrators/use-cases/files.js';
import { bodyOf, type UseCaseBody } from '../orchestrators/use-cases/model.js';
import { diffValues } from '../orchestrators/use-cases/templates/diff.js';
import type { Template, TemplateRef } from '../orchestrators/use-cases/templates/model.js';
import type { InstantiateRequest } from '../orchestrators/use-cases/templates/resolve.js';
import { compareVersions } from '../orchestrators/use-cases/templates/versions.js';
import { CliError, cliApi, EXIT } from './client.js';
import { changeLines, readConfig } from './use-cases.js';

export interface ApplyOptions {
  url: string;
  workspace: string;
  json: boolean;
  dryRun: boolean;
}

type UseCase = ResponseOf<typeof useCasesApi.create>;
type Change = ResponseOf<typeof useCasesApi.upgrade>['changes'][number];

type Step =
  | { kind: 'template'; id: string; action: 'publish' | 'unchanged'; template: Template; note?: string }
  | {
      kind: 'use case';
      id: string;
      action: 'create' | 'update' | 'upgrade' | 'unchanged';
      changes: Change[];
      file: UseCaseFile;
      note?: string;
      run?: () => Promise<unknown>;
    };

/** The files named: a folder's `.yaml`, `.yml` and `.json` files (not its subfolders), in name order. */
export function configFiles(paths: readonly string[]): string[] {
  return paths.flatMap((path) => {
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch (error) {
      throw new CliError(`Cannot read ${path}: ${(error as Error).message}`, EXIT.usage);
    }
    if (!isDir) return [path];
    return readdirSync(path)
      .filter((f) => /\.(ya?ml|json)$/i.test(f))
      .sort()
      .map((f) => join(path, f));
  });
}

const notFound = (error: unknown) => error instanceof ApiError && error.status === 404;

/** The parts of a use case a file sets: what the plan compares. */
function comparable(
  u: Omit<UseCase, 'workspace' | 'version' | 'createdAt' | 'updatedAt' | 'archived' | 'note'>,
) {
  const {
    workflow,
    contextTtlSeconds,
    secrets,
    datasets,
    metrics,
    pool,
    cache,
    tags,
    name,
    description,
    template,
  } = u;
  return {
    name,
    description,
    tags,
    workflow,
    contextTtlSeconds,
    secrets,
    datasets,
    metrics,
    pool,
    cache,
    template,
  };
}

export async function apply(
  paths: readonly string[],
  opts: ApplyOptions,
  out: (line: string) => void,
): Promise<number> {
  if (paths.length === 0) throw new CliError('apply needs -f PATH (a file or a folder)', EXIT.usage);
  const documents: ConfigDocument[] = configFiles(paths).flatMap((file) => readConfig(file));
  const seen = new Set<string>();
  for (const d of documents) {
    const key =
      d.kind === 'Template'
        ? `Template ${d.template.metadata.id}@${d.template.metadata.version}`
        : `UseCase ${d.useCase.metadata.id}`;
    if (seen.has(key)) throw new CliError(`${key} is in the files twice`, EXIT.usage);
    seen.add(key);
  }
  const api = cliApi(opts.url).useCases;
  const workspace = opts.workspace;
  const plan: Step[] = [];
  let checker: Promise<LocalChecker> | undefined;
  const local = () => {
    checker ??= localChecker(
      documents.flatMap((d) => (d.kind === 'Template' ? [d.template] : [])),
      api,
      workspace,
    );
    return checker;
  };

  // Templates: parents in the files before their children.
  const templates = documents.flatMap((d) => (d.kind === 'Template' ? [d.template] : []));
  const pending = new Set<string>();
  const ordered: Template[] = [];
  const name = (t: Template) => `${t.metadata.id}@${t.metadata.version}`;
  const visit = (t: Template, path: Template[] = []) => {
    if (ordered.includes(t)) return;
    if (path.includes(t))
      throw new CliError(
        `Inheritance has a cycle: ${[...path.slice(path.indexOf(t)), t].map(name).join(' extends ')}`,
        EXIT.usage,
      );
    const parent =
      t.extends &&
      templates.find((p) => p.metadata.id === t.extends?.id && p.metadata.version === t.extends.version);
    if (parent) visit(parent, [...path, t]);
    ordered.push(t);
  };
  for (const t of templates) visit(t);
  for (const t of ordered) {
    const { id, version } = t.metadata;
    const published = await api
      .getTemplate({ params: { workspace, template: id }, query: { version } })
      .catch((e: unknown) => {
        if (notFound(e)) return null;
        throw e;
      });
    if (published) {
      if (diffValues(published.template, t).length > 0)
        throw new CliError(
          `Template ${id} ${version} is already published with other content; versions never change: raise metadata.version`,
          EXIT.usage,
        );
      plan.push({ kind: 'template', id: `${id} ${version}`, action: 'unchanged', template: t });
      continue;
    }
    const parentPending = t.extends && pending.has(`${t.extends.id}@${t.extends.version}`);
    // A parent this apply publishes is not on the server yet: the child is checked here, by the same
    // code, against the files; the server checks it again when it is published.
    if (parentPending) await (await local()).validate(t);
    else await api.publishTemplate({ params: { workspace }, query: { dryRun: 'true' }, body: t as never });
    pending.add(`${id}@${version}`);
    plan.push({
      kind: 'template',
      id: `${id} ${version}`,
      action: 'publish',
      template: t,
      ...(parentPending ? { note: 'checked here against the files; its parent is published first' } : {}),
    });
  }

  for (const d of documents) {
    if (d.kind !== 'UseCase') continue;
    const file = d.useCase;
    const id = file.metadata.id;
    const existing = await api.get({ params: { workspace, useCase: id }, query: {} }).catch((e: unknown) => {
      if (notFound(e)) return null;
      throw e;
    });
    const ref = file.template;
    const fromPending =
      ref &&
      !file.spec &&
      [...pending].some((p) => (ref.version ? p === `${ref.id}@${ref.version}` : p.startsWith(`${ref.id}@`)));
    if (fromPending && ref) {
      // Its template is published by this apply: made here from the files, to show what will change.
      const version = ref.version ?? latestPending(pending, ref.id);
      const body = await (await local()).instantiate(ref.id, version, {
        id,
        values: ref.values,
        ...(file.metadata.name ? { name: file.metadata.name } : {}),
        ...(file.metadata.description !== undefined ? { description: file.metadata.description } : {}),
      });
      const changes = existing ? diffValues(comparable(existing), comparable(body)) : [];
      plan.push({
        kind: 'use case',
        id,
        action: !existing
          ? 'create'
          : existing.template?.id === ref.id && existing.template.version !== version
            ? 'upgrade'
            : 'update',
        changes,
        file,
        note: `from ${ref.id} ${version}, which this apply publishes`,
      });
      continue;
    }
    plan.push(await planUseCase(api, workspace, file, existing));
  }

  const changed = plan.filter((s) => s.action !== 'unchanged');
  if (opts.json)
    out(
      JSON.stringify(
        {
          plan: plan.map(({ kind, id, action, ...rest }) => ({
            kind,
            id,
            action,
            changes: 'changes' in rest ? rest.changes : [],
          })),
        },
        null,
        2,
      ),
    );
  else {
    for (const s of plan) {
      const mark =
        s.action === 'unchanged' ? '=' : s.action === 'create' || s.action === 'publish' ? '+' : '~';
      out(`${mark} ${s.kind} ${s.id}: ${s.action}${s.note ? ` (${s.note})` : ''}`);
      if (s.kind === 'use case' && s.action !== 'create')
        for (const line of changeLines(s.changes)) out(line);
    }
    out(`Plan: ${changed.length} to apply, ${plan.length - changed.length} unchanged.`);
  }
  if (opts.dryRun || changed.length === 0) {
    if (!opts.json && opts.dryRun) out('Dry run: nothing applied.');
    return EXIT.ok;
  }
  for (const s of changed) {
    if (s.kind === 'template') {
      await api.publishTemplate({
        params: { workspace },
        query: { dryRun: 'false' },
        body: s.template as never,
      });
    } else if (s.run) {
      await s.run();
    } else {
      // Planned before its template was published: plan it again now, and apply that.
      const existing = await api
        .get({ params: { workspace, useCase: s.id }, query: {} })
        .catch((e: unknown) => {
          if (notFound(e)) return null;
          throw e;
        });
      await (await planUseCase(api, workspace, s.file, existing)).run?.();
    }
    if (!opts.json) out(`applied: ${s.kind} ${s.id}`);
  }
  return EXIT.ok;
}

function latestPending(pending: ReadonlySet<string>, id: string): string {
  const versions = [...pending].filter((p) => p.startsWith(`${id}@`)).map((p) => p.slice(id.length + 1));
  return versions.sort(compareVersions).at(-1) as string;
}

interface LocalChecker {
  validate(template: Template): Promise<void>;
  instantiate(id: string, version: string, request: InstantiateRequest): Promise<UseCaseBody>;
}

/**
 * The template engine run here, over the files and what the workspace has published, with the
 * built-in agents: what a dry run on the server cannot check before a parent in the files exists.
 * Its problems are usage errors listing every pointer, as the server's would be.
 */
async function localChecker(
  files: readonly Template[],
  api: ReturnType<typeof cliApi>['useCases'],
  workspace: string,
): Promise<LocalChecker> {
  const [{ builtinAgents, createAgentRegistry }, resolve, { builtinTemplate }, { InvalidInputError }] =
    await Promise.all([
      import('../orchestrators/executions/agents/registry.js'),
      import('../orchestrators/use-cases/templates/resolve.js'),
      import('../orchestrators/use-cases/library/index.js'),
      import('../platform/errors.js'),
    ]);
  const agents = createAgentRegistry(builtinAgents);
  const load = async (ref: TemplateRef) =>
    files.find((t) => t.metadata.id === ref.id && t.metadata.version === ref.version) ??
    builtinTemplate(ref) ??
    (await api
      .getTemplate({ params: { workspace, template: ref.id }, query: { version: ref.version } })
      .then((d) => d.template as Template)
      .catch((e: unknown) => {
        if (notFound(e)) return null;
        throw e;
      }));
  const usage = (what: string, error: unknown): never => {
    if (error instanceof InvalidInputError)
      throw new CliError(
        `${what}: ${error.message}${error.fields.map((f) => `\n  ${f.path}: ${f.message}`).join('')}`,
        EXIT.usage,
      );
    throw error;
  };
  return {
    async validate(template) {
      await resolve
        .validateTemplate(template, load, agents)
        .catch((e: unknown) => usage(`Template ${template.metadata.id} ${template.metadata.version}`, e));
    },
    async instantiate(id, version, request) {
      const template = await load({ id, version });
      if (!template)
        throw new CliError(`Template ${id} ${version} is not in the files or the workspace`, EXIT.usage);
      try {
        return resolve.instantiate(await resolve.resolveTemplate(template, load), request, agents);
      } catch (error) {
        return usage(`Use case ${request.id} from ${id} ${version}`, error);
      }
    },
  };
}

async function planUseCase(
  api: ReturnType<typeof cliApi>['useCases'],
  workspace: string,
  file: UseCaseFile,
  existing: UseCase | null,
): Promise<Extract<Step, { kind: 'use case' }>> {
  const id = file.metadata.id;
  const params = { workspace, useCase: id };
  if (file.spec) {
    const body = {
      ...(file.spec as Record<string, unknown>),
      name: file.metadata.name ?? existing?.name ?? id,
      ...(file.metadata.description !== undefined ? { description: file.metadata.description } : {}),
      ...(file.template?.version ? { template: { ...file.template, version: file.template.version } } : {}),
    } as never;
    if (!existing) {
      await api.create({
        params: { workspace },
        query: { dryRun: 'true' },
        body: { ...(body as object), id } as never,
      });
      return {
        kind: 'use case',
        id,
        action: 'create',
        changes: [],
        file,
        run: () =>
          api.create({
            params: { workspace },
            query: { dryRun: 'false' },
            body: { ...(body as object), id } as never,
          }),
      };
    }
    const preview = await api.update({ params, query: { dryRun: 'true' }, body });
    const changes = diffValues(comparable(existing), comparable(preview));
    return {
      kind: 'use case',
      id,
      action: changes.length === 0 ? 'unchanged' : 'update',
      changes,
      file,
      run: () =>
        api.update({
          params,
          query: { dryRun: 'false' },
          body: { ...(body as object), ifVersion: existing.version } as never,
        }),
    };
  }
  const template = file.template as NonNullable<UseCaseFile['template']>;
  const instantiateBody = {
    id,
    values: template.values,
    ...(template.version ? { version: template.version } : {}),
    ...(file.metadata.name ? { name: file.metadata.name } : {}),
    ...(file.metadata.description !== undefined ? { description: file.metadata.description } : {}),
  };
  const templateParams = { workspace, template: template.id };
  if (!existing) {
    await api.instantiate({ params: templateParams, query: { dryRun: 'true' }, body: instantiateBody });
    return {
      kind: 'use case',
      id,
      action: 'create',
      changes: [],
      file,
      run: () =>
        api.instantiate({ params: templateParams, query: { dryRun: 'false' }, body: instantiateBody }),
    };
  }
  // Made from the same template: an upgrade (or a change of values) keeps its history readable.
  if (existing.template?.id === template.id) {
    const version =
      template.version ?? (await api.getTemplate({ params: templateParams, query: {} })).summary.version;
    const values: Record<string, unknown> = { ...template.values };
    for (const name of Object.keys(existing.template.values)) if (!(name in values)) values[name] = null;
    const body = { version, values, allowMajor: true };
    const preview = await api.upgrade({ params, query: { dryRun: 'true' }, body });
    const nameChange = diffValues(
      { name: existing.name, description: existing.description },
      {
        name: file.metadata.name ?? existing.name,
        description: file.metadata.description ?? existing.description,
      },
    );
    const changes = [...nameChange, ...preview.changes];
    return {
      kind: 'use case',
      id,
      action:
        changes.length === 0 ? 'unchanged' : version === existing.template.version ? 'update' : 'upgrade',
      changes,
      file,
      run: async () => {
        if (preview.changes.length > 0) await api.upgrade({ params, query: { dryRun: 'false' }, body });
        if (nameChange.length > 0) {
          const now = await api.get({ params, query: {} });
          const { id: _id, ...rest } = bodyOf(now);
          await api.update({
            params,
            query: { dryRun: 'false' },
            body: {
              ...rest,
              name: file.metadata.name ?? now.name,
              description: file.metadata.description ?? now.description,
              ifVersion: now.version,
            },
          });
        }
      },
    };
  }
  // Made otherwise: replaced by what the template makes.
  const made = await api.instantiate({
    params: templateParams,
    query: { dryRun: 'true' },
    body: instantiateBody,
  });
  const { id: _id, ...body } = bodyOf(made);
  const changes = diffValues(comparable(existing), comparable(made));
  return {
    kind: 'use case',
    id,
    action: 'update',
    changes,
    file,
    run: () =>
      api.update({ params, query: { dryRun: 'false' }, body: { ...body, ifVersion: existing.version } }),
  };
}

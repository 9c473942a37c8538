/**
 * `seraphim use-cases …` and `seraphim templates …`: the template library and
 * the use cases made from it, from the terminal. `--set name=value` values
 * are read by the variable's declared type, so `--set threshold=abc` is a
 * usage error naming the variable before anything is sent.
 */
import { writeFileSync } from 'node:fs';
import type { ResponseOf } from '../client/index.js';
import type { useCasesApi } from '../orchestrators/use-cases/api.js';
import { ConfigFileError, readConfigFile, toYaml, useCaseToFile } from '../orchestrators/use-cases/files.js';
import type { Variable } from '../orchestrators/use-cases/templates/model.js';
import { printer, requirer } from './args.js';
import { CliError, cliApi, EXIT } from './client.js';
import { instantText, table } from './format.js';

export interface UseCasesOptions {
  url: string;
  workspace: string;
  json: boolean;
  template?: string | undefined;
  version?: string | undefined;
  set?: string[] | undefined;
  name?: string | undefined;
  dryRun?: boolean | undefined;
  file?: string | undefined;
  output?: string | undefined;
  archived?: boolean | undefined;
  q?: string | undefined;
  vertical?: string | undefined;
  tag?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  message?: string | undefined;
  allowMajor?: boolean | undefined;
}

type UseCase = ResponseOf<typeof useCasesApi.create>;
type Change = ResponseOf<typeof useCasesApi.upgrade>['changes'][number];

export const USE_CASES_USAGE = [
  'seraphim use-cases list [--archived]',
  'seraphim use-cases show ID [--version N]',
  'seraphim use-cases create ID --template T [--version V] [--set name=value …] [--name TEXT] [--dry-run]',
  'seraphim use-cases versions ID',
  'seraphim use-cases upgrade ID --version V [--set name=value …] [--allow-major] [--dry-run]',
  'seraphim use-cases archive|unarchive ID',
  'seraphim use-cases export ID [--output FILE]   (YAML; JSON when FILE ends .json)',
  '  common: [--workspace W (default demo)] [--url URL] [--json]',
].join('\n');

export const TEMPLATES_USAGE = [
  'seraphim templates list [--q WORDS] [--vertical V] [--tag T]',
  'seraphim templates show ID [--version V]',
  'seraphim templates diff ID --from V --to W',
  'seraphim templates publish --file FILE [--dry-run]',
  'seraphim templates deprecate ID --version V --message TEXT   (--message "" lifts it)',
  'seraphim templates schema   (the JSON Schema of template files)',
  '  common: [--workspace W (default demo)] [--url URL] [--json]',
].join('\n');

/** `--set` values, read by each variable's type; problems are usage errors naming the variable. */
export function readSets(
  sets: readonly string[],
  variables: Record<string, Variable>,
): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const set of sets) {
    const eq = set.indexOf('=');
    if (eq <= 0) {
      problems.push(`--set ${set}: write it as name=value`);
      continue;
    }
    const name = set.slice(0, eq);
    const text = set.slice(eq + 1);
    const variable = Object.hasOwn(variables, name) ? variables[name] : undefined;
    if (!variable) {
      problems.push(
        `--set ${name}: unknown variable; the template's are: ${Object.keys(variables).join(', ') || 'none'}`,
      );
      continue;
    }
    switch (variable.type) {
      case 'number': {
        const n = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(text.trim()) ? Number(text) : Number.NaN;
        if (!Number.isFinite(n)) problems.push(`--set ${name}=${text}: ${name} is a number`);
        else values[name] = n;
        break;
      }
      case 'boolean':
        if (text !== 'true' && text !== 'false')
          problems.push(`--set ${name}=${text}: ${name} is true or false`);
        else values[name] = text === 'true';
        break;
      case 'enum':
        if (!variable.values.includes(text))
          problems.push(`--set ${name}=${text}: ${name} is one of ${variable.values.join(', ')}`);
        else values[name] = text;
        break;
      default:
        values[name] = text;
    }
  }
  if (problems.length > 0) throw new CliError(problems.join('\n'), EXIT.usage);
  return values;
}

export function changeLines(changes: readonly Change[]): string[] {
  const show = (v: unknown) => {
    const text = JSON.stringify(v);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  };
  return changes.map((c) =>
    c.op === 'add'
      ? `  + ${c.pointer} ${show(c.after)}`
      : c.op === 'remove'
        ? `  - ${c.pointer} ${show(c.before)}`
        : `  ~ ${c.pointer} ${show(c.before)} → ${show(c.after)}`,
  );
}

function useCaseLines(u: UseCase & { templateDeprecation?: { message: string } | null }): string[] {
  return [
    `${u.id} v${u.version}${u.archived ? ' (archived)' : ''}: ${u.name}`,
    `vertical: ${u.vertical}${u.tags.length > 0 ? `  tags: ${u.tags.join(', ')}` : ''}`,
    ...(u.template
      ? [`template: ${u.template.id} ${u.template.version} ${JSON.stringify(u.template.values)}`]
      : []),
    ...(u.templateDeprecation
      ? [
          `DEPRECATED template version: ${u.templateDeprecation.message} (seraphim use-cases upgrade ${u.id} --version …)`,
        ]
      : []),
    `steps: ${u.workflow.steps.map((s) => `${s.id} (${s.agent})`).join(' → ')}`,
    `updated ${instantText(u.updatedAt)}${u.note ? `: ${u.note}` : ''}`,
  ];
}

export async function useCases(
  args: string[],
  opts: UseCasesOptions,
  out: (line: string) => void,
): Promise<number> {
  const [action, id] = args;
  const api = cliApi(opts.url).useCases;
  const workspace = opts.workspace;
  const need = requirer(action, USE_CASES_USAGE);
  const print = printer(opts.json, out);
  const dryRun = { dryRun: opts.dryRun ? ('true' as const) : ('false' as const) };
  switch (action) {
    case 'list': {
      const page = await api.list({
        params: { workspace },
        query: { limit: 200, archived: opts.archived ? 'include' : 'exclude' },
      });
      print(page, () =>
        page.useCases.length === 0
          ? [
              'No use cases. Make one: seraphim templates list, then seraphim use-cases create ID --template T',
            ]
          : table([
              ['ID', 'VERSION', 'VERTICAL', 'TEMPLATE', 'NAME'],
              ...page.useCases.map((u) => [
                `${u.id}${u.archived ? ' (archived)' : ''}`,
                String(u.version),
                u.vertical,
                u.template ? `${u.template.id} ${u.template.version}` : '-',
                u.name,
              ]),
            ]),
      );
      return EXIT.ok;
    }
    case 'show': {
      const version = opts.version === undefined ? undefined : Number(opts.version);
      if (version !== undefined && !(Number.isInteger(version) && version >= 1))
        throw new CliError(`--version must be a version number such as 2; got "${opts.version}"`, EXIT.usage);
      const u = await api.get({
        params: { workspace, useCase: need(id, 'a use case id') },
        query: version === undefined ? {} : { version },
      });
      print(u, () => useCaseLines(u));
      return EXIT.ok;
    }
    case 'create': {
      const useCase = need(id, 'the new use case id');
      const template = need(opts.template, '--template');
      const detail = await cliApi(opts.url).useCases.getTemplate({
        params: { workspace, template },
        query: opts.version ? { version: opts.version } : {},
      });
      const values = readSets(opts.set ?? [], detail.resolved.variables);
      const created = await api.instantiate({
        params: { workspace, template },
        query: dryRun,
        body: {
          id: useCase,
          values,
          ...(opts.version ? { version: opts.version } : {}),
          ...(opts.name ? { name: opts.name } : {}),
        },
      });
      print(created, () => [
        ...(opts.dryRun ? ['Dry run: nothing saved. It would make:'] : []),
        ...useCaseLines(created),
        ...(opts.dryRun
          ? []
          : [`Run it: seraphim executions run ${created.id} --workspace ${workspace} --input '{…}'`]),
      ]);
      return EXIT.ok;
    }
    case 'versions': {
      const page = await api.versions({
        params: { workspace, useCase: need(id, 'a use case id') },
        query: { limit: 200 },
      });
      print(page, () =>
        table([
          ['VERSION', 'SAVED', 'TEMPLATE', 'NOTE'],
          ...page.versions.map((v) => [
            String(v.version),
            instantText(v.updatedAt),
            v.template ? `${v.template.id} ${v.template.version}` : '-',
            v.note,
          ]),
        ]),
      );
      return EXIT.ok;
    }
    case 'upgrade': {
      const useCase = need(id, 'a use case id');
      const version = need(opts.version, '--version');
      const current = await api.get({ params: { workspace, useCase }, query: {} });
      if (!current.template) throw new CliError(`${useCase} was not made from a template`, EXIT.usage);
      const detail = await api.getTemplate({
        params: { workspace, template: current.template.id },
        query: { version },
      });
      const result = await api.upgrade({
        params: { workspace, useCase },
        query: dryRun,
        body: {
          version,
          values: readSets(opts.set ?? [], detail.resolved.variables),
          allowMajor: opts.allowMajor === true,
        },
      });
      print(result, () => [
        `${useCase}: ${current.template?.id} ${current.template?.version} → ${version}: ${result.changes.length} change${result.changes.length === 1 ? '' : 's'}`,
        ...changeLines(result.changes),
        result.applied
          ? `Saved as version ${result.useCase.version}.`
          : opts.dryRun
            ? 'Dry run: nothing saved.'
            : 'Nothing to change.',
      ]);
      return EXIT.ok;
    }
    case 'archive':
    case 'unarchive': {
      const u = await api.archive({
        params: { workspace, useCase: need(id, 'a use case id') },
        body: { archived: action === 'archive' },
      });
      print(u, () => [`${u.id} ${u.archived ? 'archived: it starts no new run' : 'restored'}`]);
      return EXIT.ok;
    }
    case 'export': {
      const u = await api.get({ params: { workspace, useCase: need(id, 'a use case id') }, query: {} });
      const file = useCaseToFile(u);
      const text =
        opts.output?.endsWith('.json') || opts.json ? `${JSON.stringify(file, null, 2)}\n` : toYaml([file]);
      if (opts.output) {
        writeFileSync(opts.output, text);
        out(`Wrote ${opts.output}`);
      } else out(text.trimEnd());
      return EXIT.ok;
    }
    default:
      throw new CliError(
        `Unknown use-cases action "${action ?? ''}".\nUsage:\n${USE_CASES_USAGE}`,
        EXIT.usage,
      );
  }
}

export async function templates(
  args: string[],
  opts: UseCasesOptions,
  out: (line: string) => void,
): Promise<number> {
  const [action, id] = args;
  const api = cliApi(opts.url).useCases;
  const workspace = opts.workspace;
  const need = requirer(action, TEMPLATES_USAGE);
  const print = printer(opts.json, out);
  switch (action) {
    case 'list': {
      const lib = await api.listTemplates({
        params: { workspace },
        query: {
          abstract: 'exclude',
          ...(opts.q ? { q: opts.q } : {}),
          ...(opts.vertical ? { vertical: opts.vertical } : {}),
          ...(opts.tag ? { tag: opts.tag } : {}),
        },
      });
      print(lib, () =>
        lib.templates.length === 0
          ? ['No template matches.']
          : table([
              ['ID', 'VERSION', 'VERTICAL', 'TO SUPPLY', 'NAME'],
              ...lib.templates.map((t) => [
                `${t.id}${t.deprecated ? ' (deprecated)' : ''}`,
                t.version,
                t.vertical,
                `${t.requiredVariables} of ${t.variables}`,
                t.name,
              ]),
            ]),
      );
      return EXIT.ok;
    }
    case 'show': {
      const d = await api.getTemplate({
        params: { workspace, template: need(id, 'a template id') },
        query: opts.version ? { version: opts.version } : {},
      });
      print(d, () => [
        `${d.summary.id} ${d.summary.version} (${d.summary.source}): ${d.summary.name}`,
        d.summary.description,
        `chain: ${d.resolved.chain.map((r) => `${r.id}@${r.version}`).join(' → ')}`,
        'variables:',
        ...Object.entries(d.resolved.variables).map(
          ([name, v]) =>
            `  ${name} (${v.type}${v.type === 'enum' ? `: ${v.values.join('|')}` : ''})${v.default === undefined ? (v.required === false ? ' optional' : ' required') : ` = ${JSON.stringify(v.default)}`}  ${v.description}`,
        ),
        `versions: ${d.versions.map((v) => `${v.version}${v.deprecated ? ' (deprecated)' : ''}`).join(', ')}`,
        `Make a use case: seraphim use-cases create MY-ID --template ${d.summary.id} --set name=value …`,
      ]);
      return EXIT.ok;
    }
    case 'diff': {
      const d = await api.diffTemplate({
        params: { workspace, template: need(id, 'a template id') },
        query: { from: need(opts.from, '--from'), to: need(opts.to, '--to') },
      });
      print(d, () => [
        `${id} ${d.from} → ${d.to}, as written: ${d.structural.length} change(s)`,
        ...changeLines(d.structural),
        `resolved through the chain: ${d.resolved.length} change(s)`,
        ...changeLines(d.resolved),
      ]);
      return EXIT.ok;
    }
    case 'publish': {
      const path = need(opts.file, '--file');
      const docs = readConfig(path);
      const found = docs.filter((d) => d.kind === 'Template');
      if (found.length !== 1)
        throw new CliError(`${path} must hold exactly one Template; it holds ${found.length}`, EXIT.usage);
      const template = (found[0] as { template: unknown }).template;
      const d = await api.publishTemplate({
        params: { workspace },
        query: { dryRun: opts.dryRun ? 'true' : 'false' },
        body: template as never,
      });
      print(d, () => [
        `${opts.dryRun ? 'Valid; not published (dry run)' : 'Published'}: ${d.summary.id} ${d.summary.version}`,
      ]);
      return EXIT.ok;
    }
    case 'deprecate': {
      const v = await api.deprecateTemplate({
        params: { workspace, template: need(id, 'a template id'), version: need(opts.version, '--version') },
        body: { message: opts.message ? opts.message : null },
      });
      print(v, () => [
        v.deprecated
          ? `${id} ${v.version} deprecated: ${v.deprecated.message}`
          : `${id} ${v.version} no longer deprecated`,
      ]);
      return EXIT.ok;
    }
    case 'schema': {
      const schema = await api.templateSchema({});
      out(JSON.stringify(schema, null, 2));
      return EXIT.ok;
    }
    default:
      throw new CliError(
        `Unknown templates action "${action ?? ''}".\nUsage:\n${TEMPLATES_USAGE}`,
        EXIT.usage,
      );
  }
}

/** A configuration file's documents; unreadable or invalid files are usage errors listing every problem. */
export function readConfig(path: string) {
  try {
    return readConfigFile(path);
  } catch (error) {
    if (error instanceof ConfigFileError) throw new CliError(error.message, EXIT.usage);
    throw error;
  }
}

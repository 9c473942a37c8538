/**
 * The template library's contract: browse, read (resolved, with origins and
 * versions), diff, publish, deprecate, and make a use case from a template or
 * move one to a newer version. Part of the use cases API (api.ts).
 */
import { z } from 'zod';
import { defineContract } from '../../platform/contract.js';
import { UseCaseIdSchema, UseCaseSchema } from './model.js';
import {
  MAX_VARIABLES,
  SemverSchema,
  TemplateIdSchema,
  TemplateRefSchema,
  TemplateSchema,
  VariableSchema,
} from './templates/model.js';

export const Ws = z.object({ workspace: z.string() });
// Ids are checked before they name a document: `a%2Fversions%2F1.0.0` must not reach a version.
const WsTemplate = Ws.extend({ template: TemplateIdSchema });
// Strict queries: a misspelt `?dryrun=true` is a 400, never a save.
export const DryRun = z.strictObject({
  dryRun: z
    .enum(['true', 'false'])
    .optional()
    .transform((v) => v === 'true')
    .describe('`true`: validate and answer what would be saved, and save nothing'),
});
const base = '/workspaces/:workspace/templates';

export const ChangeSchema = z
  .object({
    op: z.enum(['add', 'remove', 'change']),
    /** JSON pointer of the value that changed. */
    pointer: z.string(),
    before: z.unknown().optional(),
    after: z.unknown().optional(),
  })
  .meta({ id: 'Change' });

export const DeprecationSchema = z.object({ message: z.string(), at: z.number() });

export const TemplateVersionSchema = z
  .object({
    version: z.string(),
    changelog: z.string(),
    publishedAt: z.number().nullable(),
    deprecated: DeprecationSchema.nullable(),
  })
  .meta({ id: 'TemplateVersion' });

export const TemplateSummarySchema = z
  .object({
    id: z.string(),
    /** The newest version not deprecated (the newest when all are). */
    version: z.string(),
    name: z.string(),
    vertical: z.string(),
    tags: z.array(z.string()),
    description: z.string(),
    abstract: z.boolean(),
    /** `builtin`: shipped with Seraphim; `workspace`: published to this workspace's library. */
    source: z.enum(['builtin', 'workspace']),
    extends: TemplateRefSchema.optional(),
    /** Variables a user must supply: the work of making a use case from it. */
    requiredVariables: z.number().int(),
    variables: z.number().int(),
    deprecated: DeprecationSchema.nullable(),
  })
  .meta({ id: 'TemplateSummary' });

export const ResolvedTemplateSchema = z
  .object({
    chain: z.array(TemplateRefSchema),
    variables: z.record(z.string(), VariableSchema),
    spec: z.record(z.string(), z.unknown()),
    samples: z.array(z.object({ name: z.string(), description: z.string(), input: z.unknown() })),
    /** JSON pointer → `id@version` of the template in the chain that set the value. */
    origins: z.record(z.string(), z.string()),
  })
  .meta({ id: 'ResolvedTemplate' });

export const TemplateDetailSchema = z
  .object({
    summary: TemplateSummarySchema,
    template: TemplateSchema,
    resolved: ResolvedTemplateSchema,
    versions: z.array(TemplateVersionSchema),
  })
  .meta({ id: 'TemplateDetail' });

export const InstantiateBodySchema = z
  .object({
    /** The new use case's id. */
    id: UseCaseIdSchema,
    /** @default the template's name */
    name: z.string().min(1).max(200).optional(),
    description: z.string().max(4000).optional(),
    /** @default the newest version not deprecated */
    version: SemverSchema.optional(),
    /** Variable name → value; secrets by NAME. */
    values: z
      .record(z.string(), z.unknown())
      .refine((v) => Object.keys(v).length <= MAX_VARIABLES, `at most ${MAX_VARIABLES} values`)
      .default({}),
  })
  .meta({ id: 'InstantiateBody' });

export const UpgradeBodySchema = z
  .object({
    /** The template version to move to. */
    version: SemverSchema,
    /** Values to change or add (null removes one); the rest are the use case's current ones. */
    values: z
      .record(z.string(), z.unknown())
      .refine((v) => Object.keys(v).length <= MAX_VARIABLES, `at most ${MAX_VARIABLES} values`)
      .default({}),
    /** A new MAJOR version may change what values mean: say so to move across one. @default false */
    allowMajor: z.boolean().default(false),
  })
  .meta({ id: 'UpgradeBody' });

export const templatesApi = {
  listTemplates: defineContract({
    method: 'GET',
    path: base,
    access: 'viewer',
    summary: "The template library as this workspace sees it: the built-in templates and the workspace's own",
    params: Ws,
    query: z.strictObject({
      q: z.string().max(200).optional().describe('words to find in the id, name, description or tags'),
      vertical: z.string().max(100).optional(),
      tag: z.string().max(40).optional(),
      abstract: z
        .enum(['exclude', 'include'])
        .default('exclude')
        .describe('bases that only other templates extend'),
    }),
    response: z.object({
      templates: z.array(TemplateSummarySchema),
      /** Every vertical and tag in the library, for the filters. */
      verticals: z.array(z.string()),
      tags: z.array(z.string()),
    }),
  }),
  getTemplate: defineContract({
    method: 'GET',
    path: `${base}/:template`,
    access: 'viewer',
    summary:
      'One template: as written, resolved through its chain with the origin of every value, and its versions',
    params: WsTemplate,
    query: z.strictObject({ version: SemverSchema.optional() }),
    response: TemplateDetailSchema,
  }),
  diffTemplate: defineContract({
    method: 'GET',
    path: `${base}/:template/diff`,
    access: 'viewer',
    summary: 'What changed between two versions: as written, and resolved through their chains',
    params: WsTemplate,
    query: z.strictObject({ from: SemverSchema, to: SemverSchema }),
    response: z.object({
      from: z.string(),
      to: z.string(),
      structural: z.array(ChangeSchema),
      resolved: z.array(ChangeSchema),
    }),
  }),
  publishTemplate: defineContract({
    method: 'POST',
    path: base,
    access: 'admin',
    summary: "Publish a template version to the workspace's library; versions are immutable",
    description:
      'Checked whole first: the schema, the inheritance chain, the variables and, unless abstract, the use case it makes. ' +
      'Every problem comes back at once with its JSON pointer. A version already published is refused (409).',
    problems: [409],
    params: Ws,
    query: DryRun,
    body: TemplateSchema,
    status: 201,
    response: TemplateDetailSchema,
  }),
  deprecateTemplate: defineContract({
    method: 'POST',
    path: `${base}/:template/versions/:version/deprecation`,
    access: 'admin',
    summary:
      'Deprecate a published version (the use cases pinning it show the message), or lift it with `null`',
    params: WsTemplate.extend({ version: SemverSchema }),
    query: z.strictObject({}),
    body: z.object({ message: z.string().min(1).max(1000).nullable() }),
    response: TemplateVersionSchema,
  }),
  instantiate: defineContract({
    method: 'POST',
    path: `${base}/:template/use-cases`,
    access: 'admin',
    summary: 'Create a use case from a template and values: one call',
    description:
      'Unknown, missing and mistyped values are reported at `/values/<name>`; problems in what the template makes at `/spec/...`.',
    problems: [409],
    params: WsTemplate,
    query: DryRun,
    body: InstantiateBodySchema,
    status: 201,
    response: UseCaseSchema,
  }),
  upgrade: defineContract({
    method: 'POST',
    path: '/workspaces/:workspace/use-cases/:useCase/upgrade',
    access: 'admin',
    summary:
      'Move a use case to another version of its template: the changes first (dryRun), then a new version',
    problems: [409], // not made from a template, archived, or across a major version without `allowMajor`
    params: Ws.extend({ useCase: UseCaseIdSchema }),
    query: DryRun,
    body: UpgradeBodySchema,
    response: z.object({
      useCase: UseCaseSchema,
      /** What the upgrade changes in the use case. */
      changes: z.array(ChangeSchema),
      applied: z.boolean(),
    }),
  }),
  templateSchema: defineContract({
    method: 'GET',
    path: '/template-schema',
    access: 'public',
    summary: 'The JSON Schema of template files, for editors to autocomplete and check them',
    response: z.record(z.string(), z.unknown()),
  }),
};

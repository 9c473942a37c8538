/**
 * Templates: a use case described once, for a vertical or an industry, and
 * made concrete with a few values. One schema, exported as JSON Schema
 * (`seraphim templates schema`) so editors autocomplete and check template
 * files. A template's `spec` is an overlay: it is checked whole only once its
 * inheritance chain is merged (resolve.ts).
 */
import { z } from 'zod';
import { IdentifierSchema } from '../../executions/model.js';
import { DatasetNameSchema, SecretNameSchema, TagSchema, UseCaseIdSchema } from '../model.js';

export const TEMPLATE_API_VERSION = 'seraphim.dev/v1';

/** Variables of one template, and of a resolved chain: a form a person fills in, not a table. */
export const MAX_VARIABLES = 200;

/** MAJOR.MINOR.PATCH, no ranges: a template pins the exact version it extends. */
export const SemverSchema = z
  .string()
  .regex(/^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$/, 'a version MAJOR.MINOR.PATCH, e.g. 1.2.0');

export const TemplateIdSchema = UseCaseIdSchema;

// No `.default()` here: a child's overlay that names its `type` is parsed by this schema too, and a
// default would overwrite what the parent set. What is absent means: description '', maxLength
// 1000, multiline and integer false.
const common = {
  description: z.string().max(1000).optional(),
  /**
   * Must a value be supplied at instantiation? @default true when there is no
   * default. An optional variable with no default and no value is `null`: a
   * field that is exactly `${name}` is then left out.
   */
  required: z.boolean().optional(),
  /** Shown in forms beside the field. */
  label: z.string().max(200).optional(),
};

export const VariableSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('string'),
    ...common,
    default: z.string().max(10_000).optional(),
    /**
     * A regular expression (JavaScript syntax) the whole value must match. Matched on RE2; counted
     * repetitions (`{n,m}`) up to 50, so checking a value stays cheap.
     */
    pattern: z.string().max(200).optional(),
    /** @default 1000 */
    maxLength: z.number().int().min(1).max(10_000).optional(),
    /** @default false */
    multiline: z.boolean().optional(),
  }),
  z.strictObject({
    type: z.literal('number'),
    ...common,
    default: z.number().optional(),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
    /** @default false */
    integer: z.boolean().optional(),
  }),
  z.strictObject({ type: z.literal('boolean'), ...common, default: z.boolean().optional() }),
  z.strictObject({
    type: z.literal('enum'),
    ...common,
    values: z.array(z.string().min(1).max(200)).min(1).max(100),
    default: z.string().optional(),
  }),
  /** A secret by NAME: substituted as the name, never a value, and it cannot be computed with. */
  z.strictObject({ type: z.literal('secret'), ...common, default: SecretNameSchema.optional() }),
  /** A dataset by name, as the pipelines publish it. */
  z.strictObject({ type: z.literal('dataset'), ...common, default: DatasetNameSchema.optional() }),
]);
export type Variable = z.infer<typeof VariableSchema>;
export const VARIABLE_TYPES = ['string', 'number', 'boolean', 'enum', 'secret', 'dataset'] as const;

export const SampleSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes'),
  description: z.string().max(1000).default(''),
  /** An execution input: what the sample run is started with. */
  input: z.unknown(),
});

export const TemplateMetadataSchema = z.strictObject({
  id: TemplateIdSchema,
  version: SemverSchema,
  name: z.string().min(1).max(200),
  vertical: z.string().min(1).max(100),
  tags: z.array(TagSchema).max(20).default([]),
  description: z.string().max(4000).default(''),
  /** What this version changed. */
  changelog: z.string().max(4000).default(''),
  /** A base for other templates only: it is not installed as a use case. */
  abstract: z.boolean().default(false),
});

export const TemplateRefSchema = z.strictObject({ id: TemplateIdSchema, version: SemverSchema });
export type TemplateRef = z.infer<typeof TemplateRefSchema>;

/**
 * A template as written in a file and published. `spec` is the use case it
 * makes, minus its id and name, as an overlay on what it extends:
 * `workflow`, `contextTtlSeconds`, `secrets`, `datasets`, `metrics`, `pool`
 * and `cache`. See docs/templates.md for the merge rules.
 */
export const TemplateSchema = z
  .strictObject({
    apiVersion: z.literal(TEMPLATE_API_VERSION),
    kind: z.literal('Template'),
    metadata: TemplateMetadataSchema,
    extends: TemplateRefSchema.optional(),
    /** By name; in a template that extends another, a partial overlay of the inherited one, or null to remove it. */
    variables: z
      .record(IdentifierSchema, z.union([VariableSchema, z.record(z.string(), z.unknown()), z.null()]))
      .refine((v) => Object.keys(v).length <= MAX_VARIABLES, `at most ${MAX_VARIABLES} variables`)
      .default({}),
    spec: z.record(z.string(), z.unknown()).default({}),
    samples: z
      .array(SampleSchema.partial().extend({ name: SampleSchema.shape.name }))
      .max(20)
      .default([]),
  })
  .meta({ id: 'Template' });
export type Template = z.infer<typeof TemplateSchema>;
export type TemplateInput = z.input<typeof TemplateSchema>;

/** The largest template accepted, as JSON: a template is configuration, not data. */
export const MAX_TEMPLATE_BYTES = 256 * 1024;
/** base → vertical → use case leaves room for a workspace's own layers, and no more. */
export const MAX_CHAIN_DEPTH = 6;

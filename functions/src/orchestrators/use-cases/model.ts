/**
 * Use cases: what a workspace runs. A use case is a workflow plus what the
 * platform needs around it (datasets, metrics, pool and cache settings), and
 * where it came from (the template and the values it was made with). Every
 * save is a new immutable version that executions pin.
 */
import { z } from 'zod';
import { PRIORITY_CLASSES } from '../../platform/priority.js';
import { defineDocumentKind } from '../../platform/stored.js';
import { IdentifierSchema, WorkflowSchema } from '../executions/model.js';

export const UseCaseIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes');
export const TagSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'a tag: lower-case letters, digits, dashes');
/** Firebase secret names are env-style; a use case names them and never holds a value. */
export const SecretNameSchema = z.string().regex(/^[A-Z][A-Z0-9_]{0,62}$/, 'a secret NAME (A-Z, 0-9, _)');
/** A dataset by name: what the pipelines publish and a use case reads. */
export const DatasetNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}(@[0-9]+)?$/, 'a dataset name (lower-case, dashes), optionally @version');

export const DatasetRequirementSchema = z.object({
  /** The dataset, by name. */
  dataset: DatasetNameSchema,
  description: z.string().max(1000).default(''),
  /** Whether a run makes sense without it. @default true */
  required: z.boolean().default(true),
});

/** What a good outcome is: the experiments and learning issues score variants by these. */
export const MetricSchema = z.object({
  id: IdentifierSchema,
  description: z.string().max(1000).default(''),
  goal: z.enum(['maximize', 'minimize']),
  /** Where an execution reports it: a context path, e.g. `decision.score`. */
  source: z.string().min(1).max(200).optional(),
  target: z.number().optional(),
  unit: z.string().max(40).optional(),
});

export const PoolSettingsSchema = z.object({
  /** The priority class of steps that do not name their own. @default 'normal' */
  priority: z.enum(PRIORITY_CLASSES).default('normal'),
});

export const CacheSettingsSchema = z.object({
  /** The time-to-live of a step's cached result when its `cache` names none. */
  ttlSeconds: z
    .number()
    .int()
    .min(1)
    .max(30 * 24 * 3600),
});

/** The template (and its values) a use case was made from: what an upgrade starts from. */
export const TemplateOriginSchema = z.object({
  id: z.string(),
  version: z.string(),
  /** The values given at instantiation; secrets are names, never values. */
  values: z.record(z.string(), z.unknown()).default({}),
});
export type TemplateOrigin = z.infer<typeof TemplateOriginSchema>;

export const UseCaseBodySchema = z
  .object({
    id: UseCaseIdSchema,
    name: z.string().min(1).max(200),
    vertical: z.string().min(1).max(100),
    description: z.string().max(4000).default(''),
    tags: z.array(TagSchema).max(20).default([]),
    workflow: WorkflowSchema,
    /** How long an execution's context and checkpoints are kept after it ends. @default 7 days */
    contextTtlSeconds: z
      .number()
      .int()
      .min(60)
      .max(365 * 24 * 3600)
      .default(7 * 24 * 3600),
    /** Secret reference names the workflow may use (values never stored). */
    secrets: z.array(SecretNameSchema).default([]),
    /** The datasets it reads. */
    datasets: z.array(DatasetRequirementSchema).max(50).default([]),
    /** The metrics that define a good outcome. */
    metrics: z.array(MetricSchema).max(50).default([]),
    pool: PoolSettingsSchema.default({ priority: 'normal' }),
    cache: CacheSettingsSchema.optional(),
    /** Set when made from a template. */
    template: TemplateOriginSchema.optional(),
  })
  .meta({ id: 'UseCaseBody' });
export type UseCaseBody = z.infer<typeof UseCaseBodySchema>;
export type UseCaseBodyInput = z.input<typeof UseCaseBodySchema>;

export const UseCaseSchema = UseCaseBodySchema.extend({
  workspace: z.string(),
  version: z.number().int().min(1),
  createdAt: z.number(),
  updatedAt: z.number(),
  /** Archived use cases keep their versions and executions, and start no new run. */
  archived: z.boolean().default(false),
  /** What changed in this version, in the editor's words. */
  note: z.string().max(1000).default(''),
}).meta({ id: 'UseCase' });
export type UseCase = z.infer<typeof UseCaseSchema>;

/** A stored use case as a body to save again: less what the store adds (version, times, archive flag, note). */
export function bodyOf(useCase: UseCase): UseCaseBody {
  return UseCaseBodySchema.parse(useCase); // an object schema keeps only its own keys
}

export const UseCaseVersionSummarySchema = z
  .object({
    version: z.number().int(),
    createdAt: z.number(),
    updatedAt: z.number(),
    note: z.string(),
    template: TemplateOriginSchema.optional(),
  })
  .meta({ id: 'UseCaseVersionSummary' });

export const UseCaseDocument = defineDocumentKind({ name: 'use case', schema: UseCaseSchema });

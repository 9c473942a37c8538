/**
 * The use cases API's contract: use cases and their versions, and (templates.ts)
 * the template library they are made from. Routes implement it (routes.ts);
 * the typed client, the CLI and Mission Control call it. Imports only zod and
 * schema modules.
 */
import { z } from 'zod';
import { defineContract } from '../../platform/contract.js';
import { UseCaseBodySchema, UseCaseIdSchema, UseCaseSchema, UseCaseVersionSummarySchema } from './model.js';
import { DryRun, templatesApi, Ws } from './templates-api.js';

// Ids are checked before they name a document: `a%2Fversions%2F000001` must not reach a version.
const WsUseCase = Ws.extend({ useCase: UseCaseIdSchema });
const Page = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().optional(),
});
const base = '/workspaces/:workspace/use-cases';

export const UseCaseEditSchema = UseCaseBodySchema.omit({ id: true })
  .extend({
    /** What changed, shown beside the version. */
    note: z.string().max(1000).optional(),
    /** The version the edit was made on: saving over a newer one is refused (409). */
    ifVersion: z.number().int().min(1).optional(),
  })
  .meta({ id: 'UseCaseEdit' });

export const useCasesApi = {
  create: defineContract({
    method: 'POST',
    path: base,
    access: 'admin',
    summary: 'Create a use case, or save a new version of it; the workflow is validated first',
    description:
      'Every problem comes back at once, each with a JSON pointer into the body. With `?dryRun=true`, nothing is saved.',
    problems: [409], // archived; or saves of one use case at once and the transaction gave up
    params: Ws,
    query: DryRun,
    body: UseCaseBodySchema,
    status: 201,
    response: UseCaseSchema,
  }),
  list: defineContract({
    method: 'GET',
    path: base,
    access: 'viewer',
    summary: 'Use cases of a workspace, by id; archived ones only when asked for',
    params: Ws,
    query: Page.extend({ archived: z.enum(['exclude', 'include', 'only']).default('exclude') }),
    response: z.object({ useCases: z.array(UseCaseSchema), nextCursor: z.string().optional() }),
  }),
  get: defineContract({
    method: 'GET',
    path: `${base}/:useCase`,
    access: 'viewer',
    summary: 'One use case: the latest version, or the one named by ?version=',
    description:
      'When the template version it pins is deprecated, `templateDeprecation` carries the message (upgrade it).',
    params: WsUseCase,
    query: z.strictObject({ version: z.coerce.number().int().min(1).optional() }),
    response: UseCaseSchema.extend({
      templateDeprecation: z.object({ message: z.string(), at: z.number() }).nullable(),
    }),
  }),
  update: defineContract({
    method: 'PUT',
    path: `${base}/:useCase`,
    access: 'admin',
    summary: 'Edit a use case: saves its next version (versions never change once saved)',
    problems: [409], // archived, or `ifVersion` is not the latest
    params: WsUseCase,
    query: DryRun,
    body: UseCaseEditSchema,
    response: UseCaseSchema,
  }),
  versions: defineContract({
    method: 'GET',
    path: `${base}/:useCase/versions`,
    access: 'viewer',
    summary: 'The versions of a use case, newest first',
    params: WsUseCase,
    query: Page,
    response: z.object({ versions: z.array(UseCaseVersionSummarySchema), nextCursor: z.string().optional() }),
  }),
  archive: defineContract({
    method: 'POST',
    path: `${base}/:useCase/archive`,
    access: 'admin',
    summary: 'Archive a use case (no new runs; its versions and executions stay), or restore it',
    params: WsUseCase,
    query: z.strictObject({}),
    body: z.object({ archived: z.boolean() }),
    response: UseCaseSchema,
  }),
  ...templatesApi,
};

/**
 * The use cases API as Mission Control's use-case pages call it: use cases and their versions, the
 * template library (browse, read, diff, instantiate), and starting a run. Calls go through the
 * shared typed client, and the types are the routes' own answers (inferred from the server's
 * schemas); failures arrive as `ApiError`.
 */
import { type ApiResponse, api, type RequestOptions } from '../api.ts';

/** One version of a use case, as saved. */
export type UseCase = ApiResponse<'useCases', 'update'>;
/** A use case as `get` answers: with the deprecation of the template version it pins, if any. */
export type UseCaseWithNotice = ApiResponse<'useCases', 'get'>;
export type Workflow = UseCase['workflow'];
export type WorkflowStep = Workflow['steps'][number];
export type UseCaseVersion = ApiResponse<'useCases', 'versions'>['versions'][number];
export type TemplateList = ApiResponse<'useCases', 'listTemplates'>;
export type TemplateSummary = TemplateList['templates'][number];
export type TemplateDetail = ApiResponse<'useCases', 'getTemplate'>;
export type ResolvedTemplate = TemplateDetail['resolved'];
export type TemplateVariable = ResolvedTemplate['variables'][string];
export type TemplateVariableType = TemplateVariable['type'];
export type TemplateSample = ResolvedTemplate['samples'][number];
export type TemplateVersion = TemplateDetail['versions'][number];
export type TemplateDiff = ApiResponse<'useCases', 'diffTemplate'>;
export type Change = TemplateDiff['structural'][number];
/** A template as a file holds it and `publishTemplate` takes it (apiVersion, kind, metadata, …). */
export type TemplateDocument = TemplateDetail['template'];
export type StartedExecution = ApiResponse<'executions', 'start'>;
export type AgentKind = ApiResponse<'executions', 'listAgents'>['agents'][number];

/** Which use cases a list shows: the live ones (the default), all, or only the archived. */
export type ArchivedFilter = 'exclude' | 'include' | 'only';

/**
 * What a use case's editor sends: the use case as the author typed it (without its id), plus what
 * changed and the version the edit was made on. The server is the one judge of its shape.
 */
export type UseCaseEdit = Record<string, unknown> & { note?: string; ifVersion?: number };
/** The parts of a use case its editor shows as JSON: everything the server does not set. */
export type UseCaseEditable = Omit<UseCase, 'id' | 'workspace' | 'version' | 'createdAt' | 'updatedAt' | 'archived' | 'note'>;

export interface LibraryFilter {
  /** Words to find; empty for all. */
  q: string;
  /** A vertical; empty for all. */
  vertical: string;
  /** A tag; empty for all. */
  tag: string;
}

export interface InstantiateRequest {
  id: string;
  name?: string;
  version?: string;
  values: Record<string, unknown>;
}

const useCases = (options: RequestOptions | undefined) => api(options).useCases;
const signal = (options: RequestOptions | undefined) => ({ signal: options?.signal });

export function listUseCases(
  workspace: string,
  page: { cursor?: string; limit?: number; archived?: ArchivedFilter },
  options?: RequestOptions,
): Promise<ApiResponse<'useCases', 'list'>> {
  return useCases(options).list({ params: { workspace }, query: page, ...signal(options) });
}

/** The latest version, or the one named. */
export function getUseCase(
  workspace: string,
  id: string,
  version?: number,
  options?: RequestOptions,
): Promise<UseCaseWithNotice> {
  return useCases(options).get({
    params: { workspace, useCase: id },
    query: version === undefined ? {} : { version },
    ...signal(options),
  });
}

/** Newest first. */
export function listUseCaseVersions(
  workspace: string,
  id: string,
  page: { cursor?: string; limit?: number } = {},
  options?: RequestOptions,
): Promise<ApiResponse<'useCases', 'versions'>> {
  return useCases(options).versions({ params: { workspace, useCase: id }, query: page, ...signal(options) });
}

/**
 * Saves the next version (or, with `dryRun`, checks it and answers what would be saved). Rejects
 * with 400 naming each problem by JSON pointer, and 409 when `ifVersion` is not the latest.
 */
export function updateUseCase(
  workspace: string,
  id: string,
  body: UseCaseEdit,
  dryRun: boolean,
  options?: RequestOptions,
): Promise<UseCase> {
  return useCases(options).update({
    params: { workspace, useCase: id },
    query: { dryRun: dryRun ? 'true' : 'false' },
    // The editor sends what the author typed: the server is the validator of its shape.
    body: body as Parameters<ReturnType<typeof useCases>['update']>[0]['body'],
    ...signal(options),
  });
}

export function archiveUseCase(
  workspace: string,
  id: string,
  archived: boolean,
  options?: RequestOptions,
): Promise<UseCase> {
  return useCases(options).archive({ params: { workspace, useCase: id }, body: { archived }, ...signal(options) });
}

export function listTemplates(
  workspace: string,
  filter: LibraryFilter,
  options?: RequestOptions,
): Promise<TemplateList> {
  return useCases(options).listTemplates({
    params: { workspace },
    query: {
      ...(filter.q.trim() ? { q: filter.q.trim() } : {}),
      ...(filter.vertical ? { vertical: filter.vertical } : {}),
      ...(filter.tag ? { tag: filter.tag } : {}),
    },
    ...signal(options),
  });
}

/** The whole library, abstract bases included: what a new template can extend. */
export function listLibrary(workspace: string, options?: RequestOptions): Promise<TemplateList> {
  return useCases(options).listTemplates({ params: { workspace }, query: { abstract: 'include' }, ...signal(options) });
}

/** The current version (the newest not deprecated), or the one named. */
export function getTemplate(
  workspace: string,
  id: string,
  version?: string,
  options?: RequestOptions,
): Promise<TemplateDetail> {
  return useCases(options).getTemplate({
    params: { workspace, template: id },
    query: version === undefined ? {} : { version },
    ...signal(options),
  });
}

export function diffTemplate(
  workspace: string,
  id: string,
  from: string,
  to: string,
  options?: RequestOptions,
): Promise<TemplateDiff> {
  return useCases(options).diffTemplate({
    params: { workspace, template: id },
    query: { from, to },
    ...signal(options),
  });
}

/**
 * Publishes a template version to the workspace's library, or (`dryRun`) checks it whole and
 * answers what would be published: a 400 names each problem by JSON pointer (or a dotted body path
 * for the schema's own), a 409 a version already published or a built-in template's id.
 */
export function publishTemplate(
  workspace: string,
  template: unknown,
  dryRun: boolean,
  options?: RequestOptions,
): Promise<TemplateDetail> {
  return useCases(options).publishTemplate({
    params: { workspace },
    query: { dryRun: dryRun ? 'true' : 'false' },
    // What the author wrote, as read: the server is the judge of its shape.
    body: template as Parameters<ReturnType<typeof useCases>['publishTemplate']>[0]['body'],
    ...signal(options),
  });
}

/** Deprecates a published version with a message, or lifts its deprecation (`null`); 409 for a built-in template. */
export function deprecateTemplate(
  workspace: string,
  template: string,
  version: string,
  message: string | null,
  options?: RequestOptions,
): Promise<TemplateVersion> {
  return useCases(options).deprecateTemplate({
    params: { workspace, template, version },
    body: { message },
    ...signal(options),
  });
}

/**
 * Makes a use case from a template and values, or (`dryRun`) checks that it would: a 400 names
 * each problem by JSON pointer (`/values/<name>`, `/id`, `/spec/...`).
 */
export function instantiateTemplate(
  workspace: string,
  template: string,
  request: InstantiateRequest,
  dryRun: boolean,
  options?: RequestOptions,
): Promise<UseCase> {
  return useCases(options).instantiate({
    params: { workspace, template },
    query: { dryRun: dryRun ? 'true' : 'false' },
    body: request,
    ...signal(options),
  });
}

/** Starts a run; a 400 names each refused input field (`body.input.<field>`). */
export function startExecution(
  workspace: string,
  useCaseId: string,
  input: unknown,
  options?: RequestOptions,
): Promise<StartedExecution> {
  return api(options).executions.start({ params: { workspace }, body: { useCaseId, input }, ...signal(options) });
}

export function listAgents(options?: RequestOptions): Promise<AgentKind[]> {
  return api(options)
    .executions.listAgents({ ...signal(options) })
    .then((answer) => answer.agents);
}

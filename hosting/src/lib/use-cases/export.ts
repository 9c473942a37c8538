/**
 * Use cases and templates as files, the shape `seraphim apply` reads: the same mapping as the
 * server's `useCaseToFile` and `toYaml` (`functions/…/use-cases/files.ts`), written again here
 * because Mission Control never imports server code (a unit test holds the two together). Pure
 * functions of their input; the `yaml` module is passed in.
 */
import type { TemplateDocument, UseCase, UseCaseWithNotice } from './api.ts';
import type { Yaml } from './template-source.ts';

export const FILE_API_VERSION = 'seraphim.dev/v1';

/** A use case as a file: its metadata, the template it came from, and the rest as its spec. */
export interface UseCaseFileDocument {
  apiVersion: typeof FILE_API_VERSION;
  kind: 'UseCase';
  metadata: { id: string; name: string; description: string };
  template?: NonNullable<UseCase['template']>;
  spec: Record<string, unknown>;
}

/**
 * The fields of a use case's body that a file holds as its `spec`, in the body schema's order
 * (`UseCaseBodySchema` less id, name, description and template, which the file holds apart). What
 * the server sets on each version (workspace, version, times, archived, note) or tells beside it
 * (the template's deprecation) is not among them. A unit test holds this list to the schema.
 */
export const SPEC_FIELDS = [
  'vertical',
  'tags',
  'workflow',
  'contextTtlSeconds',
  'secrets',
  'datasets',
  'metrics',
  'pool',
  'cache',
] as const;

/**
 * A use case as a file, as the server's `useCaseToFile` writes it: apiVersion, kind, metadata
 * (id, name, description), the template it was made from (if any), and its body's other fields as
 * `spec`. A use case the API answered already has its defaults filled in, which the server's
 * mapping adds.
 */
export function useCaseToFile(useCase: UseCase | UseCaseWithNotice): UseCaseFileDocument {
  const { id, name, description, template } = useCase;
  const spec: Record<string, unknown> = {};
  for (const field of SPEC_FIELDS) if (useCase[field] !== undefined) spec[field] = useCase[field];
  return {
    apiVersion: FILE_API_VERSION,
    kind: 'UseCase',
    metadata: { id, name, description },
    ...(template ? { template } : {}),
    spec,
  };
}

/** Documents as one YAML file, as the server writes them: no anchors, no folded lines, `---` between. */
export function toYaml(documents: readonly unknown[], yaml: Yaml): string {
  return documents.map((d) => yaml.stringify(d, { aliasDuplicateObjects: false, lineWidth: 0 })).join('---\n');
}

/** `<id>.yaml`: the file a use case is exported to. */
export function useCaseFileName(id: string): string {
  return `${id}.yaml`;
}

/** `<id>-<version>.yaml`: the file a template version is exported to. */
export function templateFileName(template: TemplateDocument): string {
  return `${template.metadata.id}-${template.metadata.version}.yaml`;
}

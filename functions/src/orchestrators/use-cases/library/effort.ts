/**
 * What a template saves its user: the variables they must (or may) fill in,
 * against the size of the use case it resolves to. A use case written by
 * hand is every field of the resolved one; made from a template it is the
 * required variables, and at most the optional ones.
 */
import { builtinAgents, createAgentRegistry } from '../../executions/agents/registry.js';
import type { AgentCatalog } from '../../executions/workflow.js';
import type { Template } from '../templates/model.js';
import { instantiate, isRequired, resolveTemplate, type TemplateLoader } from '../templates/resolve.js';
import { loadBuiltinTemplate } from './index.js';

export interface CreationEffort {
  id: string;
  /** Variables a user must supply: required, with no default. */
  requiredFields: number;
  /** Variables a user may change: every other one. */
  optionalFields: number;
  /** Leaf values (scalars, and empty lists or objects) of the use case made with the defaults. */
  resolvedFields: number;
  /** That use case as JSON, in bytes. */
  resolvedBytes: number;
}

const builtinRegistry = createAgentRegistry(builtinAgents);

/** Leaf values under `value`: what someone writing it by hand would type. */
export function countLeaves(value: unknown): number {
  if (Array.isArray(value))
    return value.length === 0 ? 1 : value.reduce((n: number, v) => n + countLeaves(v), 0);
  if (typeof value === 'object' && value !== null) {
    const entries = Object.values(value);
    return entries.length === 0 ? 1 : entries.reduce((n: number, v) => n + countLeaves(v), 0);
  }
  return value === undefined ? 0 : 1;
}

/**
 * The effort of making a use case from `template` (a concrete one: an
 * abstract template makes no use case). Required variables are given
 * placeholder values of their type; the `template` origin the use case
 * records is left out of the size, as bookkeeping nobody writes.
 */
export async function creationEffort(
  template: Template,
  opts: { load?: TemplateLoader; agents?: AgentCatalog } = {},
): Promise<CreationEffort> {
  const resolved = await resolveTemplate(template, opts.load ?? loadBuiltinTemplate);
  const variables = Object.values(resolved.variables);
  const requiredFields = variables.filter(isRequired).length;
  const agents = opts.agents ?? builtinRegistry;
  const { template: _origin, ...body } = instantiate(
    resolved,
    { id: template.metadata.id, values: {} },
    agents,
    {
      placeholders: requiredFields > 0,
    },
  );
  return {
    id: template.metadata.id,
    requiredFields,
    optionalFields: variables.length - requiredFields,
    resolvedFields: countLeaves(body),
    resolvedBytes: Buffer.byteLength(JSON.stringify(body)),
  };
}

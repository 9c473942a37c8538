/**
 * The agent registry: every kind a workflow step may name. A new kind is one
 * file exporting a `defineAgent(...)`, plus one entry in `builtinAgents`.
 */
import { z } from 'zod';
import { agentConfigId } from '../model.js';
import { branchAgent } from './branch.js';
import { httpAgent } from './http.js';
import { humanAgent } from './human.js';
import { llmAgent } from './llm.js';
import { rulesAgent } from './rules.js';
import { transformAgent } from './transform.js';
import type { AgentDefinition } from './types.js';
import { validateAgent } from './validate.js';
import { waitAgent } from './wait.js';

export interface AgentRegistry {
  /** The agent of a kind, or undefined (workflow validation reports unknown kinds). */
  get(kind: string): AgentDefinition | undefined;
  has(kind: string): boolean;
  /** Every kind, sorted. */
  kinds(): string[];
}

/** Throws on two agents of one kind: the later would silently replace the earlier. */
export function createAgentRegistry(agents: readonly AgentDefinition[]): AgentRegistry {
  const byKind = new Map<string, AgentDefinition>();
  for (const agent of agents) {
    if (byKind.has(agent.kind)) throw new Error(`two agents define the kind "${agent.kind}"`);
    byKind.set(agent.kind, agent);
  }
  const kinds = [...byKind.keys()].sort();
  return {
    get: (kind) => byKind.get(kind),
    has: (kind) => byKind.has(kind),
    kinds: () => [...kinds],
  };
}

/** An agent kind as it describes itself (GET /api/executions/agents, the editor, the docs). */
export interface AgentDescription {
  kind: string;
  description: string;
  upstream: boolean;
  /** JSON Schema of a step's `config`, from the kind's zod schema: what an author writes (defaults optional). */
  config: Record<string, unknown>;
}

export function describeAgents(registry: Pick<AgentRegistry, 'get' | 'kinds'>): AgentDescription[] {
  return registry.kinds().map((kind) => {
    const agent = registry.get(kind) as AgentDefinition;
    return {
      kind,
      description: agent.description,
      upstream: agent.upstream === true,
      // A refinement or transform zod cannot express is left open ({}), never a failure.
      config: z.toJSONSchema(agent.config, { io: 'input', unrepresentable: 'any' }) as Record<
        string,
        unknown
      >,
    };
  });
}

const documented = new WeakMap<AgentDefinition, z.ZodType>();

/**
 * Each kind's `config` schema as the API document names it (`TransformAgentConfig`): the schema
 * the workflow validator checks a step's config with, under an id. Named once per definition.
 */
export function agentConfigSchemas(registry: Pick<AgentRegistry, 'get' | 'kinds'>): z.ZodType[] {
  return registry.kinds().map((kind) => {
    const agent = registry.get(kind) as AgentDefinition;
    let schema = documented.get(agent);
    if (!schema) {
      schema = agent.config.meta({
        id: agentConfigId(kind),
        description: `A ${kind} step's config. ${agent.description}`,
      });
      documented.set(agent, schema);
    }
    return schema;
  });
}

// ---- the built-in agents: add a kind by adding it to this list ----
export const builtinAgents: readonly AgentDefinition[] = [
  transformAgent,
  validateAgent,
  rulesAgent,
  branchAgent,
  waitAgent,
  humanAgent,
  httpAgent,
  llmAgent,
];

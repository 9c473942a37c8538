/**
 * The `useCases` orchestrator: use cases, their immutable versions, and the
 * template library they are made from. The engine reaches a use case only
 * through `resolveUseCase` (resolve.ts).
 */
import { defineOrchestrator } from '../../platform/orchestrator.js';
import { builtinAgents, createAgentRegistry } from '../executions/agents/registry.js';
import type { AgentCatalog } from '../executions/workflow.js';
import { useCaseRoutes } from './routes.js';

/** Over a given agent catalog: a use case is checked against the agents that will run it. */
export function createUseCasesOrchestrator(agents: AgentCatalog) {
  return defineOrchestrator({
    name: 'useCases',
    description: 'Use cases and their versions, and the template library they are made from',
    routes: useCaseRoutes(agents),
  });
}

export default createUseCasesOrchestrator(createAgentRegistry(builtinAgents));

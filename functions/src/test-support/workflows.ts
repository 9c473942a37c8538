/** Small agent catalogs and workflows for the pure tests: no I/O, no real agents. */
import { z } from 'zod';
import type { AgentDefinition } from '../orchestrators/executions/agents/types.js';
import { initialStepState } from '../orchestrators/executions/machine.js';
import {
  type Execution,
  type StepInput,
  type StepState,
  type Workflow,
  WorkflowSchema,
} from '../orchestrators/executions/model.js';
import {
  type AgentCatalog,
  type CompiledWorkflow,
  compileWorkflow,
} from '../orchestrators/executions/workflow.js';

const noop: AgentDefinition<Record<string, unknown>> = {
  kind: 'noop',
  description: 'returns its inputs',
  config: z.record(z.string(), z.unknown()),
  run: async (call) => ({ status: 'succeeded', output: call.inputs }),
};

const BranchConfig = z.object({
  cases: z.array(z.object({ then: z.array(z.string()) })),
  otherwise: z.array(z.string()).default([]),
});
const fork: AgentDefinition<z.infer<typeof BranchConfig>> = {
  kind: 'fork',
  description: 'a branch taking its first matching case',
  config: BranchConfig,
  targets: (c) => [...c.cases.flatMap((x) => x.then), ...c.otherwise],
  outcomes: (c) => [...c.cases.map((x) => x.then), c.otherwise],
  run: async () => ({ status: 'succeeded', output: null, route: [] }),
};

export const testCatalog: AgentCatalog = {
  get: (kind) => ({ noop, fork })[kind] as AgentDefinition | undefined,
  kinds: () => ['noop', 'fork'],
};

export function workflowOf(steps: StepInput[], extra: Partial<Workflow> = {}): Workflow {
  return WorkflowSchema.parse({ ...extra, steps });
}

export function compile(steps: StepInput[], extra: Partial<Workflow> = {}): CompiledWorkflow {
  return compileWorkflow(workflowOf(steps, extra), testCatalog);
}

/** `a → b`, where each step reads the previous one's output. */
export function chain(...ids: string[]): StepInput[] {
  return ids.map(
    (id, i): StepInput => ({
      id,
      agent: 'noop',
      output: `${id}Out`,
      inputs: i === 0 ? { x: 'input.x' } : ({ prev: `${ids[i - 1]}Out` } as Record<string, string>),
    }),
  );
}

/** An execution state built by hand: the given steps (each over a fresh step state), at `at`. */
export function executionWith(
  steps: Record<string, Partial<StepState>>,
  opts: { status?: Execution['status']; context?: Record<string, unknown>; at?: number } = {},
): Execution {
  const at = opts.at ?? Date.UTC(2026, 0, 1);
  return {
    id: 'e1',
    workspace: 'w',
    useCaseId: 'uc',
    useCaseVersion: 1,
    status: opts.status ?? 'running',
    paused: false,
    input: {},
    context: opts.context ?? {},
    steps: Object.fromEntries(Object.entries(steps).map(([id, s]) => [id, { ...initialStepState(), ...s }])),
    error: null,
    correlationId: 'c',
    parentId: null,
    forkedFromCheckpoint: null,
    checkpoint: 0,
    origin: null,
    createdAt: at,
    updatedAt: at,
    endedAt: null,
    expiresAt: at + 3_600_000,
  };
}

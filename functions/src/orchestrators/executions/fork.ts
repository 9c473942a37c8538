/**
 * Forks, pure: a new execution that starts from another's checkpoint. It keeps
 * what the checkpoint had finished, except what edited input invalidates:
 * every step that reads `input`, directly or through another step, runs again.
 */
import type { Execution, StepState } from './model.js';
import type { CompiledStep, CompiledWorkflow } from './workflow.js';

/** The parent's state at the checkpoint the fork starts from. */
export interface ForkParent {
  id: string;
  checkpoint: number;
  context: Record<string, unknown>;
  steps: Record<string, StepState>;
  inputChanged: boolean;
}

/** `fresh`, a new execution of the same workflow (machine.newExecution), carrying over what the parent finished. */
export function forkFrom(fresh: Execution, wf: CompiledWorkflow, parent: ForkParent): Execution {
  const carried: NonNullable<Execution['origin']> = { context: {}, steps: {} };
  const stale = parent.inputChanged ? dependentsOfInput(wf) : new Set<string>();
  for (const [id, s] of Object.entries(parent.steps)) {
    const node = wf.steps.get(id);
    if (!node || stale.has(id) || s.status !== 'succeeded') continue;
    carried.steps[id] = { ...s };
    const key = node.step.output;
    if (key in parent.context) carried.context[key] = parent.context[key];
  }
  return {
    ...fresh,
    steps: { ...fresh.steps, ...carried.steps },
    context: { ...fresh.context, ...carried.context },
    parentId: parent.id,
    forkedFromCheckpoint: parent.checkpoint,
    // Kept, so the fork's own checkpoints can be replayed from where it started.
    origin: carried,
  };
}

/** Steps whose result depends on the execution input, directly or through other steps. */
export function dependentsOfInput(wf: CompiledWorkflow): Set<string> {
  const stale = new Set<string>();
  for (const id of wf.order) {
    const node = wf.steps.get(id) as CompiledStep;
    const readsInput = Object.values(node.step.inputs).some(
      (path) => path === 'input' || path.startsWith('input.'),
    );
    if (readsInput || node.deps.some((d) => stale.has(d))) stale.add(id);
  }
  return stale;
}

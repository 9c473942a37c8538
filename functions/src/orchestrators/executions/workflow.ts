/**
 * Workflow validation and compilation: from a declared list of steps to a
 * checked DAG. Every problem is reported at once with a JSON pointer into the
 * use case body (`/workflow/steps/2/inputs/amount`), so an author can fix a
 * definition in one pass. Pure: no I/O.
 */
import { InvalidInputError, type ProblemField } from '../../platform/errors.js';
import type { AgentDefinition } from './agents/types.js';
import { compileInputSchema } from './input-schema.js';
import { RESERVED_CONTEXT_KEYS, type Step, type Workflow } from './model.js';

export interface AgentCatalog {
  get(kind: string): AgentDefinition | undefined;
  kinds(): string[];
}

export interface CompiledStep {
  step: Step;
  index: number;
  /** Steps that must settle first: producers of its inputs, `after`, and the branch that gates it. */
  deps: string[];
  /** Branch steps whose route decides whether this step runs. */
  gatedBy: string[];
  /** For a branch step: the steps its route chooses among. */
  targets: string[];
}

export interface CompiledWorkflow {
  steps: ReadonlyMap<string, CompiledStep>;
  /** A topological order: every step after its dependencies. */
  order: string[];
  /** Step id producing each context key. */
  producers: ReadonlyMap<string, string>;
  /** What an execution's input is checked against (input-schema.ts), when the workflow declares one. */
  inputSchema?: Record<string, unknown>;
}

const base = '/workflow';

/** Validates and compiles; throws InvalidInputError listing every problem with its pointer. */
export function compileWorkflow(workflow: Workflow, agents: AgentCatalog): CompiledWorkflow {
  const problems: ProblemField[] = [];
  const report = (path: string, message: string) => problems.push({ path: `${base}${path}`, message });

  const byId = new Map<string, number>();
  const producers = new Map<string, string>();
  workflow.steps.forEach((step, i) => {
    if (byId.has(step.id))
      report(`/steps/${i}/id`, `duplicate step id "${step.id}" (also /steps/${byId.get(step.id)})`);
    else byId.set(step.id, i);
    if ((RESERVED_CONTEXT_KEYS as readonly string[]).includes(step.output)) {
      report(`/steps/${i}/output`, `"${step.output}" is reserved for the execution's ${step.output}`);
    } else if (producers.has(step.output)) {
      report(
        `/steps/${i}/output`,
        `output key "${step.output}" conflicts with step "${producers.get(step.output)}": parallel steps must write different keys`,
      );
    } else producers.set(step.output, step.id);
  });

  const inputSchema = workflow.inputSchema ? compileInputSchema(workflow.inputSchema) : undefined;
  for (const p of inputSchema?.problems ?? []) report(`/inputSchema${p.pointer}`, p.message);
  const inputFields = declaredInputFields(workflow.inputSchema);
  const compiled = new Map<string, CompiledStep>();
  workflow.steps.forEach((step, i) => {
    const deps = new Set<string>();
    let targets: string[] = [];
    const agent = agents.get(step.agent);
    if (!agent) {
      report(`/steps/${i}/agent`, `unknown agent kind "${step.agent}"; known: ${agents.kinds().join(', ')}`);
    } else {
      const config = agent.config.safeParse(step.config);
      if (!config.success) {
        for (const issue of config.error.issues) {
          report(`/steps/${i}/config${issue.path.map((p) => `/${String(p)}`).join('')}`, issue.message);
        }
      } else if (agent.targets) {
        targets = [...new Set(agent.targets(config.data))];
        targets.forEach((target) => {
          if (!byId.has(target)) report(`/steps/${i}/config`, `branch target "${target}" is not a step`);
          else if (target === step.id) report(`/steps/${i}/config`, 'a branch cannot target itself');
        });
      }
    }
    for (const [name, path] of Object.entries(step.inputs)) {
      const [head, field] = path.split('.');
      if (head === 'input') {
        if (field && inputFields && !inputFields.has(field)) {
          report(`/steps/${i}/inputs/${name}`, `"${path}": the input schema has no field "${field}"`);
        }
      } else if (head === 'vars') {
        if (field && !(field in workflow.vars))
          report(`/steps/${i}/inputs/${name}`, `"${path}": no variable "${field}"`);
      } else {
        const producer = producers.get(head ?? '');
        if (!producer)
          report(`/steps/${i}/inputs/${name}`, `"${path}": no step or context provides "${head}"`);
        else deps.add(producer);
      }
    }
    step.after.forEach((id, j) => {
      if (!byId.has(id)) report(`/steps/${i}/after/${j}`, `"${id}" is not a step`);
      else deps.add(id);
    });
    compiled.set(step.id, { step, index: i, deps: [...deps], gatedBy: [], targets });
  });
  for (const node of compiled.values()) {
    for (const target of node.targets) {
      const gated = compiled.get(target);
      if (!gated || target === node.step.id) continue;
      gated.gatedBy.push(node.step.id);
      if (!gated.deps.includes(node.step.id)) gated.deps.push(node.step.id);
    }
  }

  const order = topologicalOrder(compiled, report);
  if (order) findUnreachable(compiled, order, agents, report);
  if (problems.length > 0) {
    throw new InvalidInputError(
      `Invalid workflow: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
      problems,
    );
  }
  return {
    steps: compiled,
    order: order ?? [],
    producers,
    ...(inputSchema ? { inputSchema: inputSchema.schema } : {}),
  };
}

function declaredInputFields(schema: Record<string, unknown> | undefined): Set<string> | undefined {
  const properties = schema?.properties;
  if (!properties || typeof properties !== 'object') return undefined;
  return new Set(Object.keys(properties));
}

/** Kahn's algorithm in declaration order; on a cycle, reports it as a path. */
function topologicalOrder(
  steps: Map<string, CompiledStep>,
  report: (path: string, message: string) => void,
): string[] | null {
  const remaining = new Map([...steps].map(([id, s]) => [id, s.deps.filter((d) => steps.has(d)).length]));
  const order: string[] = [];
  const ready = [...steps.values()].filter((s) => remaining.get(s.step.id) === 0).map((s) => s.step.id);
  while (ready.length > 0) {
    const id = ready.shift() as string;
    order.push(id);
    for (const other of steps.values()) {
      if (!other.deps.includes(id)) continue;
      const left = (remaining.get(other.step.id) ?? 0) - 1;
      remaining.set(other.step.id, left);
      if (left === 0) ready.push(other.step.id);
    }
  }
  if (order.length === steps.size) return order;
  const cycle = findCycle(steps, new Set(order));
  const first = steps.get(cycle[0] as string);
  report(`/steps/${first?.index ?? 0}`, `cycle: ${cycle.join(' → ')}`);
  return null;
}

function findCycle(steps: Map<string, CompiledStep>, done: Set<string>): string[] {
  const stack: string[] = [];
  const visiting = new Set<string>();
  const visit = (id: string): string[] | null => {
    if (visiting.has(id)) return [...stack.slice(stack.indexOf(id)), id];
    if (done.has(id)) return null;
    visiting.add(id);
    stack.push(id);
    for (const dep of steps.get(id)?.deps ?? []) {
      const found = visit(dep);
      if (found) return found;
    }
    stack.pop();
    visiting.delete(id);
    done.add(id);
    return null;
  };
  for (const id of steps.keys()) {
    const found = visit(id);
    if (found) return found.reverse();
  }
  return [];
}

/**
 * A step that needs (through `join: 'all'` edges) two targets of one branch
 * that no single outcome selects together can never run: report it.
 */
function findUnreachable(
  steps: Map<string, CompiledStep>,
  order: string[],
  agents: AgentCatalog,
  report: (path: string, message: string) => void,
): void {
  const outcomes = new Map<string, string[][]>();
  for (const node of steps.values()) {
    const agent = agents.get(node.step.agent);
    const parsed = agent?.config.safeParse(node.step.config);
    if (agent?.outcomes && parsed?.success) outcomes.set(node.step.id, agent.outcomes(parsed.data));
  }
  // requires: branch id → set of its targets this step needs selected
  const requires = new Map<string, Map<string, Set<string>>>();
  for (const id of order) {
    const node = steps.get(id) as CompiledStep;
    const mine = new Map<string, Set<string>>();
    const add = (branch: string, target: string) => {
      const set = mine.get(branch) ?? new Set<string>();
      set.add(target);
      mine.set(branch, set);
    };
    for (const branch of node.gatedBy) add(branch, id);
    if (node.step.join === 'all') {
      for (const dep of node.deps) {
        for (const [branch, targets] of requires.get(dep) ?? []) for (const t of targets) add(branch, t);
      }
    }
    requires.set(id, mine);
    for (const [branch, needed] of mine) {
      const possible = outcomes.get(branch);
      if (!possible || needed.size < 2) continue;
      if (!possible.some((outcome) => [...needed].every((t) => outcome.includes(t)))) {
        report(
          `/steps/${node.index}`,
          `unreachable: "${id}" needs ${[...needed].map((t) => `"${t}"`).join(' and ')}, which branch "${branch}" never selects together (use join: "any" to run after either)`,
        );
      }
    }
  }
}

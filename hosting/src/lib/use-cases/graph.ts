/**
 * A workflow as a graph to draw: its steps as nodes in layers (each step below every step it
 * depends on), and its edges: data (a step reads another's output), ordering (`after`) and branch
 * (a branch step's route chooses its targets). The dependencies are the engine's (executions
 * `workflow.ts`): the producers of a step's `inputs` (the first segment of each mapping, except
 * `input.` and `vars.`), its `after` list, and the branch steps that target it.
 *
 * Tolerant: the editor draws what the author is typing, so steps may be malformed, name unknown
 * steps or form a cycle. Nodes are keyed by their index in the list (ids may be missing or
 * repeated while typing). Pure functions of their input.
 */

/** Context keys every execution has besides its steps' outputs (executions `RESERVED_CONTEXT_KEYS`). */
const RESERVED_CONTEXT_KEYS = new Set(['input', 'vars']);

/** A step as far as the graph cares; every field may be missing in a draft. */
export interface GraphStep {
  id: string;
  agent: string;
  output: string | undefined;
  inputs: Record<string, string>;
  after: string[];
  join: string;
  /** The branch agent's targets: each target step's id with the cases that choose it. */
  targets: { id: string; label: string }[];
}

export type EdgeKind = 'data' | 'after' | 'branch';

export interface GraphEdge {
  /** Indexes of the steps. */
  from: number;
  to: number;
  /** Every reason the edge exists, e.g. a branch target that also reads the branch's output. */
  kinds: EdgeKind[];
  /** The branch cases that choose the target (`case 1`, `otherwise`), or the inputs it carries. */
  label: string;
}

export interface GraphNode {
  index: number;
  id: string;
  agent: string;
  /** 0 for steps that depend on nothing. */
  layer: number;
  /** Position within its layer, from the left. */
  slot: number;
  /** Indexes of the steps it depends on. */
  deps: number[];
  /** Depends on two or more steps: a join (`join: 'all' | 'any'`). */
  join: string | undefined;
  /** A branch step: its route chooses among its targets. */
  branch: boolean;
  /** In a dependency cycle: it can never run (drawn in a last layer). */
  cyclic: boolean;
  x: number;
  y: number;
}

export interface GraphLayout {
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Steps' indexes by layer, each left to right. */
  layers: number[][];
  width: number;
  height: number;
  nodeWidth: number;
  nodeHeight: number;
}

export interface LayoutOptions {
  nodeWidth?: number;
  nodeHeight?: number;
  /** Between two nodes of a layer. */
  gapX?: number;
  /** Between two layers. */
  gapY?: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/**
 * The targets of a branch step's config (`cases[].then`, `otherwise`), each with the cases that
 * choose it, e.g. `[{ id: 'review', label: 'case 1, case 2' }, { id: 'pay', label: 'otherwise' }]`.
 */
export function branchTargets(config: unknown): { id: string; label: string }[] {
  if (!isRecord(config)) return [];
  const labels = new Map<string, string[]>();
  const add = (id: string, label: string) => labels.set(id, [...(labels.get(id) ?? []), label]);
  const cases = Array.isArray(config.cases) ? config.cases : [];
  cases.forEach((branchCase, i) => {
    if (!isRecord(branchCase)) return;
    for (const id of new Set(strings(branchCase.then))) add(id, `case ${i + 1}`);
  });
  for (const id of new Set(strings(config.otherwise))) add(id, 'otherwise');
  return [...labels].map(([id, all]) => ({ id, label: all.join(', ') }));
}

/** The steps of a workflow (or of anything typed as one), read defensively. */
export function graphSteps(workflow: unknown): GraphStep[] {
  const steps = isRecord(workflow) && Array.isArray(workflow.steps) ? workflow.steps : [];
  return steps.map((raw, index): GraphStep => {
    const step = isRecord(raw) ? raw : {};
    const inputs = isRecord(step.inputs)
      ? Object.fromEntries(
          Object.entries(step.inputs).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
        )
      : {};
    const agent = typeof step.agent === 'string' ? step.agent : '';
    return {
      id: typeof step.id === 'string' && step.id !== '' ? step.id : `step ${index}`,
      agent,
      output: typeof step.output === 'string' ? step.output : undefined,
      inputs,
      after: strings(step.after),
      join: step.join === 'any' ? 'any' : 'all',
      targets: agent === 'branch' ? branchTargets(step.config) : [],
    };
  });
}

/**
 * Every edge between the steps: from each producer of an input, each step named in `after`, and
 * each branch to its targets. Edges naming no known step (a draft's typo) are left out; two
 * reasons for the same edge make one edge.
 */
export function workflowEdges(steps: readonly GraphStep[]): GraphEdge[] {
  const byId = new Map<string, number>();
  const producers = new Map<string, number>();
  steps.forEach((step, i) => {
    if (!byId.has(step.id)) byId.set(step.id, i);
    if (step.output !== undefined && !producers.has(step.output)) producers.set(step.output, i);
  });
  const edges = new Map<string, { from: number; to: number; kinds: Set<EdgeKind>; data: string[]; cases: string }>();
  const add = (from: number, to: number, kind: EdgeKind, detail = '') => {
    if (from === to) return;
    const key = `${from}>${to}`;
    const edge = edges.get(key) ?? { from, to, kinds: new Set<EdgeKind>(), data: [], cases: '' };
    edge.kinds.add(kind);
    if (kind === 'data' && detail) edge.data.push(detail);
    if (kind === 'branch') edge.cases = detail;
    edges.set(key, edge);
  };
  steps.forEach((step, to) => {
    for (const [name, path] of Object.entries(step.inputs)) {
      const head = path.split('.')[0] ?? '';
      if (RESERVED_CONTEXT_KEYS.has(head)) continue;
      const from = producers.get(head);
      if (from !== undefined) add(from, to, 'data', name);
    }
    for (const id of step.after) {
      const from = byId.get(id);
      if (from !== undefined) add(from, to, 'after');
    }
  });
  steps.forEach((step, from) => {
    for (const target of step.targets) {
      const to = byId.get(target.id);
      if (to !== undefined) add(from, to, 'branch', target.label);
    }
  });
  const order: EdgeKind[] = ['branch', 'data', 'after'];
  return [...edges.values()]
    .map((edge) => ({
      from: edge.from,
      to: edge.to,
      kinds: order.filter((kind) => edge.kinds.has(kind)),
      label: edge.cases || edge.data.join(', '),
    }))
    .sort((a, b) => a.to - b.to || a.from - b.from);
}

/**
 * Layers by longest path: a step sits one layer below the lowest step it depends on, so every
 * edge points down. Steps in a cycle (no layer satisfies them) go in one last layer, marked.
 */
export function assignLayers(count: number, edges: readonly GraphEdge[]): { layer: number[]; cyclic: boolean[] } {
  const deps: number[][] = Array.from({ length: count }, () => []);
  for (const edge of edges) deps[edge.to]?.push(edge.from);
  const layer = new Array<number>(count).fill(-1);
  const remaining = deps.map((list) => list.length);
  const dependents: number[][] = Array.from({ length: count }, () => []);
  for (const edge of edges) dependents[edge.from]?.push(edge.to);
  const ready: number[] = [];
  remaining.forEach((left, i) => {
    if (left === 0) ready.push(i);
  });
  while (ready.length > 0) {
    const i = ready.shift() as number;
    layer[i] = Math.max(0, ...(deps[i] ?? []).map((d) => (layer[d] ?? -1) + 1));
    for (const next of dependents[i] ?? []) {
      remaining[next] = (remaining[next] ?? 0) - 1;
      if (remaining[next] === 0) ready.push(next);
    }
  }
  const placed = layer.filter((l) => l >= 0);
  const last = placed.length === 0 ? 0 : Math.max(...placed) + 1;
  const cyclic = layer.map((l) => l < 0);
  return { layer: layer.map((l) => (l < 0 ? last : l)), cyclic };
}

/**
 * The layers left to right: the first by declaration order, each next one by the mean position of
 * the steps each depends on (fewer crossings), ties by declaration order.
 */
export function orderLayers(layer: readonly number[], edges: readonly GraphEdge[]): number[][] {
  const depth = layer.length === 0 ? 0 : Math.max(...layer) + 1;
  const layers: number[][] = Array.from({ length: depth }, () => []);
  layer.forEach((l, i) => {
    layers[l]?.push(i);
  });
  const position = new Map<number, number>();
  for (const row of layers) {
    const weight = (i: number): number => {
      const parents = edges.filter((edge) => edge.to === i && position.has(edge.from));
      if (parents.length === 0) return Number.POSITIVE_INFINITY;
      return parents.reduce((sum, edge) => sum + (position.get(edge.from) ?? 0), 0) / parents.length;
    };
    const weights = new Map(row.map((i) => [i, weight(i)]));
    row.sort((a, b) => {
      const wa = weights.get(a) ?? 0;
      const wb = weights.get(b) ?? 0;
      if (wa === wb) return a - b;
      if (!Number.isFinite(wa)) return 1;
      if (!Number.isFinite(wb)) return -1;
      return wa - wb;
    });
    row.forEach((i, slot) => {
      position.set(i, slot - (row.length - 1) / 2);
    });
  }
  return layers;
}

/** The whole drawing: nodes placed top to bottom, layer by layer, each layer centred. */
export function layoutWorkflow(workflow: unknown, options: LayoutOptions = {}): GraphLayout {
  const nodeWidth = options.nodeWidth ?? 168;
  const nodeHeight = options.nodeHeight ?? 50;
  const gapX = options.gapX ?? 28;
  const gapY = options.gapY ?? 56;
  const steps = graphSteps(workflow);
  const edges = workflowEdges(steps);
  const { layer, cyclic } = assignLayers(steps.length, edges);
  const layers = orderLayers(layer, edges);
  const widest = Math.max(0, ...layers.map((row) => row.length));
  const width = widest === 0 ? 0 : widest * nodeWidth + (widest - 1) * gapX;
  const height = layers.length === 0 ? 0 : layers.length * nodeHeight + (layers.length - 1) * gapY;
  const nodes: GraphNode[] = new Array(steps.length);
  layers.forEach((row, l) => {
    const rowWidth = row.length * nodeWidth + (row.length - 1) * gapX;
    const left = (width - rowWidth) / 2;
    row.forEach((index, slot) => {
      const step = steps[index] as GraphStep;
      const deps = edges.filter((edge) => edge.to === index).map((edge) => edge.from);
      nodes[index] = {
        index,
        id: step.id,
        agent: step.agent,
        layer: l,
        slot,
        deps,
        join: deps.length > 1 ? step.join : undefined,
        branch: step.agent === 'branch',
        cyclic: cyclic[index] ?? false,
        x: left + slot * (nodeWidth + gapX),
        y: l * (nodeHeight + gapY),
      };
    });
  });
  return { nodes, edges, layers, width, height, nodeWidth, nodeHeight };
}

/** An edge's curve: its two ends and their control points (see `edgePath`). */
function curve(layout: GraphLayout, edge: GraphEdge): [number, number][] | undefined {
  const from = layout.nodes[edge.from];
  const to = layout.nodes[edge.to];
  if (!from || !to) return undefined;
  const x1 = from.x + layout.nodeWidth / 2;
  const y1 = from.y + layout.nodeHeight;
  const x2 = to.x + layout.nodeWidth / 2;
  const y2 = to.y;
  const bend = Math.max(24, Math.abs(y2 - y1) / 2);
  return [
    [x1, y1],
    [x1, y1 + bend],
    [x2, y2 - bend],
    [x2, y2],
  ];
}

/**
 * An edge's SVG path: from the bottom middle of one node to the top middle of the other, a curve
 * that leaves and arrives vertically. An edge that points up (only in a cycle) bends around.
 */
export function edgePath(layout: GraphLayout, edge: GraphEdge): string {
  const points = curve(layout, edge);
  if (!points) return '';
  const [p0, p1, p2, p3] = points.map(([x, y]) => `${round(x)},${round(y)}`);
  return `M${p0} C${p1} ${p2} ${p3}`;
}

/**
 * Where an edge's label goes: on the curve, three quarters of the way along, just above the step
 * it enters (the edges leaving one branch diverge there, so their labels do not overlap).
 */
export function edgeLabelPoint(layout: GraphLayout, edge: GraphEdge, t = 0.75): { x: number; y: number } {
  const points = curve(layout, edge);
  if (!points) return { x: 0, y: 0 };
  const weights = [(1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t ** 2, t ** 3];
  const at = (axis: 0 | 1) => points.reduce((sum, point, i) => sum + point[axis] * (weights[i] ?? 0), 0);
  return { x: round(at(0)), y: round(at(1)) };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

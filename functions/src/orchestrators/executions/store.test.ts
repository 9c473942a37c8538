/**
 * The execution record on a real store (the embedded runtime's SQLite, real
 * queue): a step costs one document write, the execution document is written
 * when its status changes, and executions stored the old way (v1: the whole
 * state in every checkpoint and in the execution) are read and carried on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  drainQueues,
  executionsApi,
  startTestRuntime,
  type TestRuntime,
} from '../../test-support/embedded.js';
import { createUseCasesOrchestrator } from '../use-cases/index.js';
import { builtinAgents, createAgentRegistry } from './agents/registry.js';
import { ExecutionEngine } from './engine.js';
import { createExecutionsOrchestrator } from './index.js';
import { initialStepState } from './machine.js';
import type { Execution } from './model.js';
import { deleteExecution, paths } from './store.js';

const engine = new ExecutionEngine(createAgentRegistry(builtinAgents));

/** `s0 → s1 → …`, each a transform adding 1 to the previous output. */
function chainUseCase(id: string, length: number) {
  return {
    id,
    name: id,
    vertical: 'test',
    workflow: {
      steps: Array.from({ length }, (_, i) => ({
        id: `s${i}`,
        agent: 'transform',
        inputs: { v: i === 0 ? 'input.v' : `o${i - 1}` },
        output: `o${i}`,
        config: { expression: 'v + 1' },
      })),
    },
  };
}

/**
 * Twelve steps, each writing about 100 KB (a padded string): 1.2 MB in all, past what one Firestore
 * document holds. The last step reads a big output whole and part of another.
 */
const bigOutputs = {
  id: 'big-outputs',
  name: 'big outputs',
  vertical: 'test',
  workflow: {
    steps: [
      ...Array.from({ length: 12 }, (_, i) => ({
        id: `b${i}`,
        agent: 'transform',
        output: `big${i}`,
        config: { expression: `{"n": ${i}, "text": $pad("", 100000, "${'abcdefghijkl'[i]}")}` },
      })),
      {
        id: 'measure',
        agent: 'transform',
        inputs: { whole: 'big3', n: 'big11.n' },
        output: 'measured',
        after: Array.from({ length: 12 }, (_, i) => `b${i}`),
        config: { expression: '{"length": $length(whole.text), "n": n}' },
      },
    ],
  },
};

/** One step that hands back what its input holds: whatever shape it has. */
const peek = {
  id: 'peek',
  name: 'peek',
  vertical: 'test',
  workflow: {
    steps: [
      {
        id: 'look',
        agent: 'transform',
        inputs: { doc: 'input.doc' },
        output: 'seen',
        config: { expression: 'doc' },
      },
    ],
  },
};

describe('the execution record on the embedded store', () => {
  let t: TestRuntime;
  const api = executionsApi(() => t.url, 'rec');
  const settle = () => drainQueues(t.runtime);
  const stored = (id: string) => t.runtime.ports.documents.get(paths.execution('rec', id));
  const checkpointCount = async (id: string) =>
    (await t.runtime.ports.documents.query(paths.checkpoints('rec', id), { limit: 1000 })).docs.length;

  beforeAll(async () => {
    t = await startTestRuntime([
      createUseCasesOrchestrator(engine.agents),
      createExecutionsOrchestrator(engine),
    ]);
    for (const [id, n] of [
      ['chain5', 5],
      ['chain20', 20],
    ] as const) {
      expect((await api('/use-cases', chainUseCase(id, n))).status).toBe(201);
    }
    expect((await api('/use-cases', bigOutputs)).status).toBe(201);
    expect((await api('/use-cases', peek)).status).toBe(201);
  });
  afterAll(() => t.dispose());

  it.each([5, 20])(
    'a %i-step chain writes one checkpoint per step, and its execution document only at start and end',
    async (length) => {
      const res = await api('/executions', { useCaseId: `chain${length}`, input: { v: 0 } });
      const { id } = (await res.json()) as { id: string };
      await settle();
      const doc = await stored(id);
      // A document's version counts its writes: created, then written once more as it succeeded.
      expect(doc?.version).toBe(2);
      expect(await checkpointCount(id)).toBe(length);
      const execution = (await (await api(`/executions/${id}`)).json()) as Execution;
      expect(execution.status).toBe('succeeded');
      expect(execution.context[`o${length - 1}`]).toBe(length);
      const last = (await (await api(`/executions/${id}/checkpoints/${length}`)).json()) as {
        context: Record<string, unknown>;
        steps: Record<string, { status: string }>;
      };
      expect(last.context).toEqual(execution.context);
      const mid = (await (await api(`/executions/${id}/checkpoints/2`)).json()) as typeof last;
      expect(mid.context).toEqual({ input: { v: 0 }, vars: {}, o0: 1, o1: 2 });
      expect(mid.steps.s2?.status).toBe('queued');
    },
  );

  it('reads an execution stored the old way (v1) and carries it on to the end', async () => {
    const id = '01OLDFORMAT000000000000001';
    const steps = Object.fromEntries(
      Array.from({ length: 5 }, (_, i) => [`s${i}`, { ...initialStepState() }]),
    );
    const at = Date.now();
    Object.assign(steps.s0 as object, {
      status: 'succeeded',
      attempts: 1,
      queuedAt: at,
      startedAt: at,
      endedAt: at,
    });
    Object.assign(steps.s1 as object, { status: 'queued', attempts: 1, queuedAt: at });
    const useCase = (await (await api('/use-cases/chain5')).json()) as { version: number };
    // What the engine stored before checkpoints became changes: no schema version, no origin.
    const v1 = {
      id,
      workspace: 'rec',
      useCaseId: 'chain5',
      useCaseVersion: useCase.version,
      status: 'running',
      paused: false,
      input: { v: 10 },
      context: { input: { v: 10 }, vars: {}, o0: 11 },
      steps,
      error: null,
      correlationId: 'old',
      parentId: null,
      forkedFromCheckpoint: null,
      checkpoint: 1,
      createdAt: at,
      updatedAt: at,
      endedAt: null,
      expiresAt: at + 3_600_000,
    };
    await t.runtime.ports.documents.create(paths.execution('rec', id), v1);
    await t.runtime.ports.documents.create(paths.checkpoint('rec', id, 1), {
      n: 1,
      at,
      stepId: 's0',
      attempt: 1,
      status: 'succeeded',
      inputs: { v: 10 },
      context: v1.context,
      steps,
    });
    await t.runtime.ports.tasks.enqueue(
      'executions-stepNormal',
      { workspace: 'rec', executionId: id, stepId: 's1', attempt: 1 },
      { id: `${id}-s1-a1` },
    );
    await settle();
    const execution = (await (await api(`/executions/${id}`)).json()) as Execution;
    expect(execution.status).toBe('succeeded');
    expect(execution.context.o4).toBe(15);
    const first = (await (await api(`/executions/${id}/checkpoints/1`)).json()) as { context: unknown };
    expect(first.context).toEqual(v1.context);
    const timeline = (await (await api(`/executions/${id}/timeline`)).json()) as {
      timeline: Array<{ stepId: string; checkpoints: number[] }>;
    };
    expect(timeline.timeline.map((s) => [s.stepId, s.checkpoints])).toEqual([
      ['s0', [1]],
      ['s1', [2]],
      ['s2', [3]],
      ['s3', [4]],
      ['s4', [5]],
    ]);
  });

  it('keeps big outputs by reference: an execution whose outputs pass 1 MiB finishes, and its steps read them whole', async () => {
    const res = await api('/executions', { useCaseId: 'big-outputs', input: {} });
    const { id } = (await res.json()) as { id: string };
    await settle();
    const execution = (await (await api(`/executions/${id}`)).json()) as Execution;
    expect(execution.status).toBe('succeeded');
    expect(execution.context.measured).toEqual({ length: 100_000, n: 11 });
    const ref = execution.context.big3 as { $blob: { path: string; bytes: number; sha256: string } };
    expect(ref.$blob.bytes).toBeGreaterThan(100_000);
    // The documents stay small: the snapshot holds references, not the 1.3 MB.
    const snapshot = await stored(id);
    expect(JSON.stringify(snapshot?.data).length).toBeLessThan(64 * 1024);
    const value = (await (await api(`/executions/${id}/values/${ref.$blob.sha256}`)).json()) as { n: number };
    expect(value.n).toBe(3);
    expect((await api(`/executions/${id}/values/${'0'.repeat(64)}`)).status).toBe(404);
    // A fork keeps its own copies, so the parent's expiry cannot take them away.
    const forked = await api(`/executions/${id}/fork`, { checkpoint: 12 });
    const fork = (await forked.json()) as { id: string };
    await settle();
    const forkState = (await (await api(`/executions/${fork.id}`)).json()) as Execution;
    expect(forkState.status).toBe('succeeded');
    expect((forkState.context.big3 as typeof ref).$blob.path).toContain(`/${fork.id}/values/`);
    // Deleting an expired execution takes its values with it.
    await deleteExecution(t.runtime.ports, 'rec', id);
    expect(await t.runtime.ports.blobs.head(ref.$blob.path)).toBeNull();
    expect(
      (await t.runtime.ports.blobs.list(`executions/rec/${fork.id}/values/`, { limit: 100 })).blobs.length,
    ).toBeGreaterThan(0);
  });

  it('never lets an input that looks like a value reference read another execution’s values', async () => {
    const victim = (await (await api('/executions', { useCaseId: 'big-outputs', input: {} })).json()) as {
      id: string;
    };
    await settle();
    const stolen = ((await (await api(`/executions/${victim.id}`)).json()) as Execution).context.big3;
    expect(stolen).toMatchObject({ $blob: { path: expect.stringContaining(`/${victim.id}/values/`) } });
    const thief = (await (
      await api('/executions', { useCaseId: 'peek', input: { doc: stolen } })
    ).json()) as {
      id: string;
    };
    await settle();
    const seen = ((await (await api(`/executions/${thief.id}`)).json()) as Execution).context.seen;
    // Plain data to the step: the reference itself, not the other execution's 100 KB.
    expect(seen).toEqual(stolen);
    // Nor can the values route be pointed at it: it names only the execution's own values.
    const sha = (stolen as { $blob: { sha256: string } }).$blob.sha256;
    expect((await api(`/executions/${thief.id}/values/${sha}`)).status).toBe(404);
  });
});

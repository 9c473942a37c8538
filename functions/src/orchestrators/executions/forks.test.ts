/**
 * Forks and their checkpoints end to end on the embedded runtime (real
 * SQLite, real blobs, real HTTP): what a fork inherited is its starting
 * point, checkpoint 0, and stays re-runnable on what its parent recorded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  drainQueues,
  executionsApi,
  startTestRuntime,
  type TestRuntime,
} from '../../test-support/embedded.js';
import system from '../system/index.js';
import { createUseCasesOrchestrator } from '../use-cases/index.js';
import { type UseCaseBody, UseCaseBodySchema } from '../use-cases/model.js';
import { builtinAgents, createAgentRegistry } from './agents/registry.js';
import { defineAgent } from './agents/types.js';
import { ExecutionEngine } from './engine.js';
import { createExecutionsOrchestrator } from './index.js';
import type { Execution } from './model.js';
import { deleteExecution } from './store.js';
import { INLINE_VALUE_BYTES } from './values.js';

/** A report too big to sit inline: the context keeps it by reference, in the blobs of the execution that wrote it. */
const PADDING = 'x'.repeat(INLINE_VALUE_BYTES + 1024);
const reportAgent = defineAgent({
  kind: 'report',
  description: 'writes a report larger than a context holds inline',
  config: z.object({}),
  async run({ inputs }) {
    return { status: 'succeeded', output: { amount: inputs.amount, padding: PADDING } };
  },
});
const echoAgent = defineAgent({
  kind: 'echo',
  description: 'answers with what it read',
  config: z.object({}),
  async run({ inputs }) {
    return { status: 'succeeded', output: { echoed: inputs } };
  },
});

const engine = new ExecutionEngine(createAgentRegistry([...builtinAgents, reportAgent, echoAgent]));

const reporting: UseCaseBody = UseCaseBodySchema.parse({
  id: 'reporting',
  name: 'Reporting',
  vertical: 'insurance',
  description: '',
  contextTtlSeconds: 3600,
  secrets: [],
  workflow: {
    vars: { currency: 'EUR' },
    steps: [
      { id: 'fetch', agent: 'report', inputs: { amount: 'input.amount' }, output: 'report' },
      { id: 'read', agent: 'echo', inputs: { amount: 'report.amount' }, output: 'summary' },
      { id: 'quote', agent: 'echo', inputs: { report: 'report' }, output: 'quoted' },
      { id: 'publish', agent: 'echo', inputs: { summary: 'summary', quoted: 'quoted' }, output: 'published' },
      {
        id: 'ask',
        agent: 'human',
        inputs: { summary: 'summary' },
        output: 'answer',
        config: { prompt: 'Publish?' },
      },
    ],
  },
});

type Problem = { status: number; code: string; detail: string };
type Rerun = { inputs: Record<string, unknown>; result: { status: string; output: unknown } | null };
type Diff = {
  context: Array<{ key: string; change: string; before: unknown; after: unknown }>;
  steps: Array<{ stepId: string; before: string | null; after: string | null }>;
};
type CheckpointView = {
  n: number;
  at: number;
  stepId: string | null;
  attempt: number;
  status: string | null;
  inputs: Record<string, unknown>;
  context: Record<string, unknown>;
  steps: Record<string, { status: string }>;
};

describe('forks and checkpoints on the embedded runtime', () => {
  let t: TestRuntime;
  const api = executionsApi(() => t.url, 'demo');
  const rerun = (id: string, stepId: string) =>
    fetch(`${t.url}/api/executions/workspaces/demo/executions/${id}/steps/${stepId}/rerun`, {
      method: 'POST',
    });
  const json = async <T>(res: Response | Promise<Response>): Promise<T> => (await (await res).json()) as T;
  const settle = () => drainQueues(t.runtime);
  const settled = async (started: Response | Promise<Response>) => {
    const res = await started;
    expect(res.status, await res.clone().text()).toBe(202);
    const { id } = await json<Execution>(res);
    await settle();
    return json<Execution>(api(`/executions/${id}`));
  };
  const checkpointOf = (e: Execution, stepId: string) => async () => {
    const { checkpoints } = await json<{ checkpoints: Array<{ n: number; stepId: string }> }>(
      api(`/executions/${e.id}/checkpoints`),
    );
    return checkpoints.find((c) => c.stepId === stepId)?.n;
  };

  /** A parent that ran fetch, read, quote and publish and waits at ask; a fork of it from after quote. */
  let parent: Execution;
  let fork: Execution;

  beforeAll(async () => {
    t = await startTestRuntime([
      system,
      createUseCasesOrchestrator(engine.agents),
      createExecutionsOrchestrator(engine),
    ]);
    const created = await api('/use-cases', reporting);
    expect(created.status, await created.clone().text()).toBe(201);
    parent = await settled(api('/executions', { useCaseId: 'reporting', input: { amount: 120 } }));
    expect(parent.status).toBe('waiting');
    const afterQuote = await checkpointOf(parent, 'quote')();
    expect(afterQuote).toBe(3);
    fork = await settled(api(`/executions/${parent.id}/fork`, { checkpoint: afterQuote }));
    expect(fork.status).toBe('waiting');
    expect(Object.keys(fork.origin?.steps ?? {}).sort()).toEqual(['fetch', 'quote', 'read']);
  });
  afterAll(() => t.dispose());

  it('re-runs a step the fork inherited on the inputs its parent recorded, instead of 409 "has not run yet"', async () => {
    const read = await rerun(fork.id, 'read');
    expect(read.status, await read.clone().text()).toBe(200);
    expect(await json<Rerun>(read)).toMatchObject({
      inputs: { amount: 120 },
      result: { status: 'succeeded', output: { echoed: { amount: 120 } } },
    });
    // The parent recorded a reference into its own values: the re-run reads the value it names.
    const quote = await json<Rerun>(rerun(fork.id, 'quote'));
    expect(quote.inputs).toEqual({ report: { amount: 120, padding: PADDING } });
    expect(quote.result).toMatchObject({
      status: 'succeeded',
      output: { echoed: { report: { amount: 120 } } },
    });
    // A step the fork ran itself re-runs on what it recorded, as before.
    expect((await rerun(fork.id, 'publish')).status).toBe(200);
    // A step that has not run anywhere is still a conflict.
    const ask = await rerun(fork.id, 'ask');
    expect(ask.status).toBe(409);
    expect(await json<Problem>(ask)).toMatchObject({
      code: 'conflict',
      detail: expect.stringMatching(/has not run yet/),
    });
  });

  it('re-runs an inherited step on the fork’s own context once its parent is gone', async () => {
    const own = await settled(api(`/executions/${parent.id}/fork`, { checkpoint: 3 }));
    const orphan = await settled(api(`/executions/${own.id}/fork`, { checkpoint: 1 }));
    expect(orphan.parentId).toBe(own.id);
    expect(Object.keys(orphan.origin?.steps ?? {}).sort()).toEqual(['fetch', 'publish', 'quote', 'read']);
    expect(await deleteExecution(t.runtime.ports, 'demo', own.id)).toBeGreaterThan(0);
    const quote = await rerun(orphan.id, 'quote');
    expect(quote.status, await quote.clone().text()).toBe(200);
    expect((await json<Rerun>(quote)).inputs).toEqual({ report: { amount: 120, padding: PADDING } });
  });

  it('diffs a fork from 0 without listing what it inherited as added at its first checkpoint', async () => {
    const first = await json<Diff>(api(`/executions/${fork.id}/diff?from=0&to=1`));
    expect(first.context.map((c) => [c.key, c.change])).toEqual([['published', 'added']]);
    expect(first.steps).toEqual([{ stepId: 'publish', before: 'blocked', after: 'succeeded' }]);
    const whole = await json<Diff>(api(`/executions/${fork.id}/diff?from=0&to=${fork.checkpoint}`));
    expect(whole.context.map((c) => c.key)).toEqual(['published']);
    expect(whole.steps.map((s) => s.stepId)).toEqual(['publish']);
    // An execution that is no fork starts from its input and vars alone: every output is added.
    const own = await json<Diff>(api(`/executions/${parent.id}/diff?from=0&to=3`));
    expect(own.context.map((c) => [c.key, c.change])).toEqual([
      ['report', 'added'],
      ['summary', 'added'],
      ['quoted', 'added'],
    ]);
  });

  it('reads checkpoint 0, the start, in the shape of every other checkpoint, instead of 404', async () => {
    const res = await api(`/executions/${fork.id}/checkpoints/0`);
    expect(res.status, await res.clone().text()).toBe(200);
    const start = await json<CheckpointView>(res);
    expect(start).toMatchObject({
      n: 0,
      at: fork.createdAt,
      stepId: null,
      attempt: 0,
      status: null,
      inputs: {},
    });
    expect(Object.keys(start.context).sort()).toEqual(['input', 'quoted', 'report', 'summary', 'vars']);
    expect(start.context.input).toEqual({ amount: 120 });
    expect(start.context.vars).toEqual({ currency: 'EUR' });
    expect(Object.fromEntries(Object.entries(start.steps).map(([id, s]) => [id, s.status]))).toEqual({
      fetch: 'succeeded',
      read: 'succeeded',
      quote: 'succeeded',
      publish: 'blocked',
      ask: 'blocked',
    });
    const first = await json<CheckpointView>(api(`/executions/${fork.id}/checkpoints/1`));
    expect(Object.keys(first).sort()).toEqual(Object.keys(start).sort());
    // What diff means by 0: from the start to checkpoint 1, only what checkpoint 1 changed.
    const diff = await json<Diff>(api(`/executions/${fork.id}/diff?from=0&to=1`));
    const changed = Object.keys(first.context).filter(
      (key) => JSON.stringify(first.context[key]) !== JSON.stringify(start.context[key]),
    );
    expect(diff.context.map((c) => c.key)).toEqual(changed);
    // And what fork means by 0: a fork of the fork from 0 inherits what the fork started with.
    const again = await json<Execution>(api(`/executions/${fork.id}/fork`, { checkpoint: 0 }));
    expect(Object.keys(again.origin?.steps ?? {}).sort()).toEqual(['fetch', 'quote', 'read']);
    await settle();
    const plain = await json<CheckpointView>(api(`/executions/${parent.id}/checkpoints/0`));
    expect(Object.keys(plain.context).sort()).toEqual(['input', 'vars']);
    expect((await api(`/executions/${fork.id}/checkpoints/${fork.checkpoint + 1}`)).status).toBe(404);
  });

  it('answers 404 not-found with a problem body for a re-run of a step the workflow lacks, instead of 409', async () => {
    const res = await rerun(fork.id, 'nope');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(await json<Problem>(res)).toMatchObject({
      status: 404,
      code: 'not-found',
      detail: expect.stringMatching(/Step nope/),
    });
  });
});

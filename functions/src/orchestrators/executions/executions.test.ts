/**
 * The execution engine end to end on the embedded runtime: real SQLite, real
 * queue and bus, real HTTP. A use case is created through the API, run, and
 * inspected with the debugging tools.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PermanentError } from '../../platform/errors.js';
import {
  drainQueues,
  executionsApi,
  startTestRuntime,
  type TestRuntime,
} from '../../test-support/embedded.js';
import system from '../system/index.js';
import { createUseCasesOrchestrator } from '../use-cases/index.js';
import { type UseCaseBody, UseCaseBodySchema } from '../use-cases/model.js';
import { saveUseCase } from '../use-cases/store.js';
import { builtinAgents, createAgentRegistry } from './agents/registry.js';
import { defineAgent } from './agents/types.js';
import { ExecutionEngine } from './engine.js';
import { createExecutionsOrchestrator } from './index.js';
import { cleanupExpired, recoverStalled } from './maintenance.js';
import { agentConfigId, BUILTIN_AGENT_KINDS, type Execution } from './model.js';
import { stepQueue } from './queues.js';
import { getExecution, listCheckpoints } from './store.js';

/** A test agent that counts its calls per (execution, step, attempt) and echoes its inputs. */
const calls = new Map<string, number>();
const countingAgent = defineAgent({
  kind: 'count',
  description: 'counts calls',
  config: z.object({ fail: z.enum(['never', 'always', 'permanent']).default('never') }),
  async run({ config, inputs, step, execution }) {
    const key = `${execution.id}/${step.id}/${step.attempt}`;
    calls.set(key, (calls.get(key) ?? 0) + 1);
    if (config.fail === 'always') throw new Error('upstream is down');
    if (config.fail === 'permanent') return { status: 'succeeded', output: { wrong: 'shape' } };
    return { status: 'succeeded', output: { echoed: inputs } };
  },
});

const engine = new ExecutionEngine(createAgentRegistry([...builtinAgents, countingAgent]));
const executions = createExecutionsOrchestrator(engine);
const useCases = createUseCasesOrchestrator(engine.agents);

const triage: UseCaseBody = UseCaseBodySchema.parse({
  id: 'claims-triage',
  name: 'Claims triage',
  vertical: 'insurance',
  description: '',
  contextTtlSeconds: 3600,
  secrets: [],
  workflow: {
    inputSchema: { type: 'object', properties: { amount: { type: 'number' }, policy: { type: 'string' } } },
    vars: { currency: 'EUR' },
    steps: [
      {
        id: 'score',
        agent: 'rules',
        inputs: { amount: 'input.amount' },
        output: 'risk',
        config: {
          strategy: 'sum',
          rules: [{ id: 'big', when: 'amount > 1000', score: 50, reason: 'large claim' }],
          thresholds: [{ minScore: 50, decision: 'review' }],
          defaultDecision: 'approve',
        },
      },
      {
        id: 'route',
        agent: 'branch',
        inputs: { risk: 'risk' },
        output: 'routing',
        config: {
          cases: [{ when: "risk.decision = 'review'", then: ['review'] }],
          otherwise: ['autoApprove'],
        },
      },
      {
        id: 'autoApprove',
        agent: 'transform',
        inputs: { risk: 'risk' },
        output: 'approval',
        config: { expression: '{"approved": true}' },
      },
      { id: 'review', agent: 'human', output: 'humanReview', config: { prompt: 'Approve this claim?' } },
      {
        id: 'notify',
        agent: 'count',
        inputs: { auto: 'approval', manual: 'humanReview', currency: 'vars.currency' },
        output: 'notified',
        join: 'any',
        cache: { key: ['currency'], ttlSeconds: 600 },
      },
    ],
  },
});

describe('executions on the embedded runtime', () => {
  let t: TestRuntime;
  const api = (path: string, init?: { method?: string; body?: unknown }) =>
    fetch(
      `${t.url}/api/${path.startsWith('/use-cases') ? 'useCases' : 'executions'}/workspaces/demo${path}`,
      {
        method: init?.method ?? (init?.body === undefined ? 'GET' : 'POST'),
        headers: { 'content-type': 'application/json' },
        ...(init?.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      },
    );
  const json = async <T>(res: Response | Promise<Response>): Promise<T> => (await (await res).json()) as T;
  const settle = () => drainQueues(t.runtime);
  const run = async (input: unknown, useCaseId = 'claims-triage') => {
    const started = await api('/executions', { body: { useCaseId, input } });
    expect(started.status).toBe(202);
    const { id } = await json<Execution>(started);
    await settle();
    return json<Execution>(api(`/executions/${id}`));
  };

  beforeAll(async () => {
    t = await startTestRuntime([system, useCases, executions]);
    const created = await api('/use-cases', { body: triage });
    expect(created.status, await created.clone().text()).toBe(201);
  });
  afterAll(() => t.dispose());

  it('runs a low-risk claim straight through, skipping the human arm', async () => {
    const e = await run({ amount: 200, policy: 'P-1' });
    expect(e.status).toBe('succeeded');
    expect(Object.fromEntries(Object.entries(e.steps).map(([k, s]) => [k, s.status]))).toEqual({
      score: 'succeeded',
      route: 'succeeded',
      autoApprove: 'succeeded',
      review: 'skipped',
      notify: 'succeeded',
    });
    expect(e.context.risk).toMatchObject({ decision: 'approve', score: 0 });
    expect(e.context.notified).toEqual({
      echoed: { auto: { approved: true }, manual: null, currency: 'EUR' },
    });
  });

  it('waits for a person on a high-risk claim, then finishes on their decision', async () => {
    const e = await run({ amount: 5000, policy: 'P-2' });
    expect(e.status).toBe('waiting');
    expect(e.steps.review).toMatchObject({
      status: 'waiting',
      waitingFor: 'human',
      prompt: 'Approve this claim?',
    });
    const { timeline } = await json<{ timeline: Array<Record<string, unknown>> }>(
      api(`/executions/${e.id}/timeline`),
    );
    // No timeoutSeconds: nobody has to decide by a deadline.
    expect(timeline.find((s) => s.stepId === 'review')).toMatchObject({
      agent: 'human',
      waitingFor: 'human',
      prompt: 'Approve this claim?',
      resumeAt: null,
      deadline: null,
    });
    expect(timeline.find((s) => s.stepId === 'score')).toMatchObject({ agent: 'rules', prompt: null });
    const decided = await api(`/executions/${e.id}/steps/review/decision`, {
      body: { decision: 'approved', comment: 'ok' },
    });
    expect(decided.status).toBe(200);
    await settle();
    const done = await json<Execution>(api(`/executions/${e.id}`));
    expect(done.status).toBe('succeeded');
    expect(done.context.humanReview).toMatchObject({
      decision: 'approved',
      by: 'local-owner',
      comment: 'ok',
    });
    expect(done.steps.notify?.cacheHit).toBe(true); // same currency as the first claim: the agent was skipped
  });

  it('shows the timeline and diffs checkpoints', async () => {
    const e = await run({ amount: 10, policy: 'P-3' });
    const { timeline } = await json<{
      timeline: Array<{ stepId: string; checkpoints: number[]; inputs: unknown }>;
    }>(api(`/executions/${e.id}/timeline`));
    expect(timeline.map((s) => s.stepId).slice(0, 2)).toEqual(['score', 'route']);
    expect(timeline.find((s) => s.stepId === 'score')?.inputs).toEqual({ amount: 10 });
    const diff = await json<{ context: Array<{ key: string; change: string }> }>(
      api(`/executions/${e.id}/diff?from=1&to=2`),
    );
    expect(diff.context).toEqual([expect.objectContaining({ key: 'routing', change: 'added' })]);
  });

  it('shows a waiting person’s deadline in the timeline, as the reschedule control moves it', async () => {
    // A runtime of its own: the deadline's timer task stays queued for an hour, and `settle` would wait for it.
    const own = await startTestRuntime([system, useCases, executions]);
    try {
      const call = executionsApi(() => own.url, 'demo');
      const body = {
        ...triage,
        id: 'asks-by',
        workflow: {
          steps: [
            {
              id: 'ask',
              agent: 'human',
              output: 'answer',
              config: { prompt: 'Ship it?', timeoutSeconds: 3600 },
            },
          ],
        },
      };
      expect((await call('/use-cases', body)).status).toBe(201);
      const { id } = await json<Execution>(call('/executions', { useCaseId: 'asks-by', input: {} }));
      let e = await json<Execution>(call(`/executions/${id}`));
      for (const until = Date.now() + 10_000; e.status !== 'waiting' && Date.now() < until; ) {
        await new Promise((r) => setTimeout(r, 20));
        e = await json<Execution>(call(`/executions/${id}`));
      }
      expect(e.status).toBe('waiting');
      type Entry = {
        stepId: string;
        prompt: string | null;
        deadline: number | null;
        resumeAt: number | null;
      };
      const entry = async () =>
        (await json<{ timeline: Entry[] }>(call(`/executions/${id}/timeline`))).timeline[0] as Entry;
      const before = await entry();
      expect(before).toMatchObject({ stepId: 'ask', prompt: 'Ship it?', resumeAt: e.steps.ask?.resumeAt });
      expect(before.deadline).toBe(e.steps.ask?.resumeAt);
      expect(before.deadline).toBeGreaterThan(e.createdAt + 3_590_000);
      const later = (before.deadline as number) + 60_000;
      expect((await call(`/executions/${id}/steps/ask/reschedule`, { at: later })).status).toBe(200);
      expect(await entry()).toMatchObject({ deadline: later, resumeAt: later });
    } finally {
      await own.dispose();
    }
  });

  it('labels list rows with a preview of the input, and lists only what changed since a time', async () => {
    await settle();
    const long = { claimId: 'C-LONG', note: 'n'.repeat(200) };
    const e = await run(long);
    type Row = { id: string; inputPreview: string; updatedAt: number };
    const all = (await json<{ executions: Row[] }>(api('/executions?limit=200'))).executions;
    const row = all.find((r) => r.id === e.id);
    expect(row?.inputPreview).toHaveLength(80);
    expect(row?.inputPreview.startsWith('{"claimId":"C-LONG","note":"nnn')).toBe(true);
    expect(row?.inputPreview.endsWith('…')).toBe(true);

    // Nothing changed since the latest update: an empty answer, however many executions there are.
    const watermark = Math.max(...all.map((r) => r.updatedAt));
    expect(
      (await json<{ executions: Row[] }>(api(`/executions?updatedAfter=${watermark}`))).executions,
    ).toEqual([]);
    await new Promise((r) => setTimeout(r, 5));
    const fresh = await run({ amount: 3 });
    const waiting = await run({ amount: 4000 }); // waits for a person
    const changed = await json<{ executions: Row[]; nextCursor?: string }>(
      api(`/executions?updatedAfter=${watermark}&limit=1`),
    );
    // Most recently updated first, paged like the full list.
    expect(changed.executions.map((r) => r.id)).toEqual([waiting.id]);
    const rest = await json<{ executions: Row[]; nextCursor?: string }>(
      api(
        `/executions?updatedAfter=${watermark}&limit=1&cursor=${encodeURIComponent(changed.nextCursor ?? '')}`,
      ),
    );
    expect(rest.executions.map((r) => r.id)).toEqual([fresh.id]);
    expect(rest.nextCursor).toBeUndefined();
    // Combined with a status filter; a cancel counts as an update.
    await api(`/executions/${waiting.id}/control`, { body: { action: 'cancel' } });
    const cancelled = await json<{ executions: Row[] }>(
      api(`/executions?updatedAfter=${watermark}&status=cancelled`),
    );
    expect(cancelled.executions.map((r) => r.id)).toEqual([waiting.id]);
    expect((await api('/executions?updatedAfter=-1')).status).toBe(400);
  });

  it('lists an execution’s checkpoints in order, paged, without their contexts', async () => {
    const e = await run({ amount: 12, policy: 'P-4' });
    expect(e.checkpoint).toBeGreaterThan(2);
    type Page = { checkpoints: Array<Record<string, unknown>>; nextCursor?: string };
    const seen: Array<Record<string, unknown>> = [];
    let cursor: string | undefined;
    do {
      const page: Page = await json<Page>(
        api(
          `/executions/${e.id}/checkpoints?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        ),
      );
      expect(page.checkpoints.length).toBeLessThanOrEqual(2);
      seen.push(...page.checkpoints);
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.map((c) => c.n)).toEqual(Array.from({ length: e.checkpoint }, (_, i) => i + 1));
    expect(seen[0]).toEqual({
      n: 1,
      at: expect.any(Number),
      stepId: 'score',
      attempt: 1,
      status: 'succeeded',
    });
    expect((await api('/executions/01M8692K5FYKCH5Y3W1HJJ7DWX/checkpoints')).status).toBe(404);
    expect((await api(`/executions/${e.id}/checkpoints?limit=201`)).status).toBe(400);
  });

  it('re-runs one step on its recorded inputs without changing the execution', async () => {
    const e = await run({ amount: 1500, policy: 'P-7' });
    const res = await api(`/executions/${e.id}/steps/score/rerun`, { method: 'POST' });
    expect(res.status).toBe(200);
    const rerun = await json<{ inputs: unknown; result: { status: string; output: unknown } }>(res);
    expect(rerun.inputs).toEqual({ amount: 1500 });
    expect(rerun.result).toMatchObject({ status: 'succeeded', output: { score: 50, decision: 'review' } });
    expect(await json<Execution>(api(`/executions/${e.id}`))).toEqual(
      await json<Execution>(api(`/executions/${e.id}`)),
    );
    expect((await json<Execution>(api(`/executions/${e.id}`))).checkpoint).toBe(e.checkpoint);
  });

  it('refuses an oversized input with 413 and stores nothing', async () => {
    const before = await json<{ executions: unknown[] }>(api('/executions?limit=200'));
    const res = await api('/executions', {
      body: { useCaseId: 'claims-triage', input: { blob: 'x'.repeat(300 * 1024) } },
    });
    expect(res.status).toBe(413);
    expect(await json<{ code: string }>(res)).toMatchObject({ code: 'payload-too-large' });
    expect((await json<{ executions: unknown[] }>(api('/executions?limit=200'))).executions).toHaveLength(
      before.executions.length,
    );
  });

  it('refuses an input Firestore could not store with 400 naming the field, and stores nothing', async () => {
    const before = await json<{ executions: unknown[] }>(api('/executions?limit=200'));
    const res = await api('/executions', {
      body: {
        useCaseId: 'claims-triage',
        input: {
          amount: 5,
          grid: [
            [1, 2],
            [3, 4],
          ],
        },
      },
    });
    expect(res.status).toBe(400);
    const problem = await json<{ code: string; errors: Array<{ path: string; message: string }> }>(res);
    expect(problem.code).toBe('invalid-input');
    expect(problem.errors.map((e) => e.path)).toEqual(['body.input.grid.0', 'body.input.grid.1']);
    expect((await json<{ executions: unknown[] }>(api('/executions?limit=200'))).executions).toHaveLength(
      before.executions.length,
    );
  });

  it('lists the agent kinds, each describing its config as JSON Schema (GET /api/executions/agents)', async () => {
    const res = await fetch(`${t.url}/api/executions/agents`);
    expect(res.status).toBe(200);
    const { agents } = await json<{
      agents: Array<{ kind: string; upstream: boolean; config: { properties?: Record<string, unknown> } }>;
    }>(res);
    const kinds = agents.map((a) => a.kind);
    for (const kind of ['branch', 'http', 'human', 'llm', 'rules', 'transform', 'validate', 'wait'])
      expect(kinds).toContain(kind);
    const byKind = new Map(agents.map((a) => [a.kind, a]));
    expect(byKind.get('transform')?.config.properties).toHaveProperty('expression');
    expect(byKind.get('http')?.upstream).toBe(true);
    expect(byKind.get('rules')?.upstream).toBe(false);
    const openApi = await json<{
      paths: Record<string, unknown>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    }>(fetch(`${t.url}/api/openapi.json`));
    expect(openApi.paths).toHaveProperty('/api/executions/agents');
    // The API document names each built-in kind's config, from the same zod schema, and a step's
    // `config` refers to them: /api/docs shows what a transform or an http step may configure.
    expect(builtinAgents.map((a) => a.kind)).toEqual([...BUILTIN_AGENT_KINDS]);
    for (const kind of BUILTIN_AGENT_KINDS)
      expect(openApi.components.schemas, kind).toHaveProperty(agentConfigId(kind));
    expect(openApi.components.schemas.TransformAgentConfig?.properties).toHaveProperty('expression');
    expect(JSON.stringify(openApi.components.schemas)).toContain(
      '"$ref":"#/components/schemas/HttpAgentConfig',
    );
  });

  it('defect (issue 10): refuses an input its inputSchema refuses with 400 naming the field, before anything is stored or enqueued', async () => {
    const before = await json<{ executions: unknown[] }>(api('/executions?limit=200'));
    const depth = async () => (await t.runtime.queue.list()).reduce((n, q) => n + q.depth + q.inFlight, 0);
    const queued = await depth();
    const res = await api('/executions', {
      body: { useCaseId: 'claims-triage', input: { amount: 'a lot', policy: 7 } },
    });
    expect(res.status).toBe(400);
    const problem = await json<{
      code: string;
      detail: string;
      errors: Array<{ path: string; message: string }>;
    }>(res);
    expect(problem.code).toBe('invalid-input');
    expect(problem.errors).toEqual([
      { path: 'body.input.amount', message: 'Invalid input: expected number, received string' },
      { path: 'body.input.policy', message: 'Invalid input: expected string, received number' },
    ]);
    expect(problem.detail).toContain("claims-triage's inputSchema");
    expect((await json<{ executions: unknown[] }>(api('/executions?limit=200'))).executions).toHaveLength(
      before.executions.length,
    );
    expect(await depth()).toBe(queued);
  });

  it('refuses a use case whose inputSchema is outside the subset, with the pointer of every problem', async () => {
    const res = await api('/use-cases', {
      body: {
        ...triage,
        id: 'unsafe-schema',
        workflow: {
          ...triage.workflow,
          inputSchema: {
            type: 'object',
            properties: {
              amount: { type: 'number' },
              policy: { $ref: '#/properties/amount' },
              code: { anyOf: [{ type: 'string', pattern: '^(a|aa)+$' }] },
            },
          },
        },
      },
    });
    expect(res.status).toBe(400);
    const problem = await json<{ code: string; errors: Array<{ path: string; message: string }> }>(res);
    expect(problem.code).toBe('invalid-input');
    expect(problem.errors.map((e) => e.path)).toEqual([
      '/workflow/inputSchema/properties/policy/$ref',
      '/workflow/inputSchema/properties/code/anyOf',
    ]);
    expect((await api('/use-cases/unsafe-schema')).status).toBe(404);
  });

  it('fails a step whose output Firestore could not store, with the reason, instead of leaving it stuck', async () => {
    const body = {
      ...triage,
      id: 'unstorable',
      workflow: {
        steps: [{ id: 'grid', agent: 'transform', output: 'grid', config: { expression: '[[1, 2], [3]]' } }],
      },
    };
    expect((await api('/use-cases', { body })).status).toBe(201);
    const e = await run({}, 'unstorable');
    expect(e.status).toBe('failed');
    expect(e.steps.grid?.error).toMatchObject({ code: 'permanent', retryable: false });
    expect(e.steps.grid?.error?.message).toMatch(/cannot be stored: \/0: an array directly inside an array/);
  });

  it('answers 404 for an execution asked for in another workspace', async () => {
    const e = await run({ amount: 1 });
    const other = await fetch(`${t.url}/api/executions/workspaces/other-ws/executions/${e.id}`);
    expect(other.status).toBe(404);
  });

  it('rejects a workflow with precise, pointer-addressed errors', async () => {
    const bad = structuredClone(triage) as {
      id: string;
      workflow: { steps: Array<Record<string, unknown>> };
    };
    bad.id = 'broken';
    (bad.workflow.steps[0] as Record<string, unknown>).agent = 'oracle';
    (bad.workflow.steps[4] as Record<string, unknown>).inputs = { x: 'nowhere.field' };
    const res = await api('/use-cases', { body: bad });
    expect(res.status).toBe(400);
    const problem = await json<{ errors: Array<{ path: string }> }>(res);
    expect(problem.errors.map((e) => e.path).sort()).toEqual([
      '/workflow/steps/0/agent',
      '/workflow/steps/4/inputs/x',
    ]);
  });

  it('fails an execution whose step breaks its output contract, and dead-letters the step', async () => {
    const body = {
      ...triage,
      id: 'contract',
      workflow: {
        steps: [
          {
            id: 'produce',
            agent: 'count',
            config: { fail: 'permanent' },
            output: 'result',
            outputSchema: { type: 'object', properties: { total: { type: 'number' } }, required: ['total'] },
          },
        ],
      },
    };
    expect((await api('/use-cases', { body })).status).toBe(201);
    const e = await run({}, 'contract');
    expect(e.status).toBe('failed');
    expect(e.steps.produce?.error?.message).toMatch(/Contract violated/);
    const dead = t.runtime.queue.listDead(stepQueue('normal'));
    expect(
      dead.some((d) => d.id === `${e.id}-produce-a1` && /Contract violated/.test(d.lastError ?? '')),
    ).toBe(true);
  });

  it('fails a human step nobody decides before its timeoutSeconds', async () => {
    const body = {
      ...triage,
      id: 'deadline',
      workflow: {
        steps: [
          { id: 'ask', agent: 'human', output: 'answer', config: { prompt: 'Quick?', timeoutSeconds: 1 } },
        ],
      },
    };
    expect((await api('/use-cases', { body })).status).toBe(201);
    const started = await api('/executions', { body: { useCaseId: 'deadline', input: {} } });
    const { id } = await json<Execution>(started);
    let seen = await json<Execution>(api(`/executions/${id}`));
    let sawWaiting = false;
    for (const deadline = Date.now() + 10_000; seen.status !== 'failed' && Date.now() < deadline; ) {
      if (seen.status === 'waiting') {
        sawWaiting = true;
        expect(seen.steps.ask).toMatchObject({ waitingFor: 'human', resumeAt: expect.any(Number) });
      }
      await new Promise((r) => setTimeout(r, 50));
      seen = await json<Execution>(api(`/executions/${id}`));
    }
    const e = seen;
    expect(sawWaiting).toBe(true);
    expect((e.steps.ask?.endedAt ?? 0) - (e.steps.ask?.startedAt ?? 0)).toBeGreaterThanOrEqual(1000);
    expect(seen.status).toBe('failed');
    expect(seen.steps.ask?.error).toMatchObject({ code: 'human-timeout', retryable: false });
    const late = await api(`/executions/${e.id}/steps/ask/decision`, { body: { decision: 'approved' } });
    expect(late.status).toBe(409);
  });

  it('gives a poison step its retry budget, then fails the execution; an operator retry reopens it', async () => {
    const body = {
      ...triage,
      id: 'poison',
      workflow: {
        steps: [
          {
            id: 'flaky',
            agent: 'count',
            config: { fail: 'always' },
            output: 'r',
            retry: { maxAttempts: 3, minBackoffSeconds: 0.01, maxBackoffSeconds: 0.02 },
          },
        ],
      },
    };
    expect((await api('/use-cases', { body })).status).toBe(201);
    const started = await json<Execution>(api('/executions', { body: { useCaseId: 'poison', input: {} } }));
    for (let i = 0; i < 50; i++) {
      await settle();
      const e = await json<Execution>(api(`/executions/${started.id}`));
      if (e.status === 'failed') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const e = await json<Execution>(api(`/executions/${started.id}`));
    expect(e.status).toBe('failed');
    expect(e.steps.flaky).toMatchObject({
      status: 'failed',
      attempts: 3,
      error: { message: 'upstream is down' },
    });
    expect([1, 2, 3].map((a) => calls.get(`${e.id}/flaky/${a}`))).toEqual([1, 1, 1]);
    const retried = await api(`/executions/${e.id}/steps/flaky/retry`, { method: 'POST' });
    expect(retried.status).toBe(200);
    expect(((await retried.json()) as Execution).status).toBe('running');
  });

  it('pauses, resumes and cancels; a finished execution refuses controls with 409', async () => {
    const e = await run({ amount: 9999 }); // waits for a person
    expect((await api(`/executions/${e.id}/control`, { body: { action: 'pause' } })).status).toBe(200);
    expect((await api(`/executions/${e.id}/control`, { body: { action: 'resume' } })).status).toBe(200);
    const cancelled = await json<Execution>(
      api(`/executions/${e.id}/control`, { body: { action: 'cancel', reason: 'test' } }),
    );
    expect(cancelled.status).toBe('cancelled');
    const again = await api(`/executions/${e.id}/control`, { body: { action: 'pause' } });
    expect(again.status).toBe(409);
  });

  it('forks from a checkpoint with edited input, re-running only what depends on it', async () => {
    const parent = await run({ amount: 100, policy: 'P-9' });
    const forked = await json<Execution>(
      api(`/executions/${parent.id}/fork`, { body: { checkpoint: 2, input: { amount: 7000 } } }),
    );
    expect(forked.parentId).toBe(parent.id);
    expect(forked.forkedFromCheckpoint).toBe(2);
    await settle();
    const child = await json<Execution>(api(`/executions/${forked.id}`));
    expect(child.status).toBe('waiting'); // the edited amount now needs a person
    expect(child.context.risk).toMatchObject({ decision: 'review' });
  });

  it('records exactly one effect per step when every step task is delivered 1–5 times concurrently', async () => {
    // A second runtime whose queue is never started: this test plays the queue, delivering each
    // dispatched step task several times at once, the way at-least-once delivery may.
    const { EmbeddedRuntime } = await import('../../runtimes/embedded/runtime.js');
    const { createLogger, MemorySink } = await import('../../platform/logger.js');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'seraphim-dup-'));
    const rt = new EmbeddedRuntime({
      orchestrators: [executions],
      dataDir: dir,
      version: 't',
      logger: createLogger({ sink: new MemorySink() }),
    });
    try {
      const ctx = { ...rt.ports, correlationId: 'dup' };

      const { useCase } = await saveUseCase(rt.ports.documents, 'demo', triage, Date.now());
      const e = await engine.start(ctx, 'demo', useCase, { amount: 50 });
      for (let round = 0; round < 10; round++) {
        const { data } = await getExecution(rt.ports.documents, 'demo', e.id);
        if (data.status !== 'running') break;
        const queued = Object.entries(data.steps).filter(([, s]) => s.status === 'queued');
        await Promise.all(
          queued.flatMap(([stepId, s], i) =>
            Array.from({ length: 1 + ((round + i) % 5) }, () =>
              engine
                .runStep(ctx, { workspace: 'demo', executionId: e.id, stepId, attempt: s.attempts })
                .catch(() => {}),
            ),
          ),
        );
      }
      const { data: final } = await getExecution(rt.ports.documents, 'demo', e.id);
      expect(final.status).toBe('succeeded');
      const checkpoints = await listCheckpoints(rt.ports.documents, 'demo', e.id, 100);
      const perStep = new Map<string, number>();
      for (const c of checkpoints.docs) perStep.set(c.data.stepId, (perStep.get(c.data.stepId) ?? 0) + 1);
      expect(Object.fromEntries(perStep)).toEqual({ score: 1, route: 1, autoApprove: 1, notify: 1 });
      expect(Object.values(final.steps).every((s) => s.attempts <= 1)).toBe(true);
      // Every dispatch of the next step was enqueued once: the queue holds one task per step attempt.
      const stats = await rt.queue.list();
      expect(stats.find((q) => q.queue === stepQueue('normal'))?.depth).toBe(4);
    } finally {
      await rt.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('passes over an execution it cannot read in the sweeps, reporting it, and goes on with the rest', async () => {
    const ctx = { ...t.runtime.ports, correlationId: 'sweep' };
    // The sweeps walk the workspaces that have a document.
    if (!(await t.runtime.ports.documents.get('workspaces/demo')))
      await t.runtime.ports.documents.create('workspaces/demo', {});
    await t.runtime.ports.documents.create('workspaces/demo/executions/01ZZZZZZZZZZZZZZZZZZZZZZZZ', {
      status: 'running',
      expiresAt: 0,
      steps: 'not a map',
      recoverAt: 0, // due for the recovery sweep
    });
    try {
      const recovered = await recoverStalled(ctx, engine);
      const cleaned = await cleanupExpired(ctx);
      expect(recovered.executions).toBeGreaterThanOrEqual(0);
      expect(cleaned.more).toBe(false);
      const reports = t.logs.entries.filter(
        (e) => e.message === 'Sweep passed over an execution it cannot read',
      );
      expect(reports.map((r) => r.path)).toEqual([
        'workspaces/demo/executions/01ZZZZZZZZZZZZZZZZZZZZZZZZ',
        'workspaces/demo/executions/01ZZZZZZZZZZZZZZZZZZZZZZZZ',
      ]);
      expect(String(reports[0]?.error)).toMatch(/does not match its schema/);
      const read = await api('/executions/01ZZZZZZZZZZZZZZZZZZZZZZZZ');
      expect(read.status).toBe(422);
      expect(await json<{ code: string }>(read)).toMatchObject({ code: 'permanent' });
    } finally {
      await t.runtime.ports.documents.delete('workspaces/demo/executions/01ZZZZZZZZZZZZZZZZZZZZZZZZ');
    }
  });

  it('defect (issue 8, item 4): one execution whose recovery failed stopped the sweep for all; it now goes on and records it', async () => {
    const fresh = await startTestRuntime([system, useCases, executions]);
    try {
      const ctx = { ...fresh.runtime.ports, correlationId: 'sweep' };
      await ctx.documents.create('workspaces/far', {});
      const body = UseCaseBodySchema.parse({
        id: 'far',
        name: 'far',
        vertical: 'test',
        workflow: { steps: [{ id: 'hold', agent: 'wait', output: 'held', config: { seconds: 3600 } }] },
      });
      const { useCase } = await saveUseCase(ctx.documents, 'far', body, Date.now());
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await engine.start(ctx, 'far', useCase, {})).id);
      for (const id of ids) {
        await expect
          .poll(async () => (await getExecution(ctx.documents, 'far', id)).data.status)
          .toBe('waiting');
      }
      const seen: string[] = [];
      // As the firebase runtime's recovery failed when Cloud Tasks refused a timer more than 30 days ahead.
      const refusing = {
        recover: async (_ctx: unknown, ref: { id: string }) => {
          seen.push(ref.id);
          if (seen.length === 1) throw new PermanentError('The schedule time is more than 30 days ahead');
          return 1;
        },
      };
      // Two hours on, every timer's lease has expired.
      const later = { ...ctx, clock: { now: () => Date.now() + 2 * 3600_000 } };
      const recovered = await recoverStalled(later, refusing);
      expect([...seen].sort()).toEqual([...ids].sort());
      expect(recovered).toMatchObject({ executions: 3, redispatched: 2, failed: 1 });
      const reports = fresh.logs.entries.filter(
        (e) => e.message === 'Recovering an execution failed; the sweep goes on',
      );
      expect(reports.map((r) => r.executionId)).toEqual([seen[0]]);
    } finally {
      await fresh.dispose();
    }
  });

  it('seeds the demo once: a use case and executions that show every path', async () => {
    const { seedExecutionsDemo } = await import('./demo.js');
    const fresh = await startTestRuntime([system, useCases, executions]);
    try {
      const ctx = { ...fresh.runtime.ports, correlationId: 'seed' };
      expect(await seedExecutionsDemo(ctx, engine)).toEqual({ seeded: true });
      expect(await seedExecutionsDemo(ctx, engine)).toEqual({ seeded: false });
      await drainQueues(fresh.runtime);
      const get = (path: string) => fetch(`${fresh.url}/api/executions/workspaces/demo${path}`);
      const list = await json<{ executions: Array<{ id: string }> }>(
        get('/executions?useCase=claims-triage&limit=10'),
      );
      const full = await Promise.all(list.executions.map((e) => json<Execution>(get(`/executions/${e.id}`))));
      const byClaim = Object.fromEntries(full.map((e) => [(e.input as { claimId: string }).claimId, e]));
      expect(byClaim['C-1001']?.status, JSON.stringify(byClaim['C-1001']?.steps)).toBe('succeeded');
      expect(byClaim['C-1001']?.context.settlement, JSON.stringify(byClaim['C-1001']?.context)).toEqual({
        claimId: 'C-1001',
        approved: true,
        currency: 'EUR',
      });
      expect(byClaim['C-1002']?.status).toBe('waiting');
      expect(byClaim['C-1003']?.status).toBe('waiting');
      // C-1001 and C-1004 ran side by side; a later claim with the same figures takes the cached score.
      const again = await json<Execution>(
        fetch(`${fresh.url}/api/executions/workspaces/demo/executions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            useCaseId: 'claims-triage',
            input: { claimId: 'C-1005', amount: 420, priorClaims: 0 },
          }),
        }),
      );
      await fresh.runtime.whenIdle();
      expect((await json<Execution>(get(`/executions/${again.id}`))).steps.score?.cacheHit).toBe(true);
    } finally {
      await fresh.dispose();
    }
  });
});

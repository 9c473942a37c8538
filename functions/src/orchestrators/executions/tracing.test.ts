/**
 * One trace from the HTTP request to the model call, on a real embedded
 * runtime: the request starts an execution whose `llm` step calls a local
 * OpenAI-compatible server; the spans are then read back from SQLite through
 * `GET /api/system/traces/:traceId`.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedSpan } from '../../platform/tracing.js';
import { startTestRuntime, type TestRuntime } from '../../test-support/embedded.js';
import {
  type OpenAiCompatibleServer,
  startOpenAiCompatibleServer,
} from '../../test-support/openai-compatible-server.js';
import system from '../system/index.js';
import useCases from '../use-cases/index.js';
import { UseCaseBodySchema } from '../use-cases/model.js';
import { builtinAgents, createAgentRegistry } from './agents/registry.js';
import { ExecutionEngine } from './engine.js';
import { createExecutionsOrchestrator } from './index.js';
import type { Execution } from './model.js';

const API_KEY = 'sk-test-tracing-0123456789';

const useCase = UseCaseBodySchema.parse({
  id: 'summarise',
  name: 'Summarise',
  vertical: 'insurance',
  description: '',
  contextTtlSeconds: 3600,
  // The llm agent's key is the platform's (LLM_API_KEY): a use case does not list it.
  secrets: [],
  workflow: {
    inputSchema: { type: 'object', properties: { claim: { type: 'string' } } },
    steps: [
      {
        id: 'summary',
        agent: 'llm',
        inputs: { claim: 'input.claim' },
        output: 'summary',
        config: { prompt: 'Summarise: {{claim}}' },
      },
    ],
  },
});

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

describe('one trace from the request to the agent call', () => {
  let t: TestRuntime;
  let llm: OpenAiCompatibleServer;

  beforeAll(async () => {
    llm = await startOpenAiCompatibleServer({
      apiKey: API_KEY,
      fallback: { kind: 'ok', content: 'A dented bumper.', usage: { promptTokens: 21, completionTokens: 5 } },
    });
    t = await startTestRuntime(
      [
        system,
        useCases,
        createExecutionsOrchestrator(new ExecutionEngine(createAgentRegistry(builtinAgents))),
      ],
      {
        env: { LLM_BASE_URL: llm.baseUrl, LLM_MODEL: 'tiny-model', LLM_API_KEY: API_KEY },
      },
    );
    const created = await fetch(`${t.url}/api/useCases/workspaces/demo/use-cases`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(useCase),
    });
    expect(created.status, await created.clone().text()).toBe(201);
  });
  afterAll(async () => {
    await t?.dispose();
    await llm?.close();
  });

  const readTrace = async (traceId: string) => {
    const res = await fetch(`${t.url}/api/system/traces/${traceId}`);
    expect(res.status, await res.clone().text()).toBe(200);
    return ((await res.json()) as { traceId: string; spans: RecordedSpan[] }).spans;
  };

  it('links the request, the step task, the step and the agent call, with token usage', async () => {
    const traceId = hex(16);
    const callerSpan = hex(8);
    const started = await fetch(`${t.url}/api/executions/workspaces/demo/executions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${callerSpan}-01` },
      body: JSON.stringify({ useCaseId: 'summarise', input: { claim: 'bumper hit in a car park' } }),
    });
    expect(started.status, await started.clone().text()).toBe(202);
    const { id } = (await started.json()) as Execution;
    await t.runtime.whenIdle();
    const done = (await (
      await fetch(`${t.url}/api/executions/workspaces/demo/executions/${id}`)
    ).json()) as Execution;
    expect(done.status).toBe('succeeded');

    const spans = await readTrace(traceId);
    expect(spans.every((s) => s.traceId === traceId)).toBe(true);
    const one = (predicate: (s: RecordedSpan) => boolean, what: string) => {
      const found = spans.filter(predicate);
      expect(found, `${what} in ${spans.map((s) => s.name).join(', ')}`).toHaveLength(1);
      return found[0] as RecordedSpan;
    };

    const request = one((s) => s.name === 'POST /api/executions/workspaces/:workspace/executions', 'request');
    expect(request).toMatchObject({ kind: 'server', parentSpanId: callerSpan, status: 'unset' });
    expect(request.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/api/executions/workspaces/:workspace/executions',
      'http.response.status_code': 202,
    });

    const task = one(
      (s) =>
        s.name === 'process executions-stepNormal' &&
        s.attributes['messaging.message.id'] === `${id}-summary-a1`,
      'the step task',
    );
    expect(task).toMatchObject({ kind: 'consumer', parentSpanId: request.spanId });
    expect(task.attributes).toMatchObject({
      'messaging.destination.name': 'executions-stepNormal',
      'seraphim.task.attempt': 1,
    });

    const step = one((s) => s.name === 'step summary', 'the step');
    expect(step.parentSpanId).toBe(task.spanId);
    expect(step.attributes).toMatchObject({ 'seraphim.execution.id': id, 'seraphim.step.attempt': 1 });

    const agent = one((s) => s.name === 'invoke_agent llm', 'the agent call');
    expect(agent.parentSpanId).toBe(step.spanId);
    expect(agent.attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'llm',
      'gen_ai.response.model': 'tiny-model',
      'gen_ai.usage.input_tokens': 21,
      'gen_ai.usage.output_tokens': 5,
    });
    expect(agent.startTime).toBeGreaterThanOrEqual(step.startTime);
    expect(agent.endTime).toBeLessThanOrEqual(step.endTime);

    // The agent's own log line names the trace and the span it was written in.
    const llmLine = t.logs.entries.find((e) => e.message === 'llm call' && e.executionId === id);
    expect(llmLine).toMatchObject({ traceId, spanId: agent.spanId });
  });

  it('carries the trace through an event delivery and a task enqueued by the same request', async () => {
    const traceId = hex(16);
    const sent = await fetch(`${t.url}/api/system/pings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${hex(8)}-01` },
      body: '{}',
    });
    expect(sent.status).toBe(202);
    await t.runtime.whenIdle();
    const spans = await readTrace(traceId);
    const request = spans.find((s) => s.name === 'POST /api/system/pings');
    const children = spans.filter((s) => s.parentSpanId === request?.spanId).map((s) => s.name);
    expect(children.sort()).toEqual(['process system-ping', 'process system-pingReceived']);
    const line = t.logs.entries.find((e) => e.message === 'ping task received' && e.traceId === traceId);
    expect(line?.spanId).toBe(spans.find((s) => s.name === 'process system-ping')?.spanId);
  });

  it('quotes the trace in a 4xx problem body, and that trace can be read back', async () => {
    const traceId = hex(16);
    const missing = await fetch(
      `${t.url}/api/executions/workspaces/demo/executions/01ARZ3NDEKTSV4RRFFQ69G5FAV`,
      {
        headers: { traceparent: `00-${traceId}-${hex(8)}-01` },
      },
    );
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'not-found', traceId });

    // Without a traceparent the request starts its own trace, and the problem names it.
    const bad = await fetch(`${t.url}/api/executions/workspaces/demo/executions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ useCaseId: 42 }),
    });
    expect(bad.status).toBe(400);
    const problem = (await bad.json()) as { code: string; traceId: string };
    expect(problem.traceId).toMatch(/^[0-9a-f]{32}$/);
    const [span] = await readTrace(problem.traceId);
    expect(span).toMatchObject({ kind: 'server', parentSpanId: null, status: 'unset' });
    expect(span?.attributes['http.response.status_code']).toBe(400);
  });

  it('answers 404 for a trace it does not keep, and 400 for a malformed id', async () => {
    const unknown = await fetch(`${t.url}/api/system/traces/${hex(16)}`);
    expect(unknown.status).toBe(404);
    const malformed = await fetch(`${t.url}/api/system/traces/not-a-trace`);
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ code: 'invalid-input' });
  });
});

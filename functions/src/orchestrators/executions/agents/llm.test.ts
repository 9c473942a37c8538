import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PermanentError, RetryAfterError, RetryableError } from '../../../platform/errors.js';
import { failure, testAgentCall } from '../../../test-support/agent-call.js';
import {
  type Behaviour,
  type OpenAiCompatibleServer,
  startOpenAiCompatibleServer,
} from '../../../test-support/openai-compatible-server.js';
import { llmAgent } from './llm.js';

const KEY = 'sk-test-4b8e2f9d1c7a';
let server: OpenAiCompatibleServer;

beforeAll(async () => {
  server = await startOpenAiCompatibleServer({ apiKey: KEY });
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.requests.length = 0;
});

function provider(prefix = 'LLM', overrides: Record<string, string> = {}) {
  return {
    settings: { [`${prefix}_BASE_URL`]: server.baseUrl, [`${prefix}_MODEL`]: 'default-model', ...overrides },
    secrets: { [`${prefix}_API_KEY`]: KEY },
  };
}

async function runLlm(config: Record<string, unknown>, opts: Parameters<typeof testAgentCall>[2] = {}) {
  const t = testAgentCall(llmAgent, config, { ...provider(), ...opts });
  const result = await llmAgent.run(t.call);
  return { ...t, result };
}

function lastRequestBody() {
  return server.requests.at(-1)?.body as {
    model: string;
    messages: Array<{ role: string; content: string }>;
    temperature?: number;
    max_tokens?: number;
    response_format?: unknown;
  };
}

describe('llm agent: the request', () => {
  it('renders the prompt and system templates from inputs, objects as JSON', async () => {
    await runLlm(
      {
        system: 'You triage {{vertical}} claims.',
        prompt: 'Claim {{claim.id}} for {{customer.name}}: {{claim}} ({{count}} items, urgent {{urgent}})',
      },
      {
        inputs: {
          vertical: 'insurance',
          claim: { id: 'c-1', amount: 1200 },
          customer: { name: 'Ada' },
          count: 3,
          urgent: false,
        },
      },
    );
    expect(lastRequestBody().messages).toEqual([
      { role: 'system', content: 'You triage insurance claims.' },
      { role: 'user', content: 'Claim c-1 for Ada: {"id":"c-1","amount":1200} (3 items, urgent false)' },
    ]);
  });

  it('renders a missing or null field as nothing', async () => {
    await runLlm({ prompt: '[{{claim.note}}][{{claim.extra}}]' }, { inputs: { claim: { note: null } } });
    expect(lastRequestBody().messages).toEqual([{ role: 'user', content: '[][]' }]);
  });

  it('sends the key as a bearer token, and neither logs nor outputs it', async () => {
    const { result, logText } = await runLlm({ prompt: 'hi' });
    expect(server.requests.at(-1)?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(server.requests.at(-1)?.path).toBe('/v1/chat/completions');
    expect(JSON.stringify(result)).not.toContain(KEY);
    expect(logText()).not.toContain(KEY);
    expect(logText()).toContain('llm call');
  });

  it.each([
    { name: 'model from <P>_MODEL', config: { prompt: 'x' }, model: 'default-model' },
    { name: 'model from config', config: { prompt: 'x', model: 'gpt-4o-mini' }, model: 'gpt-4o-mini' },
  ])('$name', async ({ config, model }) => {
    await runLlm(config);
    expect(lastRequestBody().model).toBe(model);
  });

  it('reads a named provider from its own settings prefix', async () => {
    const { secretsRead } = await runLlm({ provider: 'openai', prompt: 'x' }, provider('OPENAI'));
    expect(secretsRead).toEqual(['OPENAI_API_KEY']);
    expect(lastRequestBody().model).toBe('default-model');
  });

  it('passes temperature, max tokens and the JSON response format', async () => {
    server.enqueue({ kind: 'ok', content: '{}' });
    await runLlm({ prompt: 'x', temperature: 0.2, maxTokens: 64, responseFormat: 'json' });
    expect(lastRequestBody()).toMatchObject({
      temperature: 0.2,
      max_tokens: 64,
      response_format: { type: 'json_object' },
    });
  });

  it('leaves optional parameters out when unset', async () => {
    await runLlm({ prompt: 'x' });
    expect(Object.keys(lastRequestBody()).sort()).toEqual(['messages', 'model']);
  });

  it('works with a base URL that ends in a slash', async () => {
    const { result } = await runLlm({ prompt: 'x' }, provider('LLM', { LLM_BASE_URL: `${server.baseUrl}/` }));
    expect(result.status).toBe('succeeded');
    expect(server.requests.at(-1)?.path).toBe('/v1/chat/completions');
  });
});

describe('llm agent: the answer', () => {
  it('records usage with the model the provider answered with', async () => {
    server.enqueue({
      kind: 'ok',
      content: 'fraud: low',
      model: 'default-model-2026-01-01',
      usage: { promptTokens: 42, completionTokens: 7 },
      finishReason: 'stop',
    });
    const { result, logs } = await runLlm({ prompt: 'x' });
    expect(result).toEqual({
      status: 'succeeded',
      output: { text: 'fraud: low', finishReason: 'stop', model: 'default-model-2026-01-01' },
      usage: { model: 'default-model-2026-01-01', promptTokens: 42, completionTokens: 7 },
    });
    const entry = logs.entries.find((e) => e.message === 'llm call');
    expect(entry).toMatchObject({
      usage: { prompt: 42, completion: 7 },
      answeredModel: 'default-model-2026-01-01',
    });
  });

  it('omits usage when the provider does not report it', async () => {
    server.enqueue({ kind: 'ok', content: 'x', usage: null });
    const { result } = await runLlm({ prompt: 'x' });
    expect(result).not.toHaveProperty('usage');
  });

  it.each([
    {
      name: 'a JSON object',
      content: '{"label":"fraud","score":0.91}',
      json: { label: 'fraud', score: 0.91 },
    },
    { name: 'JSON in a Markdown fence', content: '```json\n{"label":"ok"}\n```', json: { label: 'ok' } },
    { name: 'a JSON array', content: '[1,2]', json: [1, 2] },
  ])('parses $name with responseFormat json', async ({ content, json }) => {
    server.enqueue({ kind: 'ok', content });
    const { result } = await runLlm({ prompt: 'x', responseFormat: 'json' });
    expect(result).toMatchObject({ output: { text: content, json } });
  });

  it('refuses an answer that is not JSON when JSON was asked for, with a snippet', async () => {
    server.enqueue({ kind: 'ok', content: 'Sure! Here is the label: fraud' });
    const thrown = await failure(runLlm({ prompt: 'x', responseFormat: 'json' }));
    expect(thrown).toBeInstanceOf(PermanentError);
    expect(thrown.message).toContain('Sure! Here is the label');
  });

  it('does not parse text answers', async () => {
    server.enqueue({ kind: 'ok', content: '{"a":1}' });
    const { result } = await runLlm({ prompt: 'x' });
    expect((result as { output: object }).output).not.toHaveProperty('json');
  });

  it('passes on a refusal and a truncated answer', async () => {
    server.enqueue({ kind: 'ok', content: null, refusal: 'I cannot help with that', finishReason: 'length' });
    const { result } = await runLlm({ prompt: 'x' });
    expect(result).toMatchObject({
      output: { text: '', refusal: 'I cannot help with that', finishReason: 'length' },
    });
  });
});

describe('llm agent: failures', () => {
  const cases: Array<{
    name: string;
    behaviour: Behaviour;
    type: new (...args: never[]) => Error;
    ms?: number;
    message?: RegExp;
  }> = [
    {
      name: '429 Retry-After',
      behaviour: { kind: 'rate-limited', retryAfter: '3' },
      type: RetryAfterError,
      ms: 3_000,
    },
    {
      name: '429 retry-after-ms wins over Retry-After',
      behaviour: { kind: 'rate-limited', retryAfter: '3', retryAfterMs: '1250' },
      type: RetryAfterError,
      ms: 1_250,
    },
    { name: '429 without a hint', behaviour: { kind: 'rate-limited' }, type: RetryAfterError, ms: 30_000 },
    { name: '500', behaviour: { kind: 'server-error' }, type: RetryableError },
    { name: '503', behaviour: { kind: 'server-error', status: 503 }, type: RetryableError },
    ...[400, 403, 404].map((status) => ({
      name: `${status} with the provider's message`,
      behaviour: {
        kind: 'error',
        status,
        message: `The model 'nope' does not exist (${status})`,
      } as Behaviour,
      type: PermanentError,
      message: new RegExp(`answered ${status}: The model 'nope' does not exist`),
    })),
    {
      name: 'a 2xx that is not a chat completion',
      behaviour: {
        kind: 'raw',
        status: 200,
        headers: { 'content-type': 'text/html' },
        body: '<html>login</html>',
      },
      type: PermanentError,
      message: /did not answer a chat completion: <html>/,
    },
    {
      name: 'a redirect',
      behaviour: { kind: 'raw', status: 302, headers: { location: 'http://127.0.0.1:1/' }, body: '' },
      type: PermanentError,
      message: /redirects are not followed/,
    },
    {
      name: 'a body over the size cap',
      behaviour: { kind: 'raw', status: 200, body: Buffer.alloc(1024 * 1024 + 1, 'a') },
      type: PermanentError,
      message: /larger than 1048576 bytes/,
    },
  ];

  it.each(cases)('$name', async ({ behaviour, type, ms, message }) => {
    server.enqueue(behaviour);
    const thrown = await failure(runLlm({ prompt: 'x' }));
    expect(thrown).toBeInstanceOf(type);
    if (ms !== undefined) expect((thrown as RetryAfterError).retryAfterMs).toBe(ms);
    if (message) expect(thrown.message).toMatch(message);
  });

  it('401: names the failure and blanks the key the provider echoed', async () => {
    const wrong = 'sk-wrong-93a1c5e7f0b2';
    const { settings } = provider();
    const thrown = await failure(runLlm({ prompt: 'x' }, { settings, secrets: { LLM_API_KEY: wrong } }));
    expect(thrown).toBeInstanceOf(PermanentError);
    expect(thrown.message).toMatch(/answered 401: Incorrect API key provided: \[redacted\]/);
    expect(thrown.message).not.toContain(wrong);
  });

  const missing: Array<{
    name: string;
    settings: Record<string, string>;
    secrets: Record<string, string>;
    names: string;
  }> = [
    { name: 'base URL', settings: { LLM_MODEL: 'm' }, secrets: { LLM_API_KEY: KEY }, names: 'LLM_BASE_URL' },
    {
      name: 'model',
      settings: { LLM_BASE_URL: 'http://127.0.0.1:1/v1' },
      secrets: { LLM_API_KEY: KEY },
      names: 'LLM_MODEL',
    },
    {
      name: 'key',
      settings: { LLM_BASE_URL: 'http://127.0.0.1:1/v1', LLM_MODEL: 'm' },
      secrets: {},
      names: 'LLM_API_KEY',
    },
    {
      name: 'a base URL that is not http',
      settings: { LLM_BASE_URL: 'file:///tmp/v1', LLM_MODEL: 'm' },
      secrets: { LLM_API_KEY: KEY },
      names: 'LLM_BASE_URL',
    },
  ];
  it.each(missing)(
    'missing $name: a permanent error naming it, before any request',
    async ({ settings, secrets, names }) => {
      const thrown = await failure(runLlm({ prompt: 'x' }, { settings, secrets }));
      expect(thrown).toBeInstanceOf(PermanentError);
      expect(thrown.message).toContain(names);
      expect(server.requests).toHaveLength(0);
    },
  );

  it('refuses a prompt placeholder with no input', async () => {
    const thrown = await failure(runLlm({ prompt: 'Hello {{name}}' }));
    expect(thrown).toBeInstanceOf(PermanentError);
    expect(thrown.message).toContain('{{name}}');
  });

  it('stops a slow answer when the step is aborted', async () => {
    server.enqueue({ kind: 'slow', delayMs: 5_000, next: { kind: 'ok', content: 'late' } });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('step timeout')), 100);
    const started = Date.now();
    const thrown = await failure(runLlm({ prompt: 'x' }, { signal: controller.signal }));
    expect(thrown).toBeInstanceOf(RetryableError);
    expect(thrown.message).toMatch(/aborted: step timeout/);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('treats an unreachable endpoint as retryable', async () => {
    const thrown = await failure(
      runLlm({ prompt: 'x' }, provider('LLM', { LLM_BASE_URL: 'http://127.0.0.1:1/v1' })),
    );
    expect(thrown).toBeInstanceOf(RetryableError);
  });
});

describe('llm agent: config', () => {
  it.each([
    { name: 'no prompt', config: {} },
    { name: 'a provider that is not a settings prefix', config: { prompt: 'x', provider: 'open-ai' } },
    { name: 'a temperature out of range', config: { prompt: 'x', temperature: 3 } },
    { name: 'a fractional maxTokens', config: { prompt: 'x', maxTokens: 1.5 } },
    { name: 'an unknown key', config: { prompt: 'x', apiKey: 'sk-1' } },
  ])('refuses $name', ({ config }) => {
    expect(llmAgent.config.safeParse(config).success).toBe(false);
  });

  it('defaults provider and response format', () => {
    expect(llmAgent.config.parse({ prompt: 'x' })).toEqual({
      prompt: 'x',
      provider: 'LLM',
      responseFormat: 'text',
    });
  });
});

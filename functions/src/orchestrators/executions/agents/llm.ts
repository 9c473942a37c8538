/**
 * The `llm` agent: one chat completion from any OpenAI-compatible endpoint
 * (OpenAI, Azure's OpenAI-compatible route, vLLM, Ollama, LM Studio, ...).
 *
 * A provider is a settings prefix, read at call time: `<P>_BASE_URL` (e.g.
 * `https://api.openai.com/v1`), `<P>_MODEL` (the default model) and the secret
 * `<P>_API_KEY`. The default prefix is `LLM`. The base URL is operator
 * configuration, so it is trusted and skips the http agent's allow-list; the
 * response size cap still applies.
 */
import { z } from 'zod';
import { PermanentError } from '../../../platform/errors.js';
import { redact, redactValue } from '../../../platform/logger.js';
import { readCappedBody, scrubSecrets, statusError, transportError } from './http.js';
import { renderTemplate } from './template.js';
import { type AgentResult, defineAgent } from './types.js';

export const LlmConfigSchema = z.strictObject({
  /**
   * Settings prefix of the provider; upper-cased (`openai` reads `OPENAI_BASE_URL`).
   * @default 'LLM'
   */
  provider: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'a settings prefix such as LLM or OPENAI')
    .default('LLM'),
  /** Unset: the `<P>_MODEL` setting. */
  model: z.string().min(1).optional(),
  /** The system message; a template like `prompt`. */
  system: z.string().optional(),
  /**
   * The user message. `{{name}}` is filled from the inputs; objects are rendered as JSON,
   * a missing or null field as nothing; a name that is not an input is an error.
   * @example 'Classify this claim: {{claim}}'
   */
  prompt: z.string().min(1),
  temperature: z.number().min(0).max(2).optional(),
  maxTokens: z.number().int().positive().optional(),
  /** `json` asks for a JSON object (`response_format`) and parses the answer. @default 'text' */
  responseFormat: z.enum(['text', 'json']).default('text'),
});

export type LlmConfig = z.output<typeof LlmConfigSchema>;

/** The parts of a chat completion this agent reads; anything else is ignored. */
const completion = z.object({
  model: z.string().optional(),
  choices: z
    .array(
      z.object({
        message: z.object({
          content: z.string().nullish(),
          refusal: z.string().nullish(),
        }),
        finish_reason: z.string().nullish(),
      }),
    )
    .min(1),
  usage: z
    .object({
      prompt_tokens: z.number().int().nonnegative(),
      completion_tokens: z.number().int().nonnegative(),
    })
    .nullish(),
});

export interface LlmOutput {
  text: string;
  /** Present with `responseFormat: 'json'`. */
  json?: unknown;
  finishReason: string;
  model: string;
  /** Present when the model declined to answer. */
  refusal?: string;
}

function settingOrThrow(get: (name: string) => string | undefined, name: string, what: string): string {
  const value = get(name)?.trim();
  if (!value) {
    throw new PermanentError(`The LLM ${what} is not configured: set ${name}`, {
      details: { setting: name },
    });
  }
  return value;
}

function baseUrl(raw: string, setting: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new PermanentError(`${setting} is not a URL`, { details: { setting } });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new PermanentError(`${setting} must be an http or https URL`, { details: { setting } });
  }
  return url.href.replace(/\/+$/, '');
}

/** The provider's own words from an error body (`{ error: { message } }` and common variants). */
function providerMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: unknown; message?: unknown; detail?: unknown };
    const error = body.error;
    if (typeof error === 'string') return error;
    if (error && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') {
      return (error as { message: string }).message;
    }
    if (typeof body.message === 'string') return body.message;
    if (typeof body.detail === 'string') return body.detail;
  } catch {
    // not JSON: use the text itself
  }
  return text;
}

/** Models often wrap JSON in a Markdown fence even when asked not to. */
function parseJsonAnswer(text: string): unknown {
  const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n?```\s*$/i.exec(text);
  const candidate = fenced ? (fenced[1] as string) : text;
  try {
    return JSON.parse(candidate);
  } catch (error) {
    throw new PermanentError(`The model's answer is not valid JSON: ${text.slice(0, 200)}`, {
      cause: error,
      details: { snippet: text.slice(0, 200) },
    });
  }
}

export const llmAgent = defineAgent<LlmConfig>({
  kind: 'llm',
  description: 'One chat completion from an OpenAI-compatible endpoint; records token usage and model.',
  config: LlmConfigSchema,
  upstream: true,
  async run({ config, inputs, ctx }): Promise<AgentResult> {
    const prefix = config.provider.toUpperCase();
    const base = baseUrl(settingOrThrow(ctx.setting, `${prefix}_BASE_URL`, 'base URL'), `${prefix}_BASE_URL`);
    const model = config.model ?? settingOrThrow(ctx.setting, `${prefix}_MODEL`, 'model');
    const keyName = `${prefix}_API_KEY` as const;
    const key = ctx.providerKey(keyName);
    if (!key) throw new PermanentError(`Secret ${keyName} is empty`, { details: { secret: keyName } });
    redactValue(key);

    const messages = [
      ...(config.system === undefined
        ? []
        : [
            {
              role: 'system',
              content: renderTemplate(config.system, inputs, { what: 'llm: the system message' }),
            },
          ]),
      { role: 'user', content: renderTemplate(config.prompt, inputs, { what: 'llm: the prompt' }) },
    ];
    const request = {
      model,
      messages,
      ...(config.temperature === undefined ? {} : { temperature: config.temperature }),
      ...(config.maxTokens === undefined ? {} : { max_tokens: config.maxTokens }),
      ...(config.responseFormat === 'json' ? { response_format: { type: 'json_object' } } : {}),
    };

    const url = `${base}/chat/completions`;
    const what = `LLM ${prefix} ${model}`;
    const started = ctx.clock.now();
    let response: Response;
    let bytes: Buffer;
    try {
      response = await ctx.fetch(url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          accept: 'application/json',
        },
        body: JSON.stringify(request),
        redirect: 'manual',
        signal: ctx.signal,
      });
      bytes = await readCappedBody(response);
    } catch (error) {
      throw transportError(error, what, { ctx: ctx.signal });
    }
    const text = bytes.toString('utf8');
    const logFields = {
      provider: prefix,
      model,
      status: response.status,
      durationMs: ctx.clock.now() - started,
    };

    if (response.status < 200 || response.status > 299) {
      ctx.logger.warn('llm call failed', logFields);
      const detail = redact(scrubSecrets(providerMessage(text), [key])) as string;
      const suffix = response.status >= 300 && response.status < 400 ? ' (redirects are not followed)' : '';
      throw statusError(
        response.status,
        response.headers,
        ctx.clock.now(),
        `${what} answered ${response.status}${suffix}: ${detail.slice(0, 500)}`,
      );
    }
    let parsed: z.output<typeof completion>;
    try {
      parsed = completion.parse(JSON.parse(text));
    } catch (error) {
      throw new PermanentError(`${what} did not answer a chat completion: ${text.slice(0, 200)}`, {
        cause: error,
        details: { setting: `${prefix}_BASE_URL` },
      });
    }
    const choice = parsed.choices[0] as (typeof parsed.choices)[number];
    const answeredModel = parsed.model ?? model;
    const output: LlmOutput = {
      text: choice.message.content ?? '',
      finishReason: choice.finish_reason ?? 'unknown',
      model: answeredModel,
    };
    if (choice.message.refusal) output.refusal = choice.message.refusal;
    if (config.responseFormat === 'json') output.json = parseJsonAnswer(output.text);

    // Field names avoid `token`: the logger blanks keys that look like credentials.
    const usage = parsed.usage
      ? { prompt: parsed.usage.prompt_tokens, completion: parsed.usage.completion_tokens }
      : undefined;
    ctx.logger.info('llm call', { ...logFields, answeredModel, finishReason: output.finishReason, usage });
    if (!parsed.usage) return { status: 'succeeded', output };
    return {
      status: 'succeeded',
      output,
      usage: {
        model: answeredModel,
        promptTokens: parsed.usage.prompt_tokens,
        completionTokens: parsed.usage.completion_tokens,
      },
    };
  },
});

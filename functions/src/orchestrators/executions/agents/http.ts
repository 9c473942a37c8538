/**
 * The `http` agent: calls an external API with the step's inputs.
 *
 * Outbound HTTP from a workflow is a server-side request forgery risk, so every
 * request (and every redirect hop) passes the same guard, read at call time:
 * - `SERAPHIM_HTTP_ALLOW` lists the hosts that may be called: comma-separated
 *   `host`, `host:port`, `[v6]:port` or `*.example.com` (any subdomain, not the
 *   apex). A bare host allows any port. Unset, every call is refused.
 * - only http and https, and no credentials in the URL;
 * - the host is resolved (every address) and private, loopback, link-local and
 *   metadata ranges are refused, unless the host is listed exactly (not by a
 *   wildcard) AND `SERAPHIM_HTTP_ALLOW_PRIVATE=1`. Tests against a local server
 *   on 127.0.0.1 therefore set both: `SERAPHIM_HTTP_ALLOW=127.0.0.1:<port>` and
 *   `SERAPHIM_HTTP_ALLOW_PRIVATE=1`.
 * - redirects are not followed by fetch; up to three are followed here, each
 *   target checked again, and credentials are dropped when the origin changes;
 * - the connection goes only to the addresses the check approved: the name is
 *   resolved once and the request is made through a dispatcher whose lookup
 *   answers from that check, so DNS rebinding cannot swap in another address
 *   (see http-guard.ts). TLS still verifies the certificate for the hostname.
 *
 * Secrets come by reference (`auth.bearerSecret`, `auth.secret`): names of
 * secrets resolved with `ctx.secret` at call time, never values in config.
 */
import type { LookupAddress } from 'node:dns';
import { Agent } from 'undici';
import { z } from 'zod';
import {
  errorMessage,
  PermanentError,
  RetryAfterError,
  RetryableError,
  SeraphimError,
} from '../../../platform/errors.js';
import { redactValue } from '../../../platform/logger.js';
import { checkTarget, type LookupAll, pinnedLookup, readHttpPolicy, systemLookup } from './http-guard.js';
import { renderTemplate } from './template.js';
import { defineAgent } from './types.js';

/** Responses above this are refused, for both outbound agents. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;
const MAX_REDIRECTS = 3;
const DEFAULT_TIMEOUT_SECONDS = 30;
const DEFAULT_RETRY_AFTER_MS = 30_000;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Response headers worth passing on; cookies and anything auth-like stay behind. */
const SAFE_RESPONSE_HEADERS = [
  'cache-control',
  'content-language',
  'content-length',
  'content-type',
  'date',
  'etag',
  'expires',
  'last-modified',
  'link',
  'location',
  'retry-after',
  'x-request-id',
] as const;

// ---------------------------------------------------------------- config

/** Firebase secret names are env-style; a literal token (`sk-live-…`) cannot pass for one. */
export const secretName = z
  .string()
  .regex(/^[A-Z][A-Z0-9_]*$/, 'a secret NAME (A-Z, 0-9, _), resolved at call time, never its value');
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers that would carry credentials or retarget the request belong in `auth`, or nowhere. */
const FORBIDDEN_HEADER =
  /^(host|cookie|proxy-authorization)$|authorization|secret|token|password|api[-_]?key/i;

export const HttpConfigSchema = z
  .strictObject({
    /** @default 'GET' */
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET'),
    /** @example 'https://api.example.com/customers/{{customerId}}' (placeholders are URL-encoded) */
    url: z.string().min(1),
    headers: z
      .record(
        z
          .string()
          .regex(HEADER_NAME, 'not a valid header name')
          .refine((name) => !FORBIDDEN_HEADER.test(name), 'credentials go in `auth` by secret name'),
        z.string().regex(/^[^\r\n\0]*$/, 'no line breaks in a header value'),
      )
      .optional(),
    auth: z
      .union([
        z.strictObject({ bearerSecret: secretName }),
        z.strictObject({ headerName: z.string().regex(HEADER_NAME), secret: secretName }),
      ])
      .optional(),
    /** `'inputs'` sends every input as a JSON object; any other value names the one input to send. */
    body: z.string().min(1).optional(),
    /** @default 30 */
    timeoutSeconds: z.number().positive().max(600).optional(),
    /** Unset: JSON when the response says so, else text. */
    responseType: z.enum(['json', 'text']).optional(),
  })
  .refine((c) => c.body === undefined || c.method !== 'GET', {
    message: 'a GET request has no body',
    path: ['body'],
  });

export type HttpConfig = z.output<typeof HttpConfigSchema>;

export interface HttpOutput {
  status: number;
  /** Only the headers in SAFE_RESPONSE_HEADERS, names in lower case. */
  headers: Record<string, string>;
  /** Parsed JSON, or text (see `responseType`). */
  body: unknown;
}

// ---------------------------------------------------------------- shared with the llm agent

/** When to try again after a 429: `retry-after-ms`, else `Retry-After` in seconds or as an HTTP date. */
export function retryAfterMs(headers: Headers, now: number, fallbackMs = DEFAULT_RETRY_AFTER_MS): number {
  const ms = headers.get('retry-after-ms')?.trim();
  if (ms && /^\d+(\.\d+)?$/.test(ms)) return Number(ms);
  const value = headers.get('retry-after')?.trim();
  if (!value) return fallbackMs;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? fallbackMs : Math.max(0, date - now);
}

/** Reads a body, refusing it (PermanentError) as soon as it passes `limit` bytes. */
export async function readCappedBody(response: Response, limit = MAX_RESPONSE_BYTES): Promise<Buffer> {
  const tooLarge = () =>
    new PermanentError(`Response body is larger than ${limit} bytes`, { details: { limit } });
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > limit) {
    await response.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (!response.body) return Buffer.alloc(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** A fetch or body-read failure as the error the runtime should act on. */
export function transportError(
  error: unknown,
  what: string,
  signals: { ctx: AbortSignal; timeout?: AbortSignal; timeoutSeconds?: number },
): SeraphimError {
  if (error instanceof SeraphimError) return error;
  if (signals.ctx.aborted) {
    const reason: unknown = signals.ctx.reason;
    if (reason instanceof SeraphimError) return reason;
    return new RetryableError(`${what} aborted: ${errorMessage(reason)}`, { cause: reason });
  }
  if (signals.timeout?.aborted) {
    return new RetryableError(`${what} timed out after ${signals.timeoutSeconds} s`, { cause: error });
  }
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? ` (${cause.code})` : '';
  return new RetryableError(`${what} failed: ${errorMessage(error)}${code}`, { cause: error });
}

/** 429 → retry after; 5xx → retry; any other status here → give up. */
export function statusError(status: number, headers: Headers, now: number, message: string): SeraphimError {
  if (status === 429) return new RetryAfterError(message, retryAfterMs(headers, now));
  if (status >= 500) return new RetryableError(message);
  return new PermanentError(message, { details: { status } });
}

/** Replaces each secret value wherever it occurs in a JSON-like value. */
export function scrubSecrets<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return value;
  const scrub = (v: unknown): unknown => {
    if (typeof v === 'string') return secrets.reduce((s, secret) => s.split(secret).join('[redacted]'), v);
    if (Array.isArray(v)) return v.map(scrub);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, inner]) => [scrub(k), scrub(inner)]));
    }
    return v;
  };
  return scrub(value) as T;
}

// ---------------------------------------------------------------- the agent

function parseUrl(raw: string, base?: URL): URL {
  try {
    return new URL(raw, base);
  } catch {
    throw new PermanentError(`Not a valid URL: ${raw.slice(0, 200)}`);
  }
}

function requestBody(config: HttpConfig, inputs: Record<string, unknown>): string | undefined {
  if (config.body === undefined) return undefined;
  if (config.body === 'inputs') return JSON.stringify(inputs);
  if (!Object.hasOwn(inputs, config.body) || inputs[config.body] === undefined) {
    throw new PermanentError(`The body input ${config.body} is missing`, { details: { input: config.body } });
  }
  return JSON.stringify(inputs[config.body]);
}

function decodeBody(bytes: Buffer, response: Response, responseType: HttpConfig['responseType']): unknown {
  const text = bytes.toString('utf8');
  const contentType = response.headers.get('content-type') ?? '';
  const wantsJson =
    responseType === 'json' || (responseType === undefined && /[/+]json\b/i.test(contentType));
  if (!wantsJson) return text;
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text);
  } catch (error) {
    if (responseType === undefined) return text;
    throw new PermanentError(`Response is not valid JSON: ${text.slice(0, 200)}`, { cause: error });
  }
}

function safeHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of SAFE_RESPONSE_HEADERS) {
    const value = headers.get(name);
    if (value !== null) out[name] = value;
  }
  return out;
}

export interface HttpAgentDeps {
  /** How the guard resolves names; the connection reuses its answer. @default every address from the system resolver */
  lookup?: LookupAll;
  /** Certificates to trust instead of Node's bundled CAs: tests calling a local https server pass theirs. */
  ca?: string;
}

export function createHttpAgent(deps: HttpAgentDeps = {}) {
  const lookup = deps.lookup ?? systemLookup;
  return defineAgent<HttpConfig>({
    kind: 'http',
    description: 'Calls an allow-listed external API; credentials come by secret name.',
    config: HttpConfigSchema,
    upstream: true,
    async run({ config, inputs, ctx }) {
      const policy = readHttpPolicy(ctx);
      let url = parseUrl(
        renderTemplate(config.url, inputs, {
          encode: encodeURIComponent,
          strict: true,
          what: 'http: the URL',
        }),
      );
      const headers = new Headers(config.headers);
      const secrets: string[] = [];
      let authHeader: string | undefined;
      if (config.auth) {
        const name = 'bearerSecret' in config.auth ? config.auth.bearerSecret : config.auth.secret;
        const value = ctx.secret(name);
        if (!value) throw new PermanentError(`Secret ${name} is empty`, { details: { secret: name } });
        redactValue(value);
        secrets.push(value);
        authHeader = 'bearerSecret' in config.auth ? 'authorization' : config.auth.headerName;
        headers.set(authHeader, 'bearerSecret' in config.auth ? `Bearer ${value}` : value);
      }
      let method: string = config.method;
      let body = requestBody(config, inputs);
      if (body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');

      const timeoutSeconds = config.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
      const timeout = AbortSignal.timeout(timeoutSeconds * 1000);
      const signals = { ctx: ctx.signal, timeout, timeoutSeconds };
      const signal = AbortSignal.any([ctx.signal, timeout]);
      const started = ctx.clock.now();

      // One dispatcher per call: its connections were opened to addresses this
      // call's checks approved under this call's policy, and no other call reuses them.
      const pins = new Map<string, LookupAddress[]>();
      const dispatcher = new Agent({ connect: { lookup: pinnedLookup(pins), ca: deps.ca } });
      try {
        for (let hop = 0; ; hop++) {
          try {
            const target = await checkTarget(url, policy, lookup);
            pins.set(target.host, target.addresses);
          } catch (error) {
            ctx.logger.warn('http call refused', {
              method,
              host: url.host,
              hop,
              reason: errorMessage(error),
            });
            throw error;
          }
          let response: Response;
          try {
            response = await ctx.fetch(url, {
              method,
              headers,
              body,
              redirect: 'manual',
              signal,
              dispatcher,
            });
          } catch (error) {
            throw transportError(error, `${method} ${url.host}`, signals);
          }
          const logFields = { method, host: url.host, status: response.status, hop };

          if (REDIRECTS.has(response.status)) {
            await response.body?.cancel().catch(() => {});
            const location = response.headers.get('location');
            ctx.logger.info('http redirect', logFields);
            if (location === null) throw new PermanentError(`${response.status} redirect without a Location`);
            if (hop >= MAX_REDIRECTS) {
              throw new PermanentError(`More than ${MAX_REDIRECTS} redirects`, {
                details: { status: response.status },
              });
            }
            const next = parseUrl(location, url);
            if (next.origin !== url.origin && authHeader) headers.delete(authHeader);
            if (
              response.status === 303 ||
              (method === 'POST' && response.status !== 307 && response.status !== 308)
            ) {
              method = 'GET';
              body = undefined;
              headers.delete('content-type');
            }
            url = next;
            continue;
          }

          let bytes: Buffer;
          try {
            bytes = await readCappedBody(response);
          } catch (error) {
            throw transportError(error, `${method} ${url.host}`, signals);
          }
          ctx.logger.info('http call', {
            ...logFields,
            bytes: bytes.length,
            durationMs: ctx.clock.now() - started,
          });
          if (response.status < 200 || response.status > 299) {
            const snippet = scrubSecrets(bytes.toString('utf8', 0, 300), secrets);
            throw statusError(
              response.status,
              response.headers,
              ctx.clock.now(),
              `${method} ${url.host}${url.pathname} answered ${response.status}${snippet ? `: ${snippet}` : ''}`,
            );
          }
          const output: HttpOutput = {
            status: response.status,
            headers: safeHeaders(response.headers),
            body: decodeBody(bytes, response, config.responseType),
          };
          const scrubbed = scrubSecrets(output, secrets);
          if (JSON.stringify(scrubbed) !== JSON.stringify(output)) {
            ctx.logger.warn('http response echoed a secret; blanked in the output', { host: url.host });
          }
          return { status: 'succeeded', output: scrubbed };
        }
      } finally {
        await dispatcher.destroy().catch(() => {});
      }
    },
  });
}

export const httpAgent = createHttpAgent();

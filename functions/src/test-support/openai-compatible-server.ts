/**
 * A local stand-in for an OpenAI-compatible provider: `POST /v1/chat/completions`
 * on 127.0.0.1, so the `llm` agent is tested over real HTTP without a cloud
 * account. It checks the bearer token (401 in OpenAI's error shape otherwise,
 * echoing the token it got, so tests can check that the agent blanks it),
 * answers from a queue of scripted behaviours, and records every request.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Behaviour =
  | {
      kind: 'ok';
      content: string | null;
      /** Defaults to the requested model. */
      model?: string;
      usage?: { promptTokens: number; completionTokens: number } | null;
      finishReason?: string;
      refusal?: string;
    }
  /** 429 with `Retry-After` and/or `retry-after-ms` when given. */
  | { kind: 'rate-limited'; retryAfter?: string; retryAfterMs?: string }
  | { kind: 'server-error'; status?: number }
  /** A 4xx in OpenAI's error shape: `{ error: { message, type, code } }`. */
  | { kind: 'error'; status: number; message: string; type?: string; code?: string }
  /** Waits, then behaves as `next`; the wait ends early if the client goes away. */
  | { kind: 'slow'; delayMs: number; next: Behaviour }
  | { kind: 'raw'; status: number; headers?: Record<string, string>; body: string | Buffer };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body, or the raw text when it is not JSON. */
  body: unknown;
}

export interface OpenAiCompatibleServer {
  /** The base URL to put in `<P>_BASE_URL`, ending in `/v1`. */
  baseUrl: string;
  requests: RecordedRequest[];
  /** Queues behaviours for the next completions, in order. */
  enqueue(...behaviours: Behaviour[]): void;
  close(): Promise<void>;
}

export interface OpenAiCompatibleServerOptions {
  /** The bearer token every request must carry. */
  apiKey: string;
  behaviours?: Behaviour[];
  /** What to do when the queue is empty. @default { kind: 'ok', content: 'ok' } */
  fallback?: Behaviour;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function errorBody(message: string, type: string, code: string | null) {
  return { error: { message, type, param: null, code } };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startOpenAiCompatibleServer(
  opts: OpenAiCompatibleServerOptions,
): Promise<OpenAiCompatibleServer> {
  const queue: Behaviour[] = [...(opts.behaviours ?? [])];
  const fallback: Behaviour = opts.fallback ?? { kind: 'ok', content: 'ok' };
  const requests: RecordedRequest[] = [];
  let completions = 0;

  async function behave(behaviour: Behaviour, res: ServerResponse, requested: unknown) {
    switch (behaviour.kind) {
      case 'ok': {
        completions++;
        const model = behaviour.model ?? (typeof requested === 'string' ? requested : 'unknown');
        const usage =
          behaviour.usage === null
            ? undefined
            : {
                prompt_tokens: behaviour.usage?.promptTokens ?? 10,
                completion_tokens: behaviour.usage?.completionTokens ?? 5,
                total_tokens:
                  (behaviour.usage?.promptTokens ?? 10) + (behaviour.usage?.completionTokens ?? 5),
              };
        sendJson(res, 200, {
          id: `chatcmpl-${completions}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model,
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: behaviour.content, refusal: behaviour.refusal ?? null },
              finish_reason: behaviour.finishReason ?? 'stop',
            },
          ],
          ...(usage ? { usage } : {}),
        });
        return;
      }
      case 'rate-limited': {
        const headers: Record<string, string> = {};
        if (behaviour.retryAfter !== undefined) headers['retry-after'] = behaviour.retryAfter;
        if (behaviour.retryAfterMs !== undefined) headers['retry-after-ms'] = behaviour.retryAfterMs;
        sendJson(res, 429, errorBody('Rate limit reached', 'requests', 'rate_limit_exceeded'), headers);
        return;
      }
      case 'server-error':
        sendJson(res, behaviour.status ?? 500, errorBody('The server had an error', 'server_error', null));
        return;
      case 'error':
        sendJson(
          res,
          behaviour.status,
          errorBody(behaviour.message, behaviour.type ?? 'invalid_request_error', behaviour.code ?? null),
        );
        return;
      case 'slow': {
        const gone = new Promise<void>((resolve) => res.once('close', resolve));
        const waited = new Promise<void>((resolve) => setTimeout(resolve, behaviour.delayMs).unref());
        await Promise.race([gone, waited]);
        if (res.destroyed || res.writableEnded) return;
        await behave(behaviour.next, res, requested);
        return;
      }
      case 'raw':
        res.writeHead(behaviour.status, behaviour.headers ?? {});
        res.end(behaviour.body);
        return;
    }
  }

  const server = createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      let body: unknown = raw;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        // keep the raw text
      }
      const path = req.url ?? '/';
      requests.push({ method: req.method ?? 'GET', path, headers: { ...req.headers }, body });

      if (req.method !== 'POST' || path !== '/v1/chat/completions') {
        sendJson(
          res,
          404,
          errorBody(`Unknown request URL: ${req.method} ${path}`, 'invalid_request_error', null),
        );
        return;
      }
      const auth = req.headers.authorization ?? '';
      if (auth !== `Bearer ${opts.apiKey}`) {
        const presented = auth.replace(/^Bearer\s+/i, '');
        sendJson(
          res,
          401,
          errorBody(`Incorrect API key provided: ${presented}.`, 'invalid_request_error', 'invalid_api_key'),
        );
        return;
      }
      const requested = (body as { model?: unknown } | undefined)?.model;
      await behave(queue.shift() ?? fallback, res, requested);
    })().catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, errorBody(String(error), 'server_error', null));
      else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    enqueue: (...behaviours) => {
      queue.push(...behaviours);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

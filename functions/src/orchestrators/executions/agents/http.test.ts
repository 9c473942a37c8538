import { lookup } from 'node:dns/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../platform/clock.js';
import { PermanentError, RetryAfterError, RetryableError } from '../../../platform/errors.js';
import { failure, testAgentCall } from '../../../test-support/agent-call.js';
import { createHttpAgent, httpAgent, MAX_RESPONSE_BYTES } from './http.js';
import { HTTP_ALLOW_PRIVATE_SETTING, HTTP_ALLOW_SETTING, type LookupAll } from './http-guard.js';

// ---------------------------------------------------------------- a tiny local API

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

interface LocalApi {
  origin: string;
  hostPort: string;
  seen: Seen[];
  close(): Promise<void>;
}

async function startLocalApi(): Promise<LocalApi> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const url = new URL(req.url ?? '/', 'http://local');
      const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(value));
      };
      const [, first, second] = url.pathname.split('/');
      switch (first) {
        case 'json':
          return json(200, { ok: true }, { 'set-cookie': 'session=abc', etag: '"v1"', 'x-internal': 'no' });
        case 'items':
          return json(200, { rawPath: req.url });
        case 'echo':
          return json(200, { method: req.method, authorization: req.headers.authorization ?? null, body });
        case 'text':
          res.writeHead(200, { 'content-type': 'text/plain' });
          return res.end('hello');
        case 'bad-json':
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end('{not json');
        case 'status': {
          const headers: Record<string, string> = {};
          const retryAfter = url.searchParams.get('retryAfter');
          const retryAfterMs = url.searchParams.get('retryAfterMs');
          if (retryAfter) headers['retry-after'] = retryAfter;
          if (retryAfterMs) headers['retry-after-ms'] = retryAfterMs;
          return json(Number(second), { error: 'scripted' }, headers);
        }
        case 'loop':
          res.writeHead(302, { location: '/loop' });
          return res.end();
        case 'redirect': {
          const to = url.searchParams.get('to');
          res.writeHead(Number(url.searchParams.get('status') ?? 302), to ? { location: to } : {});
          return res.end();
        }
        case 'bytes': {
          const size = Number(second);
          const declared = url.searchParams.has('declared');
          res.writeHead(200, {
            'content-type': 'text/plain',
            ...(declared ? { 'content-length': String(size) } : {}),
          });
          const chunk = Buffer.alloc(64 * 1024, 'a');
          let left = size;
          while (left > 0) {
            const n = Math.min(left, chunk.length);
            res.write(chunk.subarray(0, n));
            left -= n;
          }
          return res.end();
        }
        case 'slow': {
          const timer = setTimeout(
            () => json(200, { late: true }),
            Number(url.searchParams.get('ms') ?? 5000),
          );
          res.on('close', () => clearTimeout(timer));
          return;
        }
        default:
          return json(404, { error: 'no route' });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let api: LocalApi;
let other: LocalApi;
beforeAll(async () => {
  api = await startLocalApi();
  other = await startLocalApi();
});
afterAll(async () => {
  await api.close();
  await other.close();
});

/** Local servers are loopback, so tests opt in twice: the exact host:port AND the private flag. */
function local(...apis: LocalApi[]): Record<string, string> {
  return {
    [HTTP_ALLOW_SETTING]: apis.map((a) => a.hostPort).join(','),
    [HTTP_ALLOW_PRIVATE_SETTING]: '1',
  };
}

async function runHttp(
  config: Record<string, unknown>,
  opts: Parameters<typeof testAgentCall>[2] = {},
  agent = httpAgent,
) {
  const t = testAgentCall(agent, config, { fetch: localOnlyFetch, ...opts });
  const result = await agent.run(t.call);
  return { ...t, result };
}

/** Tests talk to 127.0.0.1 only: anything else reaching fetch is a bug in the guard or the test. */
const localOnlyFetch: typeof fetch = (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  if (url.hostname !== '127.0.0.1') throw new Error(`test tried to reach ${url.host}`);
  return globalThis.fetch(input, init);
};

// ---------------------------------------------------------------- the SSRF guard

describe('http agent: SSRF guard', () => {
  const fakeDns =
    (answers: Record<string, string[]>): LookupAll =>
    async (hostname) => {
      if (hostname === 'localhost') return lookup(hostname, { all: true });
      const addresses = answers[hostname];
      if (!addresses)
        throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
      return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    };
  const dns = fakeDns({ 'a.svc.test': ['10.0.0.5'], 'mixed.example.test': ['93.184.216.34', '192.168.1.9'] });

  const cases: Array<{
    name: string;
    url: (a: LocalApi) => string;
    settings: (a: LocalApi) => Record<string, string>;
    error: RegExp;
  }> = [
    {
      name: 'no allow-list',
      url: (a) => `${a.origin}/json`,
      settings: () => ({}),
      error: /SERAPHIM_HTTP_ALLOW/,
    },
    {
      name: 'host not allowed',
      url: (a) => `${a.origin}/json`,
      settings: () => ({ [HTTP_ALLOW_SETTING]: 'api.example.com', [HTTP_ALLOW_PRIVATE_SETTING]: '1' }),
      error: /not in SERAPHIM_HTTP_ALLOW/,
    },
    {
      name: 'allowed host on another port',
      url: (a) => `${a.origin}/json`,
      settings: () => ({ [HTTP_ALLOW_SETTING]: '127.0.0.1:1', [HTTP_ALLOW_PRIVATE_SETTING]: '1' }),
      error: /not in SERAPHIM_HTTP_ALLOW/,
    },
    {
      name: 'loopback without the private opt-in',
      url: (a) => `${a.origin}/json`,
      settings: (a) => ({ [HTTP_ALLOW_SETTING]: a.hostPort }),
      error: /private.*SERAPHIM_HTTP_ALLOW_PRIVATE=1/,
    },
    {
      name: 'loopback written as a decimal integer',
      url: (a) => `http://2130706433:${new URL(a.origin).port}/json`,
      settings: (a) => ({ [HTTP_ALLOW_SETTING]: a.hostPort }),
      error: /private/,
    },
    {
      name: 'loopback as an IPv4-mapped IPv6 address',
      url: (a) => `http://[::ffff:127.0.0.1]:${new URL(a.origin).port}/json`,
      settings: (a) => ({ [HTTP_ALLOW_SETTING]: `[::ffff:7f00:1]:${new URL(a.origin).port}` }),
      error: /private/,
    },
    {
      name: 'localhost resolving to loopback',
      url: (a) => `http://localhost:${new URL(a.origin).port}/json`,
      settings: (a) => ({ [HTTP_ALLOW_SETTING]: `localhost:${new URL(a.origin).port}` }),
      error: /private/,
    },
    {
      name: 'cloud metadata address',
      url: () => 'http://169.254.169.254/latest/meta-data/',
      settings: () => ({ [HTTP_ALLOW_SETTING]: '169.254.169.254' }),
      error: /private/,
    },
    {
      name: 'credentials in the URL',
      url: (a) => `http://user:pass@${a.hostPort}/json`,
      settings: local,
      error: /credentials in the URL/,
    },
    {
      name: 'file scheme',
      url: () => 'file:///etc/passwd',
      settings: local,
      error: /only http and https/,
    },
    {
      name: 'ftp scheme',
      url: (a) => `ftp://${a.hostPort}/x`,
      settings: local,
      error: /only http and https/,
    },
    {
      name: 'wildcard match is not enough for a private address, even with the opt-in',
      url: () => 'http://a.svc.test/x',
      settings: () => ({ [HTTP_ALLOW_SETTING]: '*.svc.test', [HTTP_ALLOW_PRIVATE_SETTING]: '1' }),
      error: /private.*10\.0\.0\.5/,
    },
    {
      name: 'one private address among public ones',
      url: () => 'https://mixed.example.test/x',
      settings: () => ({ [HTTP_ALLOW_SETTING]: 'mixed.example.test' }),
      error: /192\.168\.1\.9/,
    },
    {
      name: 'a wildcard does not match its apex',
      url: () => 'https://svc.test/x',
      settings: () => ({ [HTTP_ALLOW_SETTING]: '*.svc.test' }),
      error: /not in SERAPHIM_HTTP_ALLOW/,
    },
    {
      name: 'a host that does not resolve',
      url: () => 'https://missing.svc.test/x',
      settings: () => ({ [HTTP_ALLOW_SETTING]: '*.svc.test' }),
      error: /does not resolve/,
    },
    {
      name: 'an invalid allow-list entry',
      url: (a) => `${a.origin}/json`,
      settings: () => ({ [HTTP_ALLOW_SETTING]: 'good.example.com,bad host:x' }),
      error: /invalid entry: bad host:x/,
    },
    {
      name: 'redirect to a host not allowed',
      url: (a) => `${a.origin}/redirect?to=${encodeURIComponent(`${other.origin}/json`)}`,
      settings: local,
      error: /not in SERAPHIM_HTTP_ALLOW/,
    },
    {
      name: 'redirect to a wildcard-allowed host resolving to a private address',
      url: (a) => `${a.origin}/redirect?to=${encodeURIComponent('http://a.svc.test/latest')}`,
      settings: (a) => ({ ...local(a), [HTTP_ALLOW_SETTING]: `${a.hostPort},*.svc.test` }),
      error: /private.*10\.0\.0\.5/,
    },
    {
      name: 'redirect to another scheme',
      url: (a) => `${a.origin}/redirect?to=${encodeURIComponent('file:///etc/passwd')}`,
      settings: local,
      error: /only http and https/,
    },
    {
      name: 'redirect loop',
      url: (a) => `${a.origin}/loop`,
      settings: local,
      error: /More than 3 redirects/,
    },
  ];

  it.each(cases)('refuses: $name', async ({ url, settings, error }) => {
    const agent = createHttpAgent({ lookup: dns });
    const seenBefore = other.seen.length;
    const t = testAgentCall(agent, { url: url(api) }, { settings: settings(api), fetch: localOnlyFetch });
    const thrown = await failure(agent.run(t.call));
    expect(thrown).toBeInstanceOf(PermanentError);
    expect(thrown.message).toMatch(error);
    expect(other.seen.length).toBe(seenBefore);
  });

  it('refuses before any request reaches the server', async () => {
    const before = api.seen.length;
    for (const settings of [{}, { [HTTP_ALLOW_SETTING]: api.hostPort }] as Array<Record<string, string>>) {
      await failure(runHttp({ url: `${api.origin}/json` }, { settings }));
    }
    expect(api.seen.length).toBe(before);
  });
});

// ---------------------------------------------------------------- calls that go through

describe('http agent: allowed calls', () => {
  const SECRET = 'tok-live-7f3a9c1e5b';

  it.each([
    { auth: { bearerSecret: 'PARTNER_TOKEN' }, header: 'authorization', sent: `Bearer ${SECRET}` },
    { auth: { headerName: 'X-Partner-Key', secret: 'PARTNER_TOKEN' }, header: 'x-partner-key', sent: SECRET },
  ])(
    'sends the secret by reference in $header, and never logs or outputs it',
    async ({ auth, header, sent }) => {
      const before = api.seen.length;
      const { result, logText, secretsRead } = await runHttp(
        { url: `${api.origin}/json`, auth },
        { settings: local(api), secrets: { PARTNER_TOKEN: SECRET } },
      );
      expect(api.seen[before]?.headers[header]).toBe(sent);
      expect(secretsRead).toEqual(['PARTNER_TOKEN']);
      expect(result).toMatchObject({ status: 'succeeded', output: { status: 200, body: { ok: true } } });
      expect(JSON.stringify(result)).not.toContain(SECRET);
      expect(logText()).not.toContain(SECRET);
      expect(logText()).toContain('http call');
    },
  );

  it('blanks a secret the server echoes back', async () => {
    const { result, logText } = await runHttp(
      { url: `${api.origin}/echo`, auth: { bearerSecret: 'PARTNER_TOKEN' } },
      { settings: local(api), secrets: { PARTNER_TOKEN: SECRET } },
    );
    expect(result).toMatchObject({ output: { body: { authorization: 'Bearer [redacted]' } } });
    expect(JSON.stringify(result)).not.toContain(SECRET);
    expect(logText()).toContain('echoed a secret');
  });

  it('keeps only a safe subset of response headers', async () => {
    const { result } = await runHttp({ url: `${api.origin}/json` }, { settings: local(api) });
    const headers = (result as { output: { headers: Record<string, string> } }).output.headers;
    expect(headers).toMatchObject({ 'content-type': 'application/json', etag: '"v1"' });
    expect(headers).not.toHaveProperty('set-cookie');
    expect(headers).not.toHaveProperty('x-internal');
  });

  it('fills URL placeholders from inputs, URL-encoded', async () => {
    const { result } = await runHttp(
      { url: `${api.origin}/items/{{id}}?q={{query}}&n={{n}}` },
      { settings: local(api), inputs: { id: 'a/b c', query: 'x&y=z', n: 3 } },
    );
    expect(result).toMatchObject({ output: { body: { rawPath: '/items/a%2Fb%20c?q=x%26y%3Dz&n=3' } } });
  });

  it.each([
    { name: 'not an input', url: '/items/{{id}}', inputs: {} },
    { name: 'a null input', url: '/items/{{id}}', inputs: { id: null } },
    { name: 'a missing field', url: '/items/{{claim.id}}', inputs: { claim: {} } },
  ])('refuses a URL placeholder with $name', async ({ url, inputs }) => {
    const thrown = await failure(runHttp({ url: `${api.origin}${url}` }, { settings: local(api), inputs }));
    expect(thrown).toBeInstanceOf(PermanentError);
    expect(thrown.message).toMatch(
      /^http: the URL (uses \{\{id\}\}, which is not one of the step.s inputs|placeholder \{\{(id|claim\.id)\}\} has no value)/,
    );
  });

  it.each([
    { body: 'inputs', method: 'POST', sent: { claim: { amount: 12 }, note: 'n' } },
    { body: 'claim', method: 'PUT', sent: { amount: 12 } },
  ])('sends body $body as JSON with $method', async ({ body, method, sent }) => {
    const { result } = await runHttp(
      { url: `${api.origin}/echo`, method, body },
      { settings: local(api), inputs: { claim: { amount: 12 }, note: 'n' } },
    );
    const output = (result as { output: { body: { method: string; body: string } } }).output;
    expect(output.body.method).toBe(method);
    expect(JSON.parse(output.body.body)).toEqual(sent);
  });

  it.each([
    { path: '/text', responseType: undefined, body: 'hello' },
    { path: '/json', responseType: 'text', body: '{"ok":true}' },
    { path: '/bad-json', responseType: undefined, body: '{not json' },
  ])('decodes $path with responseType $responseType', async ({ path, responseType, body }) => {
    const { result } = await runHttp({ url: `${api.origin}${path}`, responseType }, { settings: local(api) });
    expect(result).toMatchObject({ output: { body } });
  });

  it('refuses a body that is not the JSON it was asked for', async () => {
    const thrown = await failure(
      runHttp({ url: `${api.origin}/bad-json`, responseType: 'json' }, { settings: local(api) }),
    );
    expect(thrown).toBeInstanceOf(PermanentError);
    expect(thrown.message).toContain('{not json');
  });

  it('follows a redirect within the allow-list, dropping credentials across origins', async () => {
    const beforeOther = other.seen.length;
    const { result } = await runHttp(
      {
        url: `${api.origin}/redirect?to=${encodeURIComponent(`${other.origin}/echo`)}&status=307`,
        method: 'POST',
        body: 'inputs',
        auth: { bearerSecret: 'PARTNER_TOKEN' },
      },
      { settings: local(api, other), secrets: { PARTNER_TOKEN: SECRET }, inputs: { a: 1 } },
    );
    expect(result).toMatchObject({ output: { status: 200, body: { method: 'POST', authorization: null } } });
    expect(other.seen[beforeOther]?.headers.authorization).toBeUndefined();
    expect(other.seen[beforeOther]?.body).toBe('{"a":1}');
  });

  it('turns a POST into a GET on 303', async () => {
    const { result } = await runHttp(
      { url: `${api.origin}/redirect?to=/echo&status=303`, method: 'POST', body: 'inputs' },
      { settings: local(api), inputs: { a: 1 } },
    );
    expect(result).toMatchObject({ output: { body: { method: 'GET', body: '' } } });
  });
});

// ---------------------------------------------------------------- what failures mean

describe('http agent: failures', () => {
  const start = Date.UTC(2026, 0, 1, 12, 0, 0);

  it.each([
    { name: '429 Retry-After seconds', path: '/status/429?retryAfter=7', type: RetryAfterError, ms: 7_000 },
    {
      name: '429 Retry-After HTTP date',
      path: `/status/429?retryAfter=${encodeURIComponent(new Date(start + 12_000).toUTCString())}`,
      type: RetryAfterError,
      ms: 12_000,
    },
    {
      name: '429 Retry-After date in the past',
      path: `/status/429?retryAfter=${encodeURIComponent(new Date(start - 5_000).toUTCString())}`,
      type: RetryAfterError,
      ms: 0,
    },
    {
      name: '429 retry-after-ms',
      path: '/status/429?retryAfterMs=1500&retryAfter=9',
      type: RetryAfterError,
      ms: 1_500,
    },
    { name: '429 without Retry-After', path: '/status/429', type: RetryAfterError, ms: 30_000 },
    { name: '500', path: '/status/500', type: RetryableError },
    { name: '503', path: '/status/503', type: RetryableError },
    { name: '400', path: '/status/400', type: PermanentError, status: 400 },
    { name: '404', path: '/status/404', type: PermanentError, status: 404 },
    { name: '304 (not a redirect to follow)', path: '/status/304', type: PermanentError, status: 304 },
    { name: 'redirect without Location', path: '/redirect', type: PermanentError },
  ])('$name', async ({ path, type, ms, status }) => {
    const thrown = await failure(
      runHttp({ url: `${api.origin}${path}` }, { settings: local(api), clock: new ManualClock(start) }),
    );
    expect(thrown).toBeInstanceOf(type);
    if (ms !== undefined) expect((thrown as RetryAfterError).retryAfterMs).toBe(ms);
    if (status !== undefined) expect((thrown as PermanentError).details).toMatchObject({ status });
  });

  it.each([
    { name: 'exactly the cap', size: MAX_RESPONSE_BYTES, declared: false, ok: true },
    { name: 'one byte over, streamed', size: MAX_RESPONSE_BYTES + 1, declared: false, ok: false },
    { name: 'over, declared in Content-Length', size: 5 * MAX_RESPONSE_BYTES, declared: true, ok: false },
  ])('size cap: $name', async ({ size, declared, ok }) => {
    const run = runHttp(
      { url: `${api.origin}/bytes/${size}${declared ? '?declared' : ''}` },
      { settings: local(api) },
    );
    if (ok) {
      const { result } = await run;
      expect((result as { output: { body: string } }).output.body).toHaveLength(size);
    } else {
      const thrown = await failure(run);
      expect(thrown).toBeInstanceOf(PermanentError);
      expect(thrown.message).toMatch(/larger than 1048576 bytes/);
    }
  });

  it('times out after timeoutSeconds with a retryable error', async () => {
    const started = Date.now();
    const thrown = await failure(
      runHttp({ url: `${api.origin}/slow?ms=5000`, timeoutSeconds: 0.2 }, { settings: local(api) }),
    );
    expect(thrown).toBeInstanceOf(RetryableError);
    expect(thrown.message).toMatch(/timed out after 0.2 s/);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('stops when the step is aborted', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('execution cancelled')), 100);
    const thrown = await failure(
      runHttp({ url: `${api.origin}/slow?ms=5000` }, { settings: local(api), signal: controller.signal }),
    );
    expect(thrown).toBeInstanceOf(RetryableError);
    expect(thrown.message).toMatch(/aborted: execution cancelled/);
  });

  it('treats a refused connection as retryable', async () => {
    const gone = await startLocalApi();
    await gone.close();
    const thrown = await failure(runHttp({ url: `${gone.origin}/json` }, { settings: local(gone) }));
    expect(thrown).toBeInstanceOf(RetryableError);
    expect(thrown.message).toMatch(/ECONNREFUSED/);
  });
});

// ---------------------------------------------------------------- config

describe('http agent: config', () => {
  it.each([
    { name: 'GET with a body', config: { url: 'https://x.test', body: 'inputs' }, path: 'body' },
    {
      name: 'a literal token as a secret name',
      config: { url: 'https://x.test', auth: { bearerSecret: 'sk-live-abc123' } },
      path: 'auth',
    },
    {
      name: 'an Authorization header',
      config: { url: 'https://x.test', headers: { Authorization: 'Bearer x' } },
      path: 'headers',
    },
    {
      name: 'an API key header',
      config: { url: 'https://x.test', headers: { 'X-Api-Key': 'k' } },
      path: 'headers',
    },
    {
      name: 'a Host header',
      config: { url: 'https://x.test', headers: { Host: 'internal' } },
      path: 'headers',
    },
    {
      name: 'a header value with a line break',
      config: { url: 'https://x.test', headers: { 'X-A': 'a\r\nX-B: b' } },
      path: 'headers',
    },
    { name: 'an unknown method', config: { url: 'https://x.test', method: 'TRACE' }, path: 'method' },
    { name: 'an unknown key', config: { url: 'https://x.test', retries: 3 }, path: '' },
  ])('refuses $name', ({ config, path }) => {
    const parsed = httpAgent.config.safeParse(config);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path.join('.') ?? '').toContain(path);
  });

  it('defaults to GET', () => {
    expect(httpAgent.config.parse({ url: 'https://x.test' })).toMatchObject({ method: 'GET' });
  });
});

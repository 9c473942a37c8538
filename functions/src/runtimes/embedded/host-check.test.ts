/** Host and Origin checks (DNS rebinding and CSRF): the rules as a table, then the real server refusing before API and static files. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import system from '../../orchestrators/system/index.js';
import { createLogger, MemorySink } from '../../platform/logger.js';
import { allowedHosts, isLoopback, refusal } from './host-check.js';
import { EmbeddedRuntime } from './runtime.js';
import { type RunningServer, startHttpServer } from './server.js';
import { signInMode } from './settings.js';

describe('allowed hosts', () => {
  const loopback = allowedHosts({ host: '127.0.0.1', port: 4400 });
  const wide = allowedHosts({
    host: '0.0.0.0',
    port: 4400,
    hostname: 'build-box',
    addresses: ['10.0.0.7', 'fe80::1'],
    extra: ['seraphim.example.com', 'proxy.internal:8443'],
  });

  it.each([
    [loopback, '127.0.0.1:4400', true],
    [loopback, 'localhost:4400', true],
    [loopback, 'LOCALHOST:4400', true],
    [loopback, '[::1]:4400', true],
    [loopback, '127.0.0.1:4401', false],
    [loopback, 'localhost', false],
    [loopback, 'evil.example:4400', false],
    [loopback, 'build-box:4400', false],
    [wide, 'build-box:4400', true],
    [wide, '10.0.0.7:4400', true],
    [wide, '[fe80::1]:4400', true],
    [wide, 'seraphim.example.com', true],
    [wide, 'seraphim.example.com:443', true],
    [wide, 'proxy.internal:8443', true],
    [wide, 'proxy.internal:9000', false],
    [wide, 'rebound.attacker.example:4400', false],
  ])('%#: %s → %s', (allowed, host, ok) => {
    expect(allowed(host)).toBe(ok);
  });

  it.each([
    [{ host: '127.0.0.1:4400' }, null],
    [{ host: '127.0.0.1:4400', origin: 'http://127.0.0.1:4400' }, null],
    [{ host: '127.0.0.1:4400', origin: 'http://localhost:4400' }, null],
    [{ host: 'evil.example:4400' }, 'forbidden-host'],
    [{}, 'forbidden-host'],
    [{ host: '127.0.0.1:4400', origin: 'https://evil.example' }, 'forbidden-origin'],
    [{ host: '127.0.0.1:4400', origin: 'null' }, 'forbidden-origin'],
    [{ host: '127.0.0.1:4400', origin: 'file://127.0.0.1:4400' }, 'forbidden-origin'],
  ])('%j → %s', (headers, expected) => {
    expect(refusal(headers, loopback)).toBe(expected);
  });

  it('tells loopback addresses apart', () => {
    expect(
      ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1'].every(isLoopback),
    ).toBe(true);
    expect(['0.0.0.0', '::', '10.0.0.7', 'build-box'].some(isLoopback)).toBe(false);
  });
});

describe('sign-in mode from the bind address', () => {
  it.each([
    ['127.0.0.1', undefined, 'local'],
    ['localhost', undefined, 'local'],
    ['0.0.0.0', undefined, 'session'],
    ['127.0.0.1', 'session', 'session'],
    ['0.0.0.0', 'session', 'session'],
  ] as const)('%s with SERAPHIM_AUTH=%s → %s', (host, auth, mode) => {
    expect(signInMode({ SERAPHIM_HOST: host, SERAPHIM_AUTH: auth })).toBe(mode);
  });

  it('refuses SERAPHIM_AUTH=local beyond loopback, saying why', () => {
    expect(() => signInMode({ SERAPHIM_HOST: '0.0.0.0', SERAPHIM_AUTH: 'local' })).toThrow(
      /SERAPHIM_AUTH=local is refused on 0\.0\.0\.0/,
    );
  });
});

describe('the embedded server', () => {
  let staticDir: string;
  let runtime: EmbeddedRuntime;
  let http: RunningServer;
  beforeAll(async () => {
    staticDir = mkdtempSync(join(tmpdir(), 'seraphim-static-'));
    mkdirSync(staticDir, { recursive: true });
    writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>Mission Control</title>');
    runtime = new EmbeddedRuntime({
      orchestrators: [system],
      dataDir: ':memory:',
      version: 'test',
      logger: createLogger({ sink: new MemorySink() }),
    });
    http = await startHttpServer({
      api: runtime.api,
      ports: runtime.ports,
      staticDir,
      host: '127.0.0.1',
      port: 0,
    });
  });
  afterAll(async () => {
    await http.close();
    await runtime.stop();
    rmSync(staticDir, { recursive: true, force: true });
  });

  /** fetch() will not send a foreign Host header: node:http will. */
  function get(path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
    const { port } = new URL(http.url);
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('serves its own Host, and refuses a rebound one on the API and on static files alike', async () => {
    const host = new URL(http.url).host;
    expect((await get('/', { host })).status).toBe(200);
    expect((await get('/api/system/health', { host })).status).toBe(200);
    for (const path of ['/', '/index.html', '/api/system/health']) {
      const refused = await get(path, { host: `rebound.attacker.example:${new URL(http.url).port}` });
      expect(refused.status).toBe(403);
      expect(JSON.parse(refused.body)).toMatchObject({ code: 'forbidden-host' });
    }
  });

  it('refuses a foreign Origin on any method, and accepts its own', async () => {
    const host = new URL(http.url).host;
    const foreign = await get('/api/system/health', { host, origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.body)).toMatchObject({ code: 'forbidden-origin' });
    const own = await get('/api/system/health', { host, origin: `http://${host}` });
    expect(own.status).toBe(200);
    const post = await fetch(`${http.url}/api/system/session`, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(post.status).toBe(403);
  });
});

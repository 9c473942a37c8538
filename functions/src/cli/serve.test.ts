import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { hostname, networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startRuntimeProcess } from '../test-support/runtime-process.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function takePort(): Promise<number> {
  const holder: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    holder.once('error', reject);
    holder.listen(0, '127.0.0.1', () => resolve());
  });
  cleanups.push(() => new Promise<void>((resolve) => holder.close(() => resolve())));
  const address = holder.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'seraphim-serve-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('seraphim serve start-up', () => {
  it('a port clash hangs: with the port taken, serve exits 2 naming the address, seeds nothing and leaves the data folder free', async () => {
    const port = await takePort();
    const dataDir = tempDir();
    // A hang shows as "did not start within" (the helper kills the child), not as an exit.
    await expect(
      startRuntimeProcess({ dataDir, args: ['--port', String(port)], timeoutMs: 30_000 }),
    ).rejects.toThrow(
      new RegExp(
        `exited with 2 before listening[\\s\\S]*Cannot listen on 127\\.0\\.0\\.1:${port}: the port is already in use`,
      ),
    );
    // No database (so no demo documents) and no lock: the clash was found before either.
    expect(readdirSync(dataDir)).toEqual([]);

    const next = await startRuntimeProcess({ dataDir });
    cleanups.push(() => next.dispose({ keepData: true }));
    const health = await fetch(`${next.url}/api/system/health`);
    expect(health.status).toBe(200);
    expect(existsSync(join(dataDir, 'seraphim.db'))).toBe(true);
    // Two process starts, each allowed up to 20 s on a loaded machine: not a speed target.
  }, 60_000);
});

/** An anonymous GET of a workspace route through `url`, with `host` as the Host header. */
function anonymousStatus(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/api/workspaces`, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('seraphim serve banner', () => {
  it('defect (issue 9, item 14): bound to 0.0.0.0 the banner printed 127.0.0.1; it prints the real address, who else can reach it, and that they must sign in', async () => {
    const server = await startRuntimeProcess({ args: ['--host', '0.0.0.0', '--no-demo'] });
    cleanups.push(() => server.dispose());
    const port = new URL(server.url).port;
    const out = await vi.waitFor(() => {
      const text = server.output();
      expect(text).toContain('Mission Control');
      return text;
    });
    expect(out).toContain(`listening on http://0.0.0.0:${port} (every interface)`);
    const elsewhere = Object.values(networkInterfaces())
      .flat()
      .flatMap((i) => (i && i.family === 'IPv4' && !i.internal ? [`http://${i.address}:${port}/`] : []));
    const line = /Reachable from other machines at (.*): sign-in required\./.exec(out);
    expect(line?.[1]?.split(', ')).toEqual([...elsewhere, `http://${hostname()}:${port}/`]);
    expect(out).toContain(`Mission Control: http://127.0.0.1:${port}/`);
    expect(out).not.toContain('WARNING');
    // The truth behind the banner: nobody is let in without signing in.
    expect(await anonymousStatus(`http://127.0.0.1:${port}`, `127.0.0.1:${port}`)).toBe(401);
  }, 60_000);

  it('defect (issue 9, item 14): on loopback with SERAPHIM_ALLOWED_HOSTS a proxy lets others in with no sign-in; the banner warns', async () => {
    const server = await startRuntimeProcess({
      args: ['--no-demo'],
      env: { SERAPHIM_ALLOWED_HOSTS: 'seraphim.example.com' },
    });
    cleanups.push(() => server.dispose());
    const out = await vi.waitFor(() => {
      const text = server.output();
      expect(text).toContain('Mission Control');
      return text;
    });
    expect(out).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+\n/);
    expect(out).not.toContain('Reachable from other machines');
    expect(out).toContain(
      'WARNING: SERAPHIM_ALLOWED_HOSTS (seraphim.example.com) lets a proxy bring other machines to this loopback address, and nobody signs in here',
    );
    // What it warns about: a request the proxy forwards is the owner, no credential asked.
    expect(await anonymousStatus(server.url, 'seraphim.example.com')).toBe(200);
  }, 60_000);
});

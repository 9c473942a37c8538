import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
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

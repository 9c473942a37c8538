/**
 * One runtime per data folder, held by an OS lock: a crashed holder (even a
 * zombie nobody reaped) frees the folder at once, our own pid in a stale lock
 * blocks nothing, and a live holder is refused by name.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, MemorySink } from '../../platform/logger.js';
import { CLI, startRuntimeProcess } from '../../test-support/runtime-process.js';
import { LOCK_FILE } from './data-lock.js';
import { EmbeddedRuntime } from './runtime.js';
import { DatabaseStateError } from './sqlite.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'seraphim-lock-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const start = (dataDir: string) =>
  new EmbeddedRuntime({
    orchestrators: [],
    dataDir,
    version: 't',
    logger: createLogger({ sink: new MemorySink() }),
  });

/**
 * Whether `pid` has died and is a zombie nobody has reaped: its main thread shows `Z`, and its
 * other threads (node has several, each closing the files as it ends) are gone.
 */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state === 'Z' && readdirSync(`/proc/${pid}/task`).length === 1;
  } catch {
    return false;
  }
}

/**
 * `seraphim serve` under a parent that never reaps it: sh starts it in the
 * background, then becomes `sleep`. Once killed, the runtime stays a zombie
 * until the test ends the parent.
 */
async function serveUnderNonReapingParent(dataDir: string): Promise<{ pid: number; parent: ChildProcess }> {
  const parent = spawn(
    'sh',
    [
      '-c',
      '"$0" --disable-warning=ExperimentalWarning "$1" serve --port 0 --host 127.0.0.1 --no-demo --data-dir "$2" & echo "pid $!"; exec sleep 600',
      process.execPath,
      CLI,
      dataDir,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SERAPHIM_LOG_LEVEL: 'WARNING' } },
  );
  cleanups.push(() => {
    parent.kill('SIGKILL'); // its zombie child goes to init, which reaps it
  });
  let out = '';
  parent.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  parent.stderr?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  await expect.poll(() => /listening on/.test(out), { timeout: 30_000, interval: 50 }).toBe(true);
  const pid = Number(/pid (\d+)/.exec(out)?.[1]);
  expect(pid).toBeGreaterThan(0);
  return { pid, parent };
}

describe('the data folder lock', () => {
  it('deadlocks after a crash: a runtime killed with SIGKILL and left a zombie does not block the next start', async () => {
    const dataDir = tempDir();
    const { pid } = await serveUnderNonReapingParent(dataDir);
    process.kill(pid, 'SIGKILL');
    await expect.poll(() => isZombie(pid), { timeout: 10_000, interval: 20 }).toBe(true);
    // The old pid lock saw a zombie as alive ("Another Seraphim (pid N) is using …").
    const next = start(dataDir);
    await next.stop();
  }, 60_000);

  it('treats its own pid as another instance: a lock that names this process (pid 1 in a container) does not block', async () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, LOCK_FILE), String(process.pid)); // the lock an older Seraphim left
    const runtime = start(dataDir);
    await runtime.stop();
  });

  it('refuses a second runtime in this process while the first lives, and lets it in after', async () => {
    const dataDir = tempDir();
    const first = start(dataDir);
    expect(() => start(dataDir)).toThrow(DatabaseStateError);
    expect(() => start(dataDir)).toThrow(
      new RegExp(`Another Seraphim is running on this data dir .*\\(pid ${process.pid}, started \\d{4}-`),
    );
    await first.stop();
    await start(dataDir).stop();
  });

  it('a live second `serve` on the folder exits 2, naming the running one’s pid and start', async () => {
    const dataDir = tempDir();
    const first = await startRuntimeProcess({ dataDir, args: ['--no-demo'] });
    cleanups.push(() => first.dispose({ keepData: true }));
    const pid = first.child.pid;
    await expect(startRuntimeProcess({ dataDir, args: ['--no-demo'], timeoutMs: 30_000 })).rejects.toThrow(
      new RegExp(
        `exited with 2 before listening[\\s\\S]*Another Seraphim is running on this data dir .*\\(pid ${pid}, started \\d{4}-`,
      ),
    );
    const health = await fetch(`${first.url}/api/system/health`);
    expect(health.status).toBe(200);
  }, 60_000);
});

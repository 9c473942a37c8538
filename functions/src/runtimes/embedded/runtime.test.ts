/** The embedded runtime's own promises: durable state, clear refusals, leases that survive crashes. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import system from '../../orchestrators/system/index.js';
import { systemClock } from '../../platform/clock.js';
import { rateLimits, retryPolicy } from '../../platform/delivery.js';
import { createUlids } from '../../platform/ids.js';
import { createLogger, MemorySink } from '../../platform/logger.js';
import { startRuntimeProcess } from '../../test-support/runtime-process.js';
import { EmbeddedTaskQueue, type QueueConfig } from './queue.js';
import { EmbeddedRuntime } from './runtime.js';
import { DatabaseStateError, openDatabase, SCHEMA_VERSION } from './sqlite.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'seraphim-rt-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const quiet = () => createLogger({ sink: new MemorySink() });

describe('SQLite file state', () => {
  it('refuses a file from a newer schema and leaves it untouched', () => {
    const file = join(tempDir(), 'seraphim.db');
    openDatabase({ file }).close();
    const raw = new DatabaseSync(file);
    raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    raw.exec(`INSERT INTO documents VALUES ('a/b', 'a', 'b', '{"keep":true}', 1, 0, 0)`);
    raw.close();
    expect(() => openDatabase({ file })).toThrow(DatabaseStateError);
    expect(() => openDatabase({ file })).toThrow(
      new RegExp(`newer Seraphim \\(schema ${SCHEMA_VERSION + 1}\\).*Nothing was changed`),
    );
    const check = new DatabaseSync(file);
    expect(check.prepare('SELECT data FROM documents').get()).toEqual({ data: '{"keep":true}' });
    check.close();
  });

  it('refuses a database that is not Seraphim’s', () => {
    const file = join(tempDir(), 'seraphim.db');
    const foreign = new DatabaseSync(file);
    foreign.exec('CREATE TABLE invoices (id INTEGER PRIMARY KEY)');
    foreign.close();
    expect(() => openDatabase({ file })).toThrow(/not a Seraphim database/);
  });
});

describe('task leases', () => {
  const config: QueueConfig = {
    name: 'work',
    retry: retryPolicy({ maxAttempts: 3, minBackoffSeconds: 0.01 }),
    rateLimits: rateLimits({}),
    timeoutMs: 60_000,
  };

  it('recovers a lease whose holder died, and ignores the dead holder’s late answer', async () => {
    const file = join(tempDir(), 'seraphim.db');
    const deps = { clock: systemClock, ids: createUlids(), logger: quiet() };
    // Worker A claims the task and hangs, as a process that was SIGKILLed would.
    const dbA = openDatabase({ file });
    const a = new EmbeddedTaskQueue(dbA, { ...deps, owner: 'worker-a' });
    let releaseA: () => void = () => {};
    const started = new Promise<void>((resolve) => {
      a.register(config, () => {
        resolve();
        return new Promise<void>((r) => {
          releaseA = r;
        });
      });
    });
    await a.enqueue('work', { n: 1 }, { id: 't1' });
    a.start();
    await started;

    // Worker B starts on the same file: its sweep takes the orphaned lease back.
    const dbB = openDatabase({ file });
    const b = new EmbeddedTaskQueue(dbB, { ...deps, owner: 'worker-b' });
    const ranOnB: number[] = [];
    b.register(config, async (_p, info) => void ranOnB.push(info.attempt));
    expect(b.sweep().recovered).toBe(1);
    b.start();
    await b.whenIdle();
    expect(ranOnB).toEqual([2]); // the crashed attempt counted as attempt 1

    releaseA(); // A's late success must not overwrite B's record
    await new Promise((r) => setTimeout(r, 50));
    const row = dbB.prepare(`SELECT state, attempts, last_error FROM tasks WHERE id = 't1'`).get();
    expect(row).toMatchObject({ state: 'done', attempts: 2 });
    await b.stop();
    await a.stop({ graceMs: 1000 }); // a crashed worker would never get here; the test must not leave it polling
    dbA.close();
    dbB.close();
  });
});

describe('runtime process', () => {
  it('stops cleanly on SIGTERM and on SIGINT, and keeps its data across a restart', async () => {
    const dataDir = tempDir();
    const first = await startRuntimeProcess({ dataDir, args: ['--no-demo'] });
    const sent = await fetch(`${first.url}/api/system/pings`, { method: 'POST' });
    const { id } = (await sent.json()) as { id: string };
    expect(await first.stop('SIGTERM')).toBe(0);
    expect(first.output()).toMatch(/Stopped cleanly/);

    const second = await startRuntimeProcess({ dataDir, args: ['--no-demo'] });
    try {
      const got = await fetch(`${second.url}/api/system/pings/${id}`);
      expect(got.status).toBe(200);
    } finally {
      expect(await second.stop('SIGINT')).toBe(0);
    }
  });

  it('seeds the demo workspace once and never overwrites it', async () => {
    const dataDir = tempDir();
    const first = await startRuntimeProcess({ dataDir });
    await first.stop();
    const rt = new EmbeddedRuntime({ orchestrators: [system], dataDir, version: 't', logger: quiet() });
    const ws = await rt.ports.documents.get('workspaces/demo');
    expect(ws?.data.name).toBe('Demo workspace');
    await rt.ports.documents.update('workspaces/demo', { name: 'Renamed by the user' });
    await rt.stop();
    const second = await startRuntimeProcess({ dataDir });
    await second.stop();
    const again = new EmbeddedRuntime({ orchestrators: [system], dataDir, version: 't', logger: quiet() });
    expect((await again.ports.documents.get('workspaces/demo'))?.data.name).toBe('Renamed by the user');
    await again.stop();
  });

  it('stops start-up with a clear message when the data file is from a newer schema', async () => {
    const dataDir = tempDir();
    openDatabase({ file: join(dataDir, 'seraphim.db') }).close();
    const raw = new DatabaseSync(join(dataDir, 'seraphim.db'));
    raw.exec('PRAGMA user_version = 99');
    raw.close();
    await expect(startRuntimeProcess({ dataDir })).rejects.toThrow(
      /exited with 2 before listening[\s\S]*newer Seraphim/,
    );
  });
});

describe('document triggers and schedules', () => {
  it('delivers matching document changes with params, before and after; others not at all', async () => {
    const { defineOrchestrator } = await import('../../platform/orchestrator.js');
    const changes: Array<{
      params: Record<string, string>;
      before: unknown;
      after: unknown;
      eventId: string;
    }> = [];
    const o = defineOrchestrator({
      name: 'watcher',
      documents: {
        runWritten: {
          document: 'workspaces/{workspace}/runs/{run}',
          retry: { minBackoffSeconds: 0.01 },
          handler: async (change) =>
            void changes.push({
              params: change.params,
              before: change.before?.data ?? null,
              after: change.after?.data ?? null,
              eventId: change.eventId,
            }),
        },
      },
    });
    const rt = new EmbeddedRuntime({ orchestrators: [o], dataDir: tempDir(), version: 't', logger: quiet() });
    rt.start();
    await rt.ports.documents.create('workspaces/w1/runs/r1', { state: 'pending' });
    await rt.ports.documents.update('workspaces/w1/runs/r1', { state: 'running' });
    await rt.ports.documents.create('workspaces/w1/other/x', { ignored: true });
    await rt.ports.documents.delete('workspaces/w1/runs/r1');
    await rt.whenIdle();
    expect(changes.map(({ params, before, after }) => ({ params, before, after }))).toEqual([
      { params: { workspace: 'w1', run: 'r1' }, before: null, after: { state: 'pending' } },
      { params: { workspace: 'w1', run: 'r1' }, before: { state: 'pending' }, after: { state: 'running' } },
      { params: { workspace: 'w1', run: 'r1' }, before: { state: 'running' }, after: null },
    ]);
    expect(new Set(changes.map((c) => c.eventId)).size).toBe(3);
    await rt.stop();
  });

  it('runs a schedule firing once however often it is fired', async () => {
    const { defineOrchestrator } = await import('../../platform/orchestrator.js');
    const runs: number[] = [];
    const o = defineOrchestrator({
      name: 'timers',
      schedules: {
        sweep: { cron: '*/5 * * * *', handler: async (_ctx, run) => void runs.push(run.scheduledTime) },
      },
    });
    const rt = new EmbeddedRuntime({ orchestrators: [o], dataDir: tempDir(), version: 't', logger: quiet() });
    rt.start();
    const at = Date.UTC(2026, 10, 24, 9, 5);
    expect((await rt.fireSchedule('timers-sweep', at)).deduped).toBe(false);
    expect((await rt.fireSchedule('timers-sweep', at)).deduped).toBe(true);
    await rt.whenIdle();
    expect(runs).toEqual([at]);
    await rt.stop();
  });
});

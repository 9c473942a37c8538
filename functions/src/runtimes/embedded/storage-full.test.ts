/**
 * A full disk, simulated as SQLite sees one: `max_page_count` at the file's
 * size makes every write that needs a new page fail with SQLITE_FULL, as
 * ENOSPC does. Requests must get a clear 507, running work must wait, the
 * process must stay up, and once space returns every execution the API
 * acknowledged must finish.
 */
import type { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { builtinAgents, createAgentRegistry } from '../../orchestrators/executions/agents/registry.js';
import { defineAgent } from '../../orchestrators/executions/agents/types.js';
import { ExecutionEngine } from '../../orchestrators/executions/engine.js';
import { createExecutionsOrchestrator } from '../../orchestrators/executions/index.js';
import type { Execution } from '../../orchestrators/executions/model.js';
import system from '../../orchestrators/system/index.js';
import { createUseCasesOrchestrator } from '../../orchestrators/use-cases/index.js';
import { UseCaseBodySchema } from '../../orchestrators/use-cases/model.js';
import { systemClock } from '../../platform/clock.js';
import { rateLimits, retryPolicy } from '../../platform/delivery.js';
import { StorageFullError } from '../../platform/errors.js';
import { createUlids } from '../../platform/ids.js';
import { createLogger, MemorySink } from '../../platform/logger.js';
import {
  drainQueues,
  executionsApi,
  startTestRuntime,
  type TestRuntime,
} from '../../test-support/embedded.js';
import { EmbeddedTaskQueue } from './queue.js';
import { inTransaction, openDatabase } from './sqlite.js';

/** Holds every step until the test lets go: the steps are running when the disk fills. */
let letGo: () => void = () => {};
const held = new Promise<void>((resolve) => {
  letGo = resolve;
});
const running = new Set<string>();
const heldAgent = defineAgent({
  kind: 'held',
  description: 'waits for the test',
  config: z.object({}),
  async run({ execution }) {
    running.add(execution.id);
    await held;
    // Big enough that recording it needs new pages.
    return { status: 'succeeded', output: { pad: 'x'.repeat(20_000) } };
  },
});

const chain = UseCaseBodySchema.parse({
  id: 'chain',
  name: 'Chain',
  vertical: 'test',
  workflow: {
    steps: [
      { id: 'first', agent: 'held', output: 'a', config: {} },
      {
        id: 'second',
        agent: 'transform',
        inputs: { a: 'a' },
        output: 'b',
        config: { expression: '{"n": 1}' },
      },
      {
        id: 'third',
        agent: 'transform',
        inputs: { b: 'b' },
        output: 'c',
        config: { expression: '{"n": b.n + 1}' },
      },
    ],
  },
});

/** Makes the database "full": no write may grow the file past its size now. */
function fillDisk(db: DatabaseSync): void {
  const { page_count: pages } = db.prepare('PRAGMA page_count').get() as { page_count: number };
  db.exec(`PRAGMA max_page_count = ${pages}`);
}
/** Space returns: SQLite's own ceiling. */
const freeDisk = (db: DatabaseSync) => db.exec('PRAGMA max_page_count = 4294967294');

let t: TestRuntime | undefined;
afterEach(async () => {
  letGo();
  await t?.dispose();
  t = undefined;
});

describe('a full disk', () => {
  it('inTransaction: "cannot rollback - no transaction is active" no longer hides SQLITE_FULL', () => {
    const db = openDatabase({ file: ':memory:' });
    fillDisk(db);
    let thrown: unknown;
    try {
      inTransaction(db, () =>
        db
          .prepare('INSERT INTO documents VALUES (?, ?, ?, ?, 1, 0, 0)')
          .run('a/b', 'a', 'b', JSON.stringify({ pad: 'x'.repeat(20_000) })),
      );
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(StorageFullError);
    expect(db.isTransaction).toBe(false);
    freeDisk(db);
    inTransaction(db, () =>
      db.prepare(`INSERT INTO documents VALUES ('a/c', 'a', 'c', '{}', 1, 0, 0)`).run(),
    );
    db.close();
  });

  it('kills the process from the group commit: outcomes it cannot write are kept, and written once space returns', async () => {
    const db = openDatabase({ file: ':memory:' });
    const logs = new MemorySink();
    const queue = new EmbeddedTaskQueue(db, {
      clock: systemClock,
      ids: createUlids(),
      logger: createLogger({ sink: logs }),
    });
    const attempts: number[] = [];
    queue.register(
      {
        name: 'work',
        retry: retryPolicy({ maxAttempts: 3, minBackoffSeconds: 0.01, maxBackoffSeconds: 0.01 }),
        rateLimits: rateLimits({}),
        timeoutMs: 60_000,
      },
      async (_payload, info) => {
        attempts.push(info.attempt);
        // Its last_error (4,000 characters) needs a new page: the group commit's own write fails.
        if (info.attempt === 1) throw new Error('upstream down '.repeat(300));
      },
    );
    await queue.enqueue('work', {}, { id: 't1' });
    // Neighbours due later share its page, so its grown row cannot stay there.
    for (let i = 0; i < 5; i++) {
      await queue.enqueue('work', { pad: 'p'.repeat(300) }, { scheduleTime: Date.now() + 3_600_000 });
    }
    fillDisk(db);
    queue.start();
    // Before: "cannot rollback - no transaction is active" thrown from the commit's setImmediate.
    await expect
      .poll(() => logs.entries.some((e) => e.message.startsWith('Could not record finished tasks')))
      .toBe(true);
    expect(db.prepare(`SELECT state, attempts FROM tasks WHERE id = 't1'`).get()).toEqual({
      state: 'leased',
      attempts: 1,
    });

    freeDisk(db);
    await queue.whenIdle();
    expect(attempts).toEqual([1, 2]);
    expect(db.prepare(`SELECT state, attempts FROM tasks WHERE id = 't1'`).get()).toEqual({
      state: 'done',
      attempts: 2,
    });
    await queue.stop();
    db.close();
  });

  it('kills the process: now requests get 507 storage-full, running executions wait, and all acknowledged ones finish once space returns', async () => {
    const engine = new ExecutionEngine(createAgentRegistry([...builtinAgents, heldAgent]));
    const runtime = await startTestRuntime([
      system,
      createUseCasesOrchestrator(engine.agents),
      createExecutionsOrchestrator(engine),
    ]);
    t = runtime;
    const api = executionsApi(() => runtime.url, 'demo');
    expect((await api('/use-cases', chain)).status).toBe(201);

    const acknowledged: string[] = [];
    const start = async (pad: number) => {
      const res = await api('/executions', { useCaseId: 'chain', input: { pad: 'x'.repeat(pad) } });
      if (res.status === 202) acknowledged.push(((await res.json()) as Execution).id);
      return res;
    };
    for (let i = 0; i < 8; i++) expect((await start(10)).status).toBe(202);
    await expect.poll(() => running.size, { timeout: 10_000 }).toBe(8);

    const db = runtime.runtime.database;
    fillDisk(db);
    // The file may still have free pages inside: write until the first refusal.
    let refused: Response | undefined;
    for (let i = 0; i < 200 && !refused; i++) {
      const res = await start(20_000);
      if (res.status !== 202) refused = res;
    }
    expect(refused?.status).toBe(507);
    expect(refused?.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(Number(refused?.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused?.json()).toMatchObject({
      status: 507,
      code: 'storage-full',
      detail: expect.stringMatching(/disk holding the database is full: nothing was written/),
    });

    // The held steps finish now: recording them needs room there is not.
    letGo();
    await expect
      .poll(
        () =>
          runtime.logs.entries.some((e) => /storage full|Could not record finished tasks/.test(e.message)),
        {
          timeout: 10_000,
        },
      )
      .toBe(true);
    expect((await fetch(`${runtime.url}/api/system/health`)).status).toBe(200);
    expect((await start(20_000)).status).toBe(507);

    freeDisk(db);
    await drainQueues(runtime.runtime);
    for (const id of acknowledged) {
      const execution = (await (await api(`/executions/${id}`)).json()) as Execution;
      expect({ id, status: execution.status }).toEqual({ id, status: 'succeeded' });
      expect(execution.context.c).toEqual({ n: 2 });
    }
    expect(acknowledged.length).toBeGreaterThanOrEqual(8);
  }, 60_000);
});

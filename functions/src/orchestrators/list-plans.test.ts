/**
 * Issue 9, item 2: the executions list was an unindexed json_extract scan and
 * sort (19 ms at 729 executions, 0.92 s at 45,000). Every list route, with
 * every filter it allows and on its next pages, is called here over HTTP on
 * the embedded runtime, and every documents query it runs is checked with
 * EXPLAIN QUERY PLAN: a query that filters or orders on a field reads through
 * one of the indexes derived from firestore.indexes.json, nothing scans the
 * table or sorts in a temporary b-tree, and a next page seeks to its cursor.
 */
import { DatabaseSync, StatementSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { drainQueues, startTestRuntime, type TestRuntime } from '../test-support/embedded.js';
import { builtinAgents, createAgentRegistry } from './executions/agents/registry.js';
import { ExecutionEngine } from './executions/engine.js';
import { cleanupExpired, recoverStalled } from './executions/maintenance.js';
import { orchestrators } from './registry.js';

const WS = 'plans';

/** Every documents query run, by its SQL, and the connection that ran it. */
const ran: string[] = [];
let db: DatabaseSync | undefined;

function watchQueries() {
  const prepare = DatabaseSync.prototype.prepare;
  vi.spyOn(DatabaseSync.prototype, 'prepare').mockImplementation(function (this: DatabaseSync, sql: string) {
    if (/FROM documents WHERE/.test(sql)) db ??= this;
    return prepare.call(this, sql);
  });
  for (const method of ['all', 'get'] as const) {
    const original = StatementSync.prototype[method] as (...args: unknown[]) => unknown;
    vi.spyOn(StatementSync.prototype, method).mockImplementation(function (
      this: StatementSync,
      ...args: unknown[]
    ) {
      if (/^SELECT .* FROM documents WHERE/.test(this.sourceSQL)) ran.push(this.sourceSQL);
      return Reflect.apply(original, this, args) as never;
    });
  }
}

/** The queries `fn` runs, each with its plan. */
async function plansOf(fn: () => Promise<unknown>): Promise<Array<{ sql: string; plan: string }>> {
  ran.length = 0;
  await fn();
  const connection = db;
  if (!connection) throw new Error('no documents query was prepared');
  return [...new Set(ran)].map((sql) => ({
    sql,
    plan: connection
      .prepare(`EXPLAIN QUERY PLAN ${sql}`)
      .all()
      .map((row) => String((row as { detail: string }).detail))
      .join('\n'),
  }));
}

/** The checks every query of a list route passes; at least one query must have run. */
function expectIndexed(plans: Array<{ sql: string; plan: string }>, opts: { seeks?: boolean } = {}) {
  expect(plans.length).toBeGreaterThan(0);
  for (const { sql, plan } of plans) {
    const context = `${sql}\n→ ${plan}`;
    expect(plan, context).not.toMatch(/SCAN documents|USE TEMP B-TREE/);
    if (/json_extract/.test(sql)) expect(plan, context).toMatch(/USING (COVERING )?INDEX documents_ix_/);
  }
  // A next page starts at its cursor: the scan is bounded by the first ordered field, not read from the top.
  if (opts.seeks) {
    expect(
      plans.some(({ plan }) => /<expr>[<>]=?\?/.test(plan)),
      plans.map((p) => p.plan).join('\n'),
    ).toBe(true);
  }
}

describe('list routes read through indexes (issue 9: the executions list was O(N))', () => {
  let t: TestRuntime;
  const get = async (path: string) => {
    const res = await fetch(`${t.url}/api${path}`);
    expect(res.status, path).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  };
  const post = async (path: string, body: unknown) =>
    fetch(`${t.url}/api${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const exec = `/executions/workspaces/${WS}`;
  const uc = `/useCases/workspaces/${WS}`;
  let useCaseId = '';
  let executionId = '';
  let startedAt = 0;

  beforeAll(async () => {
    watchQueries();
    // Without their cron schedules: a sweep that ran while a route was called would have its queries
    // counted as the route's (the recovery sweep's one-time backfill, say). The sweeps are called below.
    t = await startTestRuntime(orchestrators.map((o) => ({ ...o, schedules: {} })));
    const useCase = {
      id: 'pair',
      name: 'pair',
      vertical: 'test',
      workflow: {
        steps: [
          {
            id: 'a',
            agent: 'transform',
            inputs: { v: 'input.v' },
            output: 'x',
            config: { expression: 'v + 1' },
          },
          { id: 'b', agent: 'transform', inputs: { x: 'x' }, output: 'y', config: { expression: 'x + 1' } },
        ],
      },
    };
    expect((await post(`${uc}/use-cases`, useCase)).status).toBe(201);
    expect((await post(`${uc}/use-cases`, { ...useCase, id: 'pair2' })).status).toBe(201);
    useCaseId = useCase.id;
    startedAt = Date.now() - 1;
    for (let i = 0; i < 3; i++) {
      const res = await post(`${exec}/executions`, { useCaseId, input: { v: i } });
      expect(res.status).toBe(202);
      executionId = ((await res.json()) as { id: string }).id;
    }
    await drainQueues(t.runtime);
  });
  afterAll(async () => {
    await t?.dispose();
    vi.restoreAllMocks();
  });

  /** A first page of one, then the page after it. */
  async function bothPages(path: string, key: string) {
    const sep = path.includes('?') ? '&' : '?';
    const first = await plansOf(() => get(`${path}${sep}limit=1`));
    let cursor = '';
    await plansOf(async () => {
      cursor = String((await get(`${path}${sep}limit=1`)).nextCursor ?? '');
    });
    expect(cursor, `${path} has a second page`).not.toBe('');
    const next = await plansOf(async () => {
      const page = await get(`${path}${sep}limit=1&cursor=${encodeURIComponent(cursor)}`);
      expect((page[key] as unknown[]).length).toBe(1);
    });
    return { first, next };
  }

  it.each([
    ['no filter', ''],
    ['status', '?status=succeeded'],
    ['use case', '?useCase=pair'],
    ['use case and status', '?useCase=pair&status=succeeded'],
    ['updatedAfter (polling)', '?updatedAfter=START'],
    ['status and updatedAfter', '?status=succeeded&updatedAfter=START'],
    ['use case and updatedAfter', '?useCase=pair&updatedAfter=START'],
    ['use case, status and updatedAfter', '?useCase=pair&status=succeeded&updatedAfter=START'],
  ])('the executions list filtered by %s uses an index on its first and next pages', async (_, query) => {
    const { first, next } = await bothPages(
      `${exec}/executions${query.replace('START', String(startedAt))}`,
      'executions',
    );
    expectIndexed(first);
    expectIndexed(next, { seeks: true });
  });

  it('the use cases list uses an index on its first and next pages', async () => {
    const { first, next } = await bothPages(`${uc}/use-cases`, 'useCases');
    expectIndexed(first);
    expectIndexed(next, { seeks: true });
  });

  it("an execution's checkpoints, timeline and current state use an index", async () => {
    const { first, next } = await bothPages(`${exec}/executions/${executionId}/checkpoints`, 'checkpoints');
    expectIndexed(first);
    expectIndexed(next, { seeks: true });
    expectIndexed(await plansOf(() => get(`${exec}/executions/${executionId}/timeline`)));
  });

  it('pool stats and decisions, workspaces, members and people use an index or their collection', async () => {
    for (const path of [
      '/pool/stats',
      '/pool/decisions',
      '/workspaces',
      `/workspaces/${WS}/members`,
      '/system/users',
    ])
      expectIndexed(await plansOf(() => get(path)));
  });

  it("the minute sweeps' queries (recovery, admission counts, expiry) use an index", async () => {
    const engine = new ExecutionEngine(createAgentRegistry(builtinAgents));
    const ctx = { ...t.runtime.ports, correlationId: 'plans' };
    await t.runtime.documents.set('workspaces/plans', { name: 'plans' });
    // The first run also makes the one-time pass over executions stored before the recovery index,
    // which walks the group in path order, a page a run, until it is done: measure the runs after it.
    await recoverStalled(ctx, engine);
    expectIndexed(await plansOf(() => recoverStalled(ctx, engine)));
    expectIndexed(await plansOf(() => cleanupExpired(ctx)));
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import system from '../orchestrators/system/index.js';
import { poolOf } from '../platform/pool/store.js';
import { cli } from '../test-support/cli.js';
import { startTestRuntime, type TestRuntime } from '../test-support/embedded.js';

describe('seraphim CLI', () => {
  let t: TestRuntime;
  beforeAll(async () => {
    t = await startTestRuntime([system]);
  });
  afterAll(() => t.dispose());

  it('status prints health and queues, exit 0', async () => {
    const r = await cli(['status', '--url', t.url]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('OK (embedded runtime');
    expect(r.out).toMatch(/system-ping\s+0\s+0/);
  });

  it('status --json is machine-readable', async () => {
    const r = await cli(['status', '--url', t.url, '--json']);
    expect(r.code).toBe(0);
    const parsed = JSON.parse(r.out) as { health: { status: string }; queues: unknown[] };
    expect(parsed.health.status).toBe('ok');
    expect(parsed.queues).toHaveLength(2);
  });

  it('exits 3 with a hint when the runtime is unreachable', async () => {
    const r = await cli(['status', '--url', 'http://127.0.0.1:1']);
    expect(r.code).toBe(3);
    expect(r.err).toContain('npm start');
  });

  it.each([
    [['bogus'], 2, 'Unknown command'],
    [['status', '--nope'], 2, 'Usage: seraphim status'],
    [['serve', '--port', 'x'], 2, '--port must be a port number'],
    [[], 2, 'Usage: seraphim <command>'],
  ])('usage errors exit 2: %j', async (args, code, text) => {
    const r = await cli(args);
    expect(r.code).toBe(code);
    expect(r.out + r.err).toContain(text);
  });

  it('--help lists the commands and exits 0', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/status\s+Health of a running runtime/);
    expect(r.out).toMatch(/pool\s+Resource pool/);
    expect((await cli(['status', '--help'])).code).toBe(0);
    const pool = await cli(['pool', '--help']);
    expect(pool.code).toBe(0);
    expect(pool.out).toContain('seraphim pool settings WORKSPACE [--weight N] [--budget N] [--cap N|none]');
    expect((await cli(['executions', '--help'])).out).toContain('seraphim executions reschedule ID STEP');
  });
});

describe('seraphim CLI defects (issue 8, item 13)', () => {
  // Nothing listens on port 1: a request that got out would exit 3, not 2.
  const nowhere = ['--url', 'http://127.0.0.1:1'];

  it('defect: diff --from x sent NaN and exited 4; now a usage error, exit 2, naming the option', async () => {
    const r = await cli(['executions', 'diff', 'E1', '--from', 'x', '--to', '2', ...nowhere]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--from must be a whole number/);
    expect((await cli(['executions', 'diff', 'E1', '--from', '0', '--to', '1.5', ...nowhere])).code).toBe(2);
  });

  it('defect: --url notaurl exited 3 (unreachable); now a usage error, exit 2, naming --url', async () => {
    for (const url of ['notaurl', 'ftp://127.0.0.1:4400', '']) {
      const r = await cli(['status', '--url', url]);
      expect(r.code, url).toBe(2);
      expect(r.err, url).toMatch(/--url must be an http\(s\) URL/);
    }
  });

  it('defect: under --json, errors were plain text; now one JSON object on stderr with the exit code', async () => {
    const unreachable = await cli(['executions', 'show', 'E1', '--json', ...nowhere]);
    expect(unreachable.code).toBe(3);
    expect(unreachable.out).toBe('');
    expect(JSON.parse(unreachable.err)).toMatchObject({ error: { exitCode: 3, code: 'unreachable' } });
    const usage = await cli(['executions', 'diff', 'E1', '--from', 'x', '--to', '1', '--json', ...nowhere]);
    expect(JSON.parse(usage.err)).toMatchObject({
      error: { exitCode: 2, message: expect.stringMatching(/--from/) },
    });
  });

  it("defect: a subcommand's --help printed the whole group without option descriptions", async () => {
    const r = await cli(['executions', 'diff', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('seraphim executions diff ID --from N --to M');
    expect(r.out).not.toContain('seraphim executions reschedule');
    expect(r.out).toMatch(/--from VALUE\s+diff, fork: the checkpoint to start from/);
    expect(r.out).toMatch(/--workspace VALUE\s+the workspace \(default demo\)/);
    // Every option of every command says what it does.
    for (const command of ['status', 'executions', 'pool', 'users', 'serve']) {
      const help = (await cli([command, '--help'])).out;
      const options = help
        .slice(help.indexOf('Options:'))
        .split('\n')
        .slice(1)
        .filter((l) => l.startsWith('  --'));
      expect(options.length, command).toBeGreaterThan(0);
      for (const line of options)
        expect(line, `${command}: ${line}`).toMatch(/^\s+--\S+(?: VALUE)?(?:, -\w)?\s{2,}\S/);
    }
  });
});

describe('seraphim executions', () => {
  let t: TestRuntime;
  beforeAll(async () => {
    const { default: executions, engine } = await import('../orchestrators/executions/index.js');
    const { seedExecutionsDemo } = await import('../orchestrators/executions/demo.js');
    t = await startTestRuntime([system, executions]);
    await seedExecutionsDemo({ ...t.runtime.ports, correlationId: 'cli' }, engine);
    await t.runtime.whenIdle();
  });
  afterAll(() => t.dispose());

  it('runs a use case, lists it, shows its timeline and diffs its checkpoints', async () => {
    const started = await cli([
      'executions',
      'run',
      'claims-triage',
      '--input',
      '{"claimId":"C-9","amount":50}',
      '--url',
      t.url,
      '--json',
    ]);
    expect(started.code).toBe(0);
    const { id } = JSON.parse(started.out) as { id: string };
    await t.runtime.whenIdle();
    const list = await cli(['executions', 'list', '--status', 'succeeded', '--url', t.url]);
    expect(list.code).toBe(0);
    expect(list.out, (await cli(['executions', 'show', id, '--url', t.url])).out).toContain(id);
    const timeline = await cli(['executions', 'timeline', id, '--url', t.url]);
    expect(timeline.out).toMatch(/check\s+succeeded\s+1/);
    const diff = await cli(['executions', 'diff', id, '--from', '1', '--to', '2', '--url', t.url]);
    expect(diff.out).toMatch(/added\s+risk/);
  });

  it('approves a step waiting for a person', async () => {
    const waiting = JSON.parse(
      (await cli(['executions', 'list', '--status', 'waiting', '--json', '--url', t.url])).out,
    ) as {
      executions: Array<{ id: string }>;
    };
    const id = waiting.executions[0]?.id as string;
    const approved = await cli(['executions', 'approve', id, 'review', '--comment', 'fine', '--url', t.url]);
    expect(approved.code).toBe(0);
    await t.runtime.whenIdle();
    expect((await cli(['executions', 'show', id, '--url', t.url])).out).toMatch(/SUCCEEDED/);
  });

  /** Runs a claim through the demo use case to its end, or to the step that waits for a person. */
  async function runClaim(input: { claimId: string; amount: number }): Promise<string> {
    const started = await cli([
      'executions',
      'run',
      'claims-triage',
      '--input',
      JSON.stringify(input),
      '--url',
      t.url,
      '--json',
    ]);
    await t.runtime.whenIdle();
    return (JSON.parse(started.out) as { id: string }).id;
  }

  it('lists the checkpoints of an execution, as a table or JSON, a page at a time', async () => {
    const id = await runClaim({ claimId: 'C-20', amount: 50 });
    const all = await cli(['executions', 'checkpoints', id, '--url', t.url]);
    expect(all.code).toBe(0);
    expect(all.out).toMatch(/^N\s+STEP\s+ATTEMPT\s+STATUS\s+AT$/m);
    expect(all.out).toMatch(/^1\s+check\s+1\s+succeeded\s+\d{4}-\d{2}-\d{2}T/m);
    expect(all.out).toMatch(/^2\s+score\s+1\s+succeeded/m);
    expect(all.out).not.toContain('more checkpoints follow');

    const first = await cli(['executions', 'checkpoints', id, '--limit', '2', '--url', t.url]);
    expect(first.out.split('\n')).toHaveLength(4); // header, two rows, the note
    expect(first.out).toContain('more checkpoints follow');
    const json = JSON.parse(
      (await cli(['executions', 'checkpoints', id, '--limit', '2', '--json', '--url', t.url])).out,
    ) as { checkpoints: Array<{ n: number; stepId: string }>; nextCursor?: string };
    expect(json.checkpoints.map((c) => `${c.n} ${c.stepId}`)).toEqual(['1 check', '2 score']);
    expect(json.nextCursor).toEqual(expect.any(String));
  });

  it('forks an execution from a checkpoint with edited input, then moves its decision deadline', async () => {
    const parent = await runClaim({ claimId: 'C-21', amount: 50 });
    const forked = await cli([
      'executions',
      'fork',
      parent,
      '--from',
      '1',
      '--input',
      '{"claimId":"C-21","amount":9000}',
      '--url',
      t.url,
    ]);
    expect(forked.code, forked.err).toBe(0);
    const id = forked.out.trim();
    expect(id).toMatch(/^[0-9A-Z]{26}$/);
    expect(id).not.toBe(parent);
    await t.runtime.whenIdle();
    const child = JSON.parse((await cli(['executions', 'show', id, '--json', '--url', t.url])).out) as {
      parentId: string;
      forkedFromCheckpoint: number;
      status: string;
    };
    // The larger amount scores as a risk: the fork waits for a person where its parent approved itself.
    expect(child).toMatchObject({ parentId: parent, forkedFromCheckpoint: 1, status: 'waiting' });

    const moved = await cli([
      'executions',
      'reschedule',
      id,
      'review',
      '--at',
      '2099-01-31T09:00:00Z',
      '--url',
      t.url,
    ]);
    expect(moved.code, moved.err).toBe(0);
    expect(moved.out).toContain('review: decision deadline 2099-01-31T09:00:00.000Z');
    const inMs = await cli([
      'executions',
      'reschedule',
      id,
      'review',
      '--at',
      '4102444800000',
      '--json',
      '--url',
      t.url,
    ]);
    expect(
      (JSON.parse(inMs.out) as { steps: Record<string, { resumeAt: number | null }> }).steps.review?.resumeAt,
    ).toBe(4102444800000);

    // A step that is not waiting has nothing to move: the API's reason, exit 4.
    const settled = await cli([
      'executions',
      'reschedule',
      id,
      'check',
      '--at',
      '4102444800000',
      '--url',
      t.url,
    ]);
    expect(settled.code).toBe(4);
    expect(settled.err).toContain('HTTP 409');
    expect(settled.err).toContain('only a waiting step can be rescheduled');
  });

  const someId = '01ARZ3NDEKTSV4RRFFQ69G5FAV';
  it.each([
    [['executions', 'explode'], 2, 'Unknown executions action'],
    [['executions', 'show'], 2, 'needs an execution id'],
    [['executions', 'run', 'claims-triage', '--input', '{bad'], 2, '--input must be JSON'],
    [['executions', 'show', 'not-an-id'], 4, 'HTTP 400'],
    [['executions', 'checkpoints', someId, '--limit', '0'], 2, '--limit must be a whole number, 1 to 200'],
    [['executions', 'checkpoints', someId], 4, 'HTTP 404'],
    [['executions', 'fork', someId], 2, 'fork needs --from'],
    [['executions', 'fork', someId, '--from', 'start'], 2, '--from must be a whole number'],
    [['executions', 'fork', someId, '--from', '1', '--input', '{bad'], 2, '--input must be JSON'],
    [['executions', 'reschedule', someId], 2, 'reschedule needs a step id'],
    [['executions', 'reschedule', someId, 'review'], 2, 'reschedule needs --at'],
    [['executions', 'reschedule', someId, 'review', '--at', 'tomorrow'], 2, '--at must be an ISO 8601'],
    [['executions', 'reschedule', someId, 'review', '--at', '2030-02-30T09:00:00Z'], 2, '--at must be'],
    [['executions', 'reschedule', someId, 'review', '--at', '0'], 2, '--at must be'],
  ])('refuses %j with exit %i', async (args, code, text) => {
    const r = await cli([...args, '--url', t.url]);
    expect(r.code).toBe(code);
    expect(r.err).toContain(text);
  });
});

describe('seraphim pool', () => {
  let t: TestRuntime;
  let normalQueue: string;
  beforeAll(async () => {
    const { default: executions, engine } = await import('../orchestrators/executions/index.js');
    const { seedExecutionsDemo } = await import('../orchestrators/executions/demo.js');
    const { STEP_QUEUE_LIMITS, stepQueue } = await import('../orchestrators/executions/queues.js');
    const { default: poolOrchestrator } = await import('../orchestrators/pool/index.js');
    t = await startTestRuntime([system, executions, poolOrchestrator]);
    const ctx = { ...t.runtime.ports, correlationId: 'cli' };
    await t.runtime.ports.documents.create('workspaces/demo', {});
    await seedExecutionsDemo(ctx, engine);
    await t.runtime.whenIdle();
    // An upstream's 429 halves both an agent kind's limit and its step queue's: one decision of each.
    normalQueue = stepQueue('normal');
    const tooMany = { latencyMs: 100, rateLimited: true };
    const pool = poolOf(ctx);
    await pool.observe(ctx, 'llm', tooMany);
    await pool.observeQueue(ctx, normalQueue, STEP_QUEUE_LIMITS.normal, tooMany);
  });
  afterAll(() => t.dispose());

  it('stats shows utilisation, limits, throttling, queues, waits per priority and workspace shares', async () => {
    const r = await cli(['pool', 'stats', '--url', t.url]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^Utilisation: 0 of 32 steps running \(0%\)$/m);
    expect(r.out).toMatch(/^Limits in force: 32 global, 16 per use case; per agent kind: llm 4, http 16/m);
    expect(r.out).toMatch(/^Throttled: \d+ in the last minute, \d+ in the last hour; in all: /m);
    expect(r.out).toMatch(new RegExp(`^${normalQueue}\\s+0\\s+0$`, 'm'));
    expect(r.out).toMatch(/^normal\s+\d+(\.\d)? m?s\s+\d+(\.\d)? m?s\s+[1-9]\d*$/m);
    expect(r.out).toMatch(/^demo\s+\d+\s+1\s+\d+\s+none\s+\d+\s+1000$/m);
    const json = JSON.parse((await cli(['pool', 'stats', '--json', '--url', t.url])).out) as {
      workspaces: Array<{ workspace: string; maxConcurrent: number | null }>;
      waits: Record<string, { samples: number }>;
    };
    expect(json.workspaces).toContainEqual(
      expect.objectContaining({ workspace: 'demo', maxConcurrent: null }),
    );
    expect(json.waits.normal?.samples).toBeGreaterThan(0);
  });

  it('decisions shows each auto-scaling change, newest first, and the limits now', async () => {
    const r = await cli(['pool', 'decisions', '--url', t.url]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^Agent kind limits now: llm 4, http 16/m);
    expect(r.out).toContain(`${normalQueue} 50%`);
    expect(r.out).toMatch(/^AT\s+FOR\s+CHANGE\s+REASON$/m);
    expect(r.out).toMatch(/^\d{4}-\S+Z\s+agent kind llm\s+8 → 4\s+upstream answered 429$/m);
    expect(r.out).toMatch(
      new RegExp(`^\\S+Z\\s+queue ${normalQueue}\\s+100% → 50%\\s+upstream answered 429$`, 'm'),
    );
    const newest = JSON.parse(
      (await cli(['pool', 'decisions', '--limit', '1', '--json', '--url', t.url])).out,
    ) as {
      decisions: Array<{ queue?: string; from: number; to: number }>;
    };
    expect(newest.decisions).toEqual([expect.objectContaining({ queue: normalQueue, from: 10, to: 5 })]);
  });

  it('settings shows a workspace’s, and changes only the ones its flags name', async () => {
    const show = (extra: string[] = []) => cli(['pool', 'settings', 'demo', ...extra, '--url', t.url]);
    expect((await show()).out).toBe('demo: weight 1, queue budget 1000, cap none');
    expect((await show(['--weight', '2', '--cap', '3'])).out).toBe(
      'demo: weight 2, queue budget 1000, cap 3',
    );
    expect((await show(['--budget', '50'])).out).toBe('demo: weight 2, queue budget 50, cap 3');
    expect((await cli(['pool', 'stats', '--url', t.url])).out).toMatch(
      /^demo\s+\d+\s+2\s+\d+\s+3\s+3\s+50$/m,
    );
    expect((await show(['--cap', 'none'])).out).toBe('demo: weight 2, queue budget 50, cap none');
    expect(JSON.parse((await show(['--json'])).out)).toEqual({ weight: 2, queueBudget: 50 });
  });

  it.each([
    [['pool'], 2, 'Unknown pool action'],
    [['pool', 'settings'], 2, 'settings needs a workspace'],
    [['pool', 'settings', 'demo', '--weight', 'heavy'], 2, '--weight must be a number'],
    [['pool', 'settings', 'demo', '--budget', '0'], 2, '--budget: Too small'],
    [['pool', 'settings', 'demo', '--cap', '2.5'], 2, '--cap: '],
    [['pool', 'decisions', '--limit', '500'], 2, '--limit must be a whole number, 1 to 200'],
    [['pool', 'settings', 'nowhere', '--weight', '2'], 4, 'HTTP 404'],
  ])('refuses %j with exit %i', async (args, code, text) => {
    const r = await cli([...args, '--url', t.url]);
    expect(r.code).toBe(code);
    expect(r.err).toContain(text);
  });

  it('exits 3 when the runtime is unreachable', async () => {
    expect((await cli(['pool', 'stats', '--url', 'http://127.0.0.1:1'])).code).toBe(3);
  });
});

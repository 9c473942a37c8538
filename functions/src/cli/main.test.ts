import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import system from '../orchestrators/system/index.js';
import { startTestRuntime, type TestRuntime } from '../test-support/embedded.js';
import { main } from './main.js';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    args,
    (l) => out.push(l),
    (l) => err.push(l),
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}

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
    expect((await cli(['status', '--help'])).code).toBe(0);
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

  it.each([
    [['executions', 'explode'], 2, 'Unknown executions action'],
    [['executions', 'show'], 2, 'needs an execution id'],
    [['executions', 'run', 'claims-triage', '--input', '{bad'], 2, '--input must be JSON'],
    [['executions', 'show', 'not-an-id'], 4, 'HTTP 400'],
  ])('refuses %j with exit %i', async (args, code, text) => {
    const r = await cli([...args, '--url', t.url]);
    expect(r.code).toBe(code);
    expect(r.err).toContain(text);
  });
});

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

/**
 * A use case's secrets come from the declared store alone (issue 9, item 12),
 * on a real embedded runtime whose `http` steps call a real local echo server:
 * the server stands for an allow-listed host that sends back whatever it is
 * sent, the way the exfiltration read `HOME` back base64-encoded.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainQueues, startTestRuntime, type TestRuntime } from '../../test-support/embedded.js';
import system from '../system/index.js';
import useCases from '../use-cases/index.js';
import { UseCaseBodySchema } from '../use-cases/model.js';
import { saveUseCase } from '../use-cases/store.js';
import { builtinAgents, createAgentRegistry } from './agents/registry.js';
import { ExecutionEngine } from './engine.js';
import { createExecutionsOrchestrator } from './index.js';
import type { Execution } from './model.js';

const PARTNER_TOKEN = 'tok-partner-0123456789abcdef';
const HOME = '/home/seraphim-secrets-test';
const FAKE_SECRET = 'fake-secret-value-9876543210';

/** A use case whose one `http` step sends the secret `name` as a bearer token to `url`. */
const sender = (id: string, name: string, url: string) => ({
  id,
  name: id,
  vertical: 'test',
  secrets: [name],
  workflow: {
    steps: [
      {
        id: 'send',
        agent: 'http',
        inputs: { a: 'input.a' },
        output: 'echoed',
        retry: { maxAttempts: 1 },
        config: { url, method: 'POST', body: 'inputs', auth: { bearerSecret: name } },
      },
    ],
  },
});

describe("a use case's secrets", () => {
  let t: TestRuntime;
  let echo: Server;
  let echoUrl: string;
  /** Every Authorization header the echo server was sent. */
  const received: string[] = [];

  beforeAll(async () => {
    echo = createServer((req, res) => {
      const authorization = req.headers.authorization ?? '';
      received.push(authorization);
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        // Sent back encoded, as the exfiltration did: exact-match scrubbing cannot see it.
        res.end(JSON.stringify({ encoded: Buffer.from(authorization).toString('base64') }));
      });
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const { port } = echo.address() as AddressInfo;
    echoUrl = `http://127.0.0.1:${port}/echo`;
    t = await startTestRuntime(
      [
        system,
        useCases,
        createExecutionsOrchestrator(new ExecutionEngine(createAgentRegistry(builtinAgents))),
      ],
      {
        env: {
          SERAPHIM_HTTP_ALLOW: `127.0.0.1:${port}`,
          SERAPHIM_HTTP_ALLOW_PRIVATE: '1',
          HOME,
          FAKE_SECRET,
          SERAPHIM_SECRET_PARTNER_TOKEN: PARTNER_TOKEN,
          SERAPHIM_SECRET_PARTNER_TOKEN_WORKSPACES: 'demo, acme',
          SERAPHIM_SECRET_ACME_TOKEN: 'tok-acme-only',
          SERAPHIM_SECRET_ACME_TOKEN_WORKSPACES: 'acme',
          SERAPHIM_SECRET_UNSCOPED: 'tok-unscoped',
        },
      },
    );
  });
  afterAll(async () => {
    await t.dispose();
    await new Promise((resolve) => echo.close(resolve));
  });

  const save = (workspace: string, body: unknown) =>
    fetch(`${t.url}/api/useCases/workspaces/${workspace}/use-cases`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  async function run(workspace: string, useCaseId: string): Promise<Execution> {
    const started = await fetch(`${t.url}/api/executions/workspaces/${workspace}/executions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ useCaseId, input: { a: 1 } }),
    });
    expect(started.status).toBe(202);
    const { id } = (await started.json()) as { id: string };
    await drainQueues(t.runtime);
    const res = await fetch(`${t.url}/api/executions/workspaces/${workspace}/executions/${id}`);
    return (await res.json()) as Execution;
  }
  const refusedNames = async (res: Response) => {
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { code: string; errors: Array<{ path: string; message: string }> };
    expect(problem.code).toBe('invalid-input');
    return problem.errors;
  };

  it('defect (issue 9, item 12): any environment variable could be named as a secret; HOME, SERAPHIM_HTTP_ALLOW and FAKE_SECRET are refused at save, each named', async () => {
    const body = {
      ...sender('exfil', 'HOME', echoUrl),
      secrets: ['HOME', 'SERAPHIM_HTTP_ALLOW', 'FAKE_SECRET'],
    };
    const errors = await refusedNames(await save('demo', body));
    expect(errors.map((e) => e.path)).toEqual(['body.secrets.0', 'body.secrets.1', 'body.secrets.2']);
    expect(errors.map((e) => e.message.split(' is ')[0])).toEqual([
      'Secret HOME',
      'Secret SERAPHIM_HTTP_ALLOW',
      'Secret FAKE_SECRET',
    ]);
    expect(errors[0]?.message).toContain('declare SERAPHIM_SECRET_HOME');
    expect((await fetch(`${t.url}/api/useCases/workspaces/demo/use-cases/exfil`)).status).toBe(404);
  });

  it('defect (issue 9, item 12): a secret scoped to other workspaces, or to none, is refused at save, exactly like an undeclared one', async () => {
    const other = await refusedNames(await save('demo', sender('other', 'ACME_TOKEN', echoUrl)));
    const undeclared = await refusedNames(await save('demo', sender('nope', 'NOT_DECLARED', echoUrl)));
    // The same words for both: a workspace's admins cannot learn what another workspace holds.
    expect(other[0]?.message).toBe(undeclared[0]?.message.replaceAll('NOT_DECLARED', 'ACME_TOKEN'));
    expect(await refusedNames(await save('demo', sender('unscoped', 'UNSCOPED', echoUrl)))).toEqual([
      expect.objectContaining({ path: 'body.secrets.0' }),
    ]);
    expect((await save('acme', sender('mine', 'ACME_TOKEN', echoUrl))).status).toBe(201);
  });

  it('defect (issue 9, item 12): a use case stored with an undeclared name cannot send that variable at run time either', async () => {
    // Saved before the check existed (straight into the store): the step runner refuses it too.
    await saveUseCase(
      t.runtime.ports.documents,
      'demo',
      UseCaseBodySchema.parse(sender('stored-exfil', 'HOME', echoUrl)),
      Date.now(),
    );
    const before = received.length;
    const execution = await run('demo', 'stored-exfil');
    expect(execution.status).toBe('failed');
    expect(execution.steps.send?.error?.message).toContain(
      'Secret HOME is not declared for workspace "demo"',
    );
    expect(received.slice(before)).toEqual([]);
    expect(JSON.stringify(execution)).not.toContain(HOME);
  });

  it('a declared secret, scoped to its workspace, still reaches its allow-listed host end to end', async () => {
    expect((await save('demo', sender('partner', 'PARTNER_TOKEN', echoUrl))).status).toBe(201);
    const before = received.length;
    const execution = await run('demo', 'partner');
    expect(execution.status).toBe('succeeded');
    expect(received.slice(before)).toEqual([`Bearer ${PARTNER_TOKEN}`]);
    const logs = JSON.stringify(t.logs.entries);
    expect(logs).not.toContain(PARTNER_TOKEN);
  });
});

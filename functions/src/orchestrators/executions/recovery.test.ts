/**
 * Kill and restart: the runtime runs as a child process, is SIGKILLed in the
 * middle of a batch of executions, and started again on the same data. Every
 * accepted execution must complete, with one recorded effect per step.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executionsApi } from '../../test-support/embedded.js';
import { type RuntimeProcess, startRuntimeProcess } from '../../test-support/runtime-process.js';
import type { Execution } from './model.js';

const BATCH = 30;

describe('executions survive a SIGKILL of the runtime', () => {
  let upstream: Server;
  let port = 0;
  let requests = 0;
  let dataDir: string;

  beforeAll(async () => {
    // A slow upstream: each step's http call takes 300 ms, so a batch is mid-flight when we kill.
    upstream = createServer((_req, res) => {
      requests++;
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: true }));
      }, 300);
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    port = (upstream.address() as AddressInfo).port;
    dataDir = mkdtempSync(join(tmpdir(), 'seraphim-kill-'));
  });
  afterAll(async () => {
    await new Promise((resolve) => upstream.close(resolve));
    rmSync(dataDir, { recursive: true, force: true });
  });

  const env = () => ({ SERAPHIM_HTTP_ALLOW: `127.0.0.1:${port}`, SERAPHIM_HTTP_ALLOW_PRIVATE: '1' });

  it('completes every accepted execution after a kill and restart, without duplicated effects', async () => {
    let runtime: RuntimeProcess = await startRuntimeProcess({ dataDir, env: env(), args: ['--no-demo'] });
    const api = executionsApi(() => runtime.url, 'ops');
    const useCase = await api('/use-cases', {
      id: 'enrich',
      name: 'Enrich',
      vertical: 'test',
      workflow: {
        steps: [
          {
            id: 'lookup',
            agent: 'http',
            inputs: { n: 'input.n' },
            output: 'looked',
            config: { url: `http://127.0.0.1:${port}/lookup?n={{n}}` },
          },
          {
            id: 'shape',
            agent: 'transform',
            inputs: { r: 'looked' },
            output: 'shaped',
            config: { expression: 'r.body' },
          },
        ],
      },
    });
    expect(useCase.status, await useCase.clone().text()).toBe(201);
    const ids = await Promise.all(
      Array.from({ length: BATCH }, async (_, n) => {
        const res = await api('/executions', { useCaseId: 'enrich', input: { n } });
        expect(res.status).toBe(202);
        return ((await res.json()) as { id: string }).id;
      }),
    );
    // Kill it mid-batch: some steps done, some in flight, some still queued.
    while (requests < 5) await new Promise((r) => setTimeout(r, 5));
    expect(await runtime.stop('SIGKILL')).toBeNull();
    const atKill = requests;
    expect(atKill).toBeLessThan(BATCH); // most lookups had not happened yet

    runtime = await startRuntimeProcess({ dataDir, env: env(), args: ['--no-demo'] });
    try {
      let executions: Execution[] = [];
      await expect
        .poll(
          async () => {
            executions = await Promise.all(
              ids.map(async (id) => (await (await api(`/executions/${id}`)).json()) as Execution),
            );
            return executions.map((e) => e.status);
          },
          { timeout: 30_000, interval: 100 },
        )
        .toEqual(ids.map(() => 'succeeded'));
      // The dead process's leases were swept back at start-up rather than left to time out.
      expect(runtime.output()).toMatch(/Recovered expired task leases/);
      for (const e of executions) {
        expect(e.context.shaped).toEqual({ ok: true });
        // One checkpoint per step: the recorded effect happened exactly once.
        const timeline = (await (await api(`/executions/${e.id}/timeline`)).json()) as {
          timeline: Array<{ stepId: string; checkpoints: number[] }>;
        };
        expect(timeline.timeline.map((s) => [s.stepId, s.checkpoints.length])).toEqual([
          ['lookup', 1],
          ['shape', 1],
        ]);
      }
      // At least once, not exactly once: an upstream call in flight at the kill may be repeated.
      expect(requests).toBeGreaterThanOrEqual(BATCH);
      expect(requests).toBeLessThanOrEqual(BATCH + 16);
    } finally {
      await runtime.stop('SIGTERM');
    }
  }, 60_000);
});

/** An embedded runtime with its HTTP server, in this process, for integration tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Env } from '../platform/config.js';
import { createLogger, MemorySink } from '../platform/logger.js';
import type { Orchestrator } from '../platform/orchestrator.js';
import { EmbeddedRuntime } from '../runtimes/embedded/runtime.js';
import { type RunningServer, startHttpServer } from '../runtimes/embedded/server.js';

export interface TestRuntime {
  runtime: EmbeddedRuntime;
  http: RunningServer;
  url: string;
  dataDir: string;
  /** Every log entry the runtime wrote. */
  logs: MemorySink;
  /** Stops both; the data folder stays until `dispose`. */
  stop(): Promise<void>;
  dispose(): Promise<void>;
}

export async function startTestRuntime(
  orchestrators: readonly Orchestrator[],
  opts: { dataDir?: string; logs?: MemorySink; env?: Env; auth?: 'local' | 'session' } = {},
): Promise<TestRuntime> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'seraphim-test-'));
  const logs = opts.logs ?? new MemorySink();
  const runtime = new EmbeddedRuntime({
    orchestrators,
    dataDir,
    version: 'test',
    ...(opts.env ? { env: opts.env } : {}),
    logger: createLogger({ sink: logs }),
    ...(opts.auth ? { auth: opts.auth } : {}),
  });
  runtime.start();
  const http = await startHttpServer({
    api: runtime.api,
    ports: runtime.ports,
    rawHandlers: runtime.rawHandlers,
    staticDir: undefined,
    host: '127.0.0.1',
    port: 0,
  });
  runtime.people.baseUrl = http.url;
  const stop = async () => {
    await http.close();
    await runtime.stop();
  };
  return {
    runtime,
    http,
    url: http.url,
    dataDir,
    logs,
    stop,
    dispose: async () => {
      await stop();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Waits until every queue of the runtime is empty and idle: nothing waiting, due later or running. */
export async function drainQueues(runtime: EmbeddedRuntime): Promise<void> {
  for (;;) {
    await runtime.whenIdle();
    if ((await runtime.queue.list()).every((q) => q.depth === 0 && q.inFlight === 0)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** One workspace's executions API on a runtime: GET `path`, or POST `body` to it as JSON. */
export function executionsApi(baseUrl: () => string | undefined, workspace: string) {
  return (path: string, body?: unknown): Promise<Response> =>
    // Use cases moved to their own orchestrator; the executions tests still say `/use-cases`.
    fetch(
      `${baseUrl()}/api/${path.startsWith('/use-cases') ? 'useCases' : 'executions'}/workspaces/${workspace}${path}`,
      {
        method: body === undefined ? 'GET' : 'POST',
        headers: { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      },
    );
}

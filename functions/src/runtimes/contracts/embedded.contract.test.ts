/** Runs every port contract against the embedded runtime, on real SQLite files. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { createLogger, MemorySink } from '../../platform/logger.js';
import {
  defineOrchestrator,
  defineSubscription,
  defineTask,
  functionName,
} from '../../platform/orchestrator.js';
import { EmbeddedRuntime } from '../embedded/runtime.js';
import { describeDocumentStoreContract } from './documents.contract.js';
import { CONTRACT_MIN_BACKOFF_SECONDS, describeEventBusContract } from './events.contract.js';
import { describeTaskQueueContract } from './tasks.contract.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'seraphim-contract-'));
}

const quietLogger = () => createLogger({ sink: new MemorySink() });

async function settle(runtime: EmbeddedRuntime): Promise<void> {
  for (;;) {
    await runtime.whenIdle();
    const stats = await runtime.queue.list();
    if (stats.every((s) => s.depth === 0 && s.inFlight === 0)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

describeDocumentStoreContract('embedded SQLite', async () => {
  const dir = tempDir();
  const runtime = new EmbeddedRuntime({
    orchestrators: [],
    dataDir: dir,
    version: 'test',
    logger: quietLogger(),
  });
  return {
    store: runtime.ports.documents,
    teardown: async () => {
      await runtime.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describeEventBusContract('embedded topic log', async (subscriptions) => {
  const dir = tempDir();
  const events: Record<string, ReturnType<typeof defineSubscription>> = {};
  for (const sub of subscriptions) {
    events[sub.key] = defineSubscription({
      topic: sub.topic,
      data: z.unknown(),
      retry: {
        maxAttempts: sub.maxAttempts,
        minBackoffSeconds: CONTRACT_MIN_BACKOFF_SECONDS,
        maxBackoffSeconds: 0.05,
      },
      handler: async (event, ctx) => sub.handler(event, ctx.documents),
    });
  }
  const runtime = new EmbeddedRuntime({
    orchestrators: [defineOrchestrator({ name: 'contract', events })],
    dataDir: dir,
    version: 'test',
    logger: quietLogger(),
  });
  runtime.start();
  const rt = runtime;
  return {
    bus: rt.ports.events,
    documents: rt.ports.documents,
    settle: () => settle(rt),
    redeliverAll: async (key) => rt.bus.replay(functionName('contract', key), 0),
    deadLetters: async (key) => rt.queue.listDead(functionName('contract', key)),
    teardown: async () => {
      await rt.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describeTaskQueueContract('embedded task table', async (queues) => {
  const dir = tempDir();
  const tasks: Record<string, ReturnType<typeof defineTask>> = {};
  for (const q of queues) {
    tasks[q.key] = defineTask({
      payload: z.unknown(),
      ...(q.retry ? { retry: q.retry } : { retry: { minBackoffSeconds: 0.01 } }),
      ...(q.rateLimits ? { rateLimits: q.rateLimits } : {}),
      handler: async (payload, _ctx, info) => q.handler(payload, info),
    });
  }
  const runtime = new EmbeddedRuntime({
    orchestrators: [defineOrchestrator({ name: 'contract', tasks })],
    dataDir: dir,
    version: 'test',
    // The contract is that a queue keeps to the limits it runs with; on one machine those are the
    // machine's unless configured (queue-limits.ts): here, the declared ones, as on Cloud Tasks.
    env: { SERAPHIM_QUEUE_CONCURRENCY: 'declared', SERAPHIM_QUEUE_RATE: 'declared' },
    logger: quietLogger(),
  });
  runtime.start();
  return {
    tasks: runtime.ports.tasks,
    queueName: (key) => functionName('contract', key),
    settle: () => settle(runtime),
    deadLetters: async (key) => runtime.queue.listDead(functionName('contract', key)),
    now: () => Date.now(),
    teardown: async () => {
      await runtime.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

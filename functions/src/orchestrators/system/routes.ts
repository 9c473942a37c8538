import { z } from 'zod';
import { SERAPHIM_VERSION } from '../../platform/config.js';
import { errorMessage } from '../../platform/errors.js';
import { type Context, defineRoute, functionName, type Orchestrator } from '../../platform/orchestrator.js';
import {
  type Health,
  HealthSchema,
  InfoSchema,
  PING_TOPIC,
  PingParamsSchema,
  PingSchema,
  QueuesSchema,
} from './model.js';
import { createPing, getPing } from './store.js';

const startedAt = Math.round(performance.timeOrigin);

async function check(fn: () => Promise<unknown>): Promise<Health['checks'][string]> {
  const t0 = performance.now();
  try {
    await fn();
    return { status: 'ok', latencyMs: Math.round((performance.now() - t0) * 10) / 10 };
  } catch (error) {
    return { status: 'failing', detail: errorMessage(error) };
  }
}

/** Every orchestrator, loaded only when asked for, so `system-api` cold-starts with itself alone. */
async function allOrchestrators(): Promise<readonly Orchestrator[]> {
  return (await import('../registry.js')).orchestrators;
}

export const healthRoute = defineRoute({
  method: 'GET',
  path: '/health',
  summary: 'Runtime health: documents, kv and task queue reachability',
  access: 'public',
  response: HealthSchema,
  async handler(_req, ctx: Context): Promise<Health> {
    const probe = `system-health-${ctx.ids.next()}`;
    const checks = {
      documents: await check(() => ctx.documents.get('system/health')),
      kv: await check(async () => {
        await ctx.kv.set(probe, '1', { ttlMs: 10_000 });
        await ctx.kv.del(probe);
      }),
      tasks: await check(() => ctx.tasks.stats(functionName('system', 'ping'))),
    };
    const now = ctx.clock.now();
    return {
      status: Object.values(checks).every((c) => c.status === 'ok') ? 'ok' : 'degraded',
      runtime: ctx.runtime,
      version: SERAPHIM_VERSION,
      node: process.version,
      startedAt,
      uptimeMs: Math.max(0, now - startedAt),
      checks,
    };
  },
});

export const infoRoute = defineRoute({
  method: 'GET',
  path: '/info',
  access: 'signed-in',
  summary: 'Runtime, version and the orchestrators this deployment runs',
  response: InfoSchema,
  async handler(_req, ctx) {
    const all = await allOrchestrators();
    return {
      runtime: ctx.runtime,
      version: SERAPHIM_VERSION,
      node: process.version,
      orchestrators: all.map((o) => ({
        name: o.name,
        description: o.description,
        routes: o.routes.map((r) => `${r.method} /api/${o.name}${r.path}`),
        tasks: Object.keys(o.tasks),
        events: Object.entries(o.events).map(([k, e]) => `${k} ← ${e.topic}`),
        documents: Object.entries(o.documents).map(([k, d]) => `${k} ← ${d.document}`),
        schedules: Object.entries(o.schedules).map(([k, s]) => `${k} @ ${s.cron}`),
      })),
    };
  },
});

export const queuesRoute = defineRoute({
  method: 'GET',
  path: '/queues',
  access: 'signed-in',
  summary: 'Depth, in-flight, oldest age and dead letters of every task queue',
  response: QueuesSchema,
  async handler(_req, ctx) {
    const queues = await ctx.tasks.list();
    return { queues: queues.sort((a, b) => a.queue.localeCompare(b.queue)) };
  },
});

export const sendPingRoute = defineRoute({
  method: 'POST',
  path: '/pings',
  access: 'platform-admin',
  summary: 'Round trip through the event bus and the task queue; poll the ping to see both arrive',
  status: 202,
  body: z.object({}).strict().optional(),
  response: PingSchema,
  async handler(_req, ctx) {
    const id = ctx.ids.next();
    const eventId = await ctx.events.publish(
      PING_TOPIC,
      { pingId: id },
      { attributes: { correlationId: ctx.correlationId } },
    );
    const ping = await createPing(ctx.documents, {
      id,
      sentAt: ctx.clock.now(),
      eventId,
      eventReceivedAt: null,
      eventDeliveries: 0,
      taskReceivedAt: null,
    });
    await ctx.tasks.enqueue(functionName('system', 'ping'), { pingId: id }, { id: `ping-${id}` });
    return ping;
  },
});

export const getPingRoute = defineRoute({
  method: 'GET',
  path: '/pings/:id',
  access: 'platform-admin',
  summary: 'A ping and where it has arrived',
  params: PingParamsSchema,
  response: PingSchema,
  async handler(req, ctx) {
    return getPing(ctx.documents, req.params.id);
  },
});

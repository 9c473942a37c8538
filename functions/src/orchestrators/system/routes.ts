import { SERAPHIM_VERSION } from '../../platform/config.js';
import { errorMessage, NotFoundError } from '../../platform/errors.js';
import { type Context, functionName, implement } from '../../platform/orchestrator.js';
import { systemApi } from './api.js';
import { type Health, PING_TOPIC } from './model.js';
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

export const healthRoute = implement(systemApi.health, async (_req, ctx: Context): Promise<Health> => {
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
});

export const infoRoute = implement(systemApi.info, async (_req, ctx) => {
  return {
    runtime: ctx.runtime,
    version: SERAPHIM_VERSION,
    node: process.version,
    orchestrators: [...(await ctx.deployment())],
  };
});

export const queuesRoute = implement(systemApi.queues, async (_req, ctx) => {
  const queues = await ctx.tasks.list();
  return { queues: queues.sort((a, b) => a.queue.localeCompare(b.queue)) };
});

export const sendPingRoute = implement(systemApi.sendPing, async (_req, ctx) => {
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
});

export const getPingRoute = implement(systemApi.getPing, async (req, ctx) => {
  return getPing(ctx.documents, req.params.id);
});

export const getTraceRoute = implement(systemApi.trace, async (req, ctx) => {
  const spans = await ctx.tracer.read(req.params.traceId);
  if (spans === undefined) {
    throw new NotFoundError(
      `This runtime (${ctx.runtime}) sends its spans to Cloud Trace: look the trace up there`,
    );
  }
  if (spans.length === 0) throw new NotFoundError(`No spans of trace ${req.params.traceId} are kept here`);
  return { traceId: req.params.traceId, spans };
});

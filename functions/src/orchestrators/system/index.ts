/** The `system` orchestrator: health, runtime info, a ping that proves events and tasks end to end, sign-in and the platform's people. */
import { defineOrchestrator, defineSubscription, defineTask } from '../../platform/orchestrator.js';
import { PING_TOPIC, PingEventSchema, PingTaskSchema } from './model.js';
import { sessionRoutes, userRoutes } from './people.js';
import { getPingRoute, healthRoute, infoRoute, queuesRoute, sendPingRoute } from './routes.js';
import { recordPingEvent, recordPingTask } from './store.js';

export default defineOrchestrator({
  name: 'system',
  description: 'Health, runtime information and the ping round trip through events and tasks',
  routes: [healthRoute, infoRoute, queuesRoute, sendPingRoute, getPingRoute, ...sessionRoutes, ...userRoutes],
  events: {
    pingReceived: defineSubscription({
      topic: PING_TOPIC,
      data: PingEventSchema,
      retry: { maxAttempts: 5 },
      async handler(event, ctx) {
        await recordPingEvent(ctx.documents, event.data.pingId, ctx.clock.now());
      },
    }),
  },
  tasks: {
    ping: defineTask({
      payload: PingTaskSchema,
      retry: { maxAttempts: 3, minBackoffSeconds: 1 },
      rateLimits: { maxConcurrentDispatches: 5, maxDispatchesPerSecond: 50 },
      async handler(payload, ctx) {
        ctx.logger.info('ping task received', { pingId: payload.pingId });
        await recordPingTask(ctx.documents, payload.pingId, ctx.clock.now());
      },
    }),
  },
});

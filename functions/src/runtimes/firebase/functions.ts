/**
 * One orchestrator definition → one Cloud Functions group: `api` (onRequest),
 * a function per task queue (onTaskDispatched), per event subscription
 * (onMessagePublished), per document trigger (onDocumentWritten) and per
 * schedule (onSchedule). It mirrors the embedded runtime's wiring: the same
 * payload checks, contexts, retry policies and failure rules.
 *
 * Failures follow platform/errors.ts. A retryable error is rethrown so the
 * platform delivers the work again with backoff; a permanent one, or any
 * error on the last attempt, is written to `deadLetters/{id}` with its last
 * error and the handler returns, so poison work stops and stays visible. If
 * even the dead letter cannot be written, the original error is rethrown:
 * work is never dropped silently.
 *
 * Each handler below (and the `api` one in api.ts) is a plain exported
 * function, callable without its trigger, and the ports come from `deps`, so
 * tests need no cloud at all.
 */
import type { CloudEvent, CloudFunction } from 'firebase-functions/v2';
import {
  type DocumentSnapshot,
  type FirestoreEvent,
  onDocumentWritten,
} from 'firebase-functions/v2/firestore';
import { type HttpsFunction, onRequest } from 'firebase-functions/v2/https';
import { type MessagePublishedData, onMessagePublished } from 'firebase-functions/v2/pubsub';
import { onSchedule, type ScheduledEvent, type ScheduleOptions } from 'firebase-functions/v2/scheduler';
import { onTaskDispatched, type Request as TaskRequest } from 'firebase-functions/v2/tasks';
import { SERAPHIM_VERSION } from '../../platform/config.js';
import {
  DEFAULT_TASK_TIMEOUT_SECONDS,
  DELIVERY_TIMEOUT_SECONDS,
  deliveryRetry,
  type RetryPolicy,
  rateLimits,
  retryPolicy,
  SCHEDULE_ATTEMPTS,
  SCHEDULE_TIMEOUT_SECONDS,
} from '../../platform/delivery.js';
import { DeferError, errorMessage, PermanentError, RetryableError } from '../../platform/errors.js';
import { runTask } from '../../platform/flow-control.js';
import { DEFAULT_MAX_BODY_BYTES, type IdentityResolver } from '../../platform/http.js';
import {
  type Context,
  type DocumentTrigger,
  type EventSubscription,
  functionName,
  matchDocumentPattern,
  type Orchestrator,
  type ScheduleDefinition,
  type TaskDefinition,
} from '../../platform/orchestrator.js';
import type { DocumentChange, EventEnvelope, Ports, TaskInfo } from '../../platform/ports.js';
import { deferDelayMs, deferredTaskId, taskIdOfName, waitFallbackMs } from '../../platform/task-rules.js';
import { TRACEPARENT_ATTRIBUTE, traceDelivery, traceTaskAttempt } from '../../platform/tracing.js';
import { apiRequestHandler, firebaseIdTokenResolver, verifyWithFirebaseAuth } from './api.js';
import { NOT_BEFORE_HEADER } from './cloud-tasks.js';
import { runGuarded } from './dead-letters.js';
import { fromSnapshot } from './firestore-codec.js';
import { FUNCTION_SECRETS } from './params.js';
import { firebasePorts, REGION } from './ports.js';

export type CloudFunctionGroup = Record<string, HttpsFunction | CloudFunction<CloudEvent<unknown>>>;

export interface FirebaseDeps {
  /** Ports for the handlers. @default {@link firebasePorts}, made on the first invocation of this instance */
  ports?: () => Ports | Promise<Ports>;
  /** Resolve the caller of an API route, first match wins. @default a Firebase Auth ID token ({@link firebaseIdTokenResolver}) */
  resolvers?: readonly IdentityResolver[];
  /** Builds `/api/openapi.json`. @default every orchestrator in the registry, imported on the first request for it */
  openApi?: () => Promise<unknown>;
  /** @default 'us-central1' ({@link REGION}) */
  region?: string;
  /** @default 1 MiB */
  maxBodyBytes?: number;
}

type Resolved = Required<FirebaseDeps>;

function resolve(deps: FirebaseDeps): Resolved {
  return {
    ports: deps.ports ?? firebasePorts,
    resolvers: deps.resolvers ?? [firebaseIdTokenResolver(verifyWithFirebaseAuth)],
    openApi:
      deps.openApi ??
      (async () => {
        const [{ orchestrators }, { buildOpenApi }] = await Promise.all([
          import('../../orchestrators/registry.js'),
          import('../../platform/openapi.js'),
        ]);
        return buildOpenApi(orchestrators, { version: SERAPHIM_VERSION });
      }),
    region: deps.region ?? REGION,
    maxBodyBytes: deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
  };
}

/**
 * Memory, CPU and concurrency per kind of function (Cloud Functions 2nd gen:
 * one instance serves `concurrency` requests at once, which needs a whole
 * CPU). The API and steps wait on I/O mostly, so an instance takes many at
 * once; a step's agent may hold large values, so steps get more memory; a
 * schedule's sweep runs alone. Timeouts are set per function below: the
 * task's own, the delivery and schedule defaults of platform/delivery.ts.
 */
export const FUNCTION_SIZES = {
  api: { memory: '512MiB', cpu: 1, concurrency: 80, timeoutSeconds: 60 },
  task: { memory: '1GiB', cpu: 1, concurrency: 16 },
  event: { memory: '512MiB', cpu: 1, concurrency: 16 },
  schedule: { memory: '512MiB', cpu: 1, concurrency: 1 },
} as const;

/**
 * Builds the group. Synchronous, because the emulator's function workers
 * `require()` index.js, which Node refuses for a graph with top-level await;
 * so every trigger provider is imported up front. The Firestore one brings
 * the Firestore SDK in at cold start, which the documents port, used by
 * nearly every handler, would load on first use anyway.
 */
export function toCloudFunctions(o: Orchestrator, deps: FirebaseDeps = {}): CloudFunctionGroup {
  const d = resolve(deps);
  const common = { region: d.region, secrets: FUNCTION_SECRETS };
  // Authentication is the handler's job (ID tokens), so Hosting and browsers may reach it.
  const group: CloudFunctionGroup = {
    api: onRequest({ ...common, ...FUNCTION_SIZES.api, invoker: 'public' }, apiRequestHandler(o, d)),
  };
  for (const [key, task] of Object.entries(o.tasks)) {
    const retry = retryPolicy(task.retry);
    const limits = rateLimits(task.rateLimits);
    group[key] = onTaskDispatched(
      {
        ...common,
        ...FUNCTION_SIZES.task,
        retryConfig: {
          maxAttempts: retry.maxAttempts,
          minBackoffSeconds: retry.minBackoffSeconds,
          maxBackoffSeconds: retry.maxBackoffSeconds,
          maxDoublings: retry.maxDoublings,
        },
        rateLimits: {
          maxConcurrentDispatches: limits.maxConcurrentDispatches,
          maxDispatchesPerSecond: limits.maxDispatchesPerSecond,
        },
        timeoutSeconds: task.timeoutSeconds ?? DEFAULT_TASK_TIMEOUT_SECONDS,
      },
      taskHandler(o, key, task, d.ports),
    );
  }
  for (const [key, sub] of Object.entries(o.events)) {
    group[key] = onMessagePublished(
      {
        ...common,
        ...FUNCTION_SIZES.event,
        topic: sub.topic,
        retry: true,
        timeoutSeconds: DELIVERY_TIMEOUT_SECONDS,
      },
      eventHandler(o, key, sub, d.ports),
    );
  }
  for (const [key, trigger] of Object.entries(o.documents)) {
    group[key] = onDocumentWritten(
      {
        ...common,
        ...FUNCTION_SIZES.event,
        document: trigger.document,
        retry: true,
        timeoutSeconds: DELIVERY_TIMEOUT_SECONDS,
      },
      documentHandler(o, key, trigger, d.ports),
    );
  }
  for (const [key, schedule] of Object.entries(o.schedules)) {
    group[key] = onSchedule(
      {
        ...common,
        ...FUNCTION_SIZES.schedule,
        schedule: schedule.cron,
        timeZone: (schedule.timeZone ?? 'UTC') as ScheduleOptions['timeZone'],
        retryCount: SCHEDULE_ATTEMPTS - 1, // Cloud Scheduler counts retries, not attempts
        timeoutSeconds: SCHEDULE_TIMEOUT_SECONDS,
      },
      scheduleHandler(o, key, schedule, d.ports),
    );
  }
  return group;
}

// ---------------------------------------------------------------- groups

/** The group a function target belongs to: `system.api` and `system-api` both name `system`. */
export function targetGroup(target: string | undefined): string | undefined {
  return target ? target.split(/[.-]/)[0] : undefined;
}

/**
 * One export of index.ts: the group of orchestrator `name`, or an empty
 * object when this instance serves another group (`FUNCTION_TARGET`), in
 * which case `load` is never called and the orchestrator's code never loaded.
 */
export function cloudGroup(
  name: string,
  load: () => unknown,
  env: Record<string, string | undefined> = process.env,
  deps: FirebaseDeps = {},
): CloudFunctionGroup {
  const target = targetGroup(env.FUNCTION_TARGET);
  if (target !== undefined && target !== name) return {};
  const loaded = load();
  const orchestrator =
    typeof loaded === 'object' && loaded !== null && 'default' in loaded
      ? (loaded.default as Orchestrator)
      : undefined;
  if (orchestrator?.name !== name) {
    throw new Error(`index.ts group "${name}" must load the default export of orchestrator "${name}"`);
  }
  return toCloudFunctions(orchestrator, deps);
}

// ---------------------------------------------------------------- tasks

/** The parts of a Cloud Tasks dispatch the handler uses. */
export type TaskRequestLike = Pick<TaskRequest<unknown>, 'data' | 'id' | 'retryCount' | 'headers'>;

export function taskHandler(
  o: Orchestrator,
  key: string,
  task: TaskDefinition,
  ports: () => Ports | Promise<Ports>,
): (request: TaskRequestLike) => Promise<void> {
  const queue = functionName(o.name, key);
  const { maxAttempts } = retryPolicy(task.retry);
  return async (request) => {
    // retryCount is 0 on the first attempt; Cloud Tasks gives up after maxAttempts in all.
    const attempt = request.retryCount + 1;
    const traceparent = request.headers?.[TRACEPARENT_ATTRIBUTE];
    // The task's own id: Cloud Tasks' name for it carries a hash prefix (cloudTaskName).
    const id = taskIdOfName(request.id);
    const info: TaskInfo = { queue, id, attempt, maxAttempts, traceparent };
    const p = await ports();
    await traceTaskAttempt(p.tracer, info, () =>
      runGuarded(
        p,
        {
          kind: 'task',
          source: queue,
          workId: id,
          attempt,
          lastAttempt: attempt >= maxAttempts,
          payload: request.data,
          ref: null,
          fields: { queue, attempt },
        },
        async (ctx) => {
          const notBefore = Number(request.headers?.[NOT_BEFORE_HEADER] ?? Number.NaN);
          if (notBefore > ctx.clock.now()) {
            // Due later than Cloud Tasks can hold a task: the next link of the chain, not a run.
            const wait = new DeferError('Due later than Cloud Tasks holds a task', {
              delayMs: notBefore - ctx.clock.now(),
            });
            await deferTask(ctx, queue, { ...request, id }, wait);
            return;
          }
          const parsed = task.payload.safeParse(request.data);
          if (!parsed.success)
            throw new PermanentError(`Task payload for ${queue} is invalid: ${parsed.error.message}`);
          try {
            await runTask(
              task,
              { raw: request.data, parsed: parsed.data },
              ctx,
              info,
              (task.timeoutSeconds ?? DEFAULT_TASK_TIMEOUT_SECONDS) * 1000,
            );
          } catch (error) {
            if (!(error instanceof DeferError)) throw error;
            await deferTask(ctx, queue, { ...request, id }, error);
          }
        },
      ),
    );
  };
}

/**
 * A deferred task is not a failure, but Cloud Tasks can only retry a task
 * (spending an attempt) or forget it, so it is put back as a new task,
 * `<id>-d<n>`, scheduled after the deferral's delay, and this one succeeds.
 * Cloud Tasks cannot move it: a task waiting for a pool slot (`waiting`) is
 * enqueued again, now, by whoever frees the slot (flow-control.ts), and this
 * copy is only the late fallback; any other waits its whole delay. Should that
 * enqueue fail, the original is handed back for a retry, so it is never lost.
 */
async function deferTask(
  ctx: Context,
  queue: string,
  request: TaskRequestLike,
  deferral: DeferError,
): Promise<void> {
  const { id, deferrals } = deferredTaskId(request.id);
  // A copy that waits in a kv waiting list is enqueued by whoever frees its gate: its own time is a fallback.
  const delayMs = deferral.waiting
    ? Math.max(deferral.delayMs, waitFallbackMs(deferrals))
    : Math.max(deferral.delayMs, deferDelayMs(deferrals));
  let deduped: boolean;
  try {
    ({ deduped } = await ctx.tasks.enqueue(queue, request.data, {
      id,
      scheduleTime: ctx.clock.now() + delayMs,
    }));
  } catch (error) {
    throw new RetryableError(`Deferring task ${request.id} as ${id} failed: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  // Deduped: an earlier delivery of this task already deferred it, and its copy waits.
  ctx.logger.info('task deferred', {
    gate: deferral.gate,
    delayMs,
    deferredId: id,
    deferrals: deferrals + 1,
    deduped,
    reason: deferral.message,
  });
}

// ---------------------------------------------------------------- events and document changes

/**
 * Eventarc redelivers a failed event with its own backoff and does not say how
 * many times it has, so the attempt budget becomes a time budget: once an
 * event is older than maxAttempts × maxBackoff, this delivery is the last.
 */
export function isLastDelivery(eventTime: number, now: number, policy: Required<RetryPolicy>): boolean {
  return now - eventTime >= policy.maxAttempts * policy.maxBackoffSeconds * 1000;
}

export function toEventEnvelope(topic: string, data: MessagePublishedData<unknown>): EventEnvelope {
  const { message } = data;
  let json: unknown;
  try {
    json = message.json;
  } catch {
    throw new PermanentError(`Message ${message.messageId} on ${topic} is not JSON`);
  }
  const attempt = (data as { deliveryAttempt?: unknown }).deliveryAttempt;
  return {
    id: message.messageId,
    topic,
    data: json,
    attributes: message.attributes ?? {},
    orderingKey: message.orderingKey || undefined,
    publishTime: Date.parse(message.publishTime),
    deliveryAttempt: typeof attempt === 'number' && attempt > 0 ? attempt : 1,
  };
}

export function eventHandler(
  o: Orchestrator,
  key: string,
  sub: EventSubscription,
  ports: () => Ports | Promise<Ports>,
): (event: CloudEvent<MessagePublishedData<unknown>>) => Promise<void> {
  const name = functionName(o.name, key);
  const policy = deliveryRetry(sub.retry);
  return async (event) => {
    const p = await ports();
    const messageId = event.data.message.messageId;
    const publishTime = Date.parse(event.data.message.publishTime || event.time);
    const delivered = (event.data as { deliveryAttempt?: unknown }).deliveryAttempt;
    const delivery = {
      source: name,
      id: messageId,
      attempt: typeof delivered === 'number' ? delivered : 1,
      traceparent: event.data.message.attributes?.[TRACEPARENT_ATTRIBUTE],
    };
    await traceDelivery(p.tracer, delivery, () =>
      runGuarded(
        p,
        {
          kind: 'event',
          source: name,
          workId: messageId,
          attempt: typeof delivered === 'number' ? delivered : 1,
          lastAttempt:
            (typeof delivered === 'number' && delivered >= policy.maxAttempts) ||
            isLastDelivery(publishTime, p.clock.now(), policy),
          payload: event.data.message.data, // base64, as published: replayable as is
          ref: sub.topic,
          fields: { subscription: name },
        },
        async (ctx) => {
          const envelope = toEventEnvelope(sub.topic, event.data);
          const data = sub.data.safeParse(envelope.data);
          if (!data.success)
            throw new PermanentError(
              `Event ${envelope.id} on ${sub.topic} is invalid: ${data.error.message}`,
            );
          await sub.handler({ ...envelope, data: data.data }, ctx);
        },
      ),
    );
  };
}

type DocumentWrittenEvent = FirestoreEvent<
  { before: DocumentSnapshot; after: DocumentSnapshot } | undefined,
  Record<string, string>
>;

export function toDocumentChange(pattern: string, event: DocumentWrittenEvent): DocumentChange {
  const before = event.data ? fromSnapshot(event.data.before) : null;
  const after = event.data ? fromSnapshot(event.data.after) : null;
  const path = event.document || after?.path || before?.path || '';
  const params =
    event.params && Object.keys(event.params).length > 0 ? event.params : matchDocumentPattern(pattern, path);
  return { eventId: event.id, path, params: params ?? {}, before, after };
}

export function documentHandler(
  o: Orchestrator,
  key: string,
  trigger: DocumentTrigger,
  ports: () => Ports | Promise<Ports>,
): (event: DocumentWrittenEvent) => Promise<void> {
  const name = functionName(o.name, key);
  const policy = deliveryRetry(trigger.retry);
  return async (event) => {
    const p = await ports();
    const change = toDocumentChange(trigger.document, event);
    // Firestore carries no trace context: each change starts its own trace.
    const delivery = { source: name, id: event.id, attempt: 1, traceparent: undefined };
    await traceDelivery(p.tracer, delivery, () =>
      runGuarded(
        p,
        {
          kind: 'document',
          source: name,
          workId: event.id,
          attempt: 1,
          lastAttempt: isLastDelivery(Date.parse(event.time), p.clock.now(), policy),
          // A reference, not the snapshots: the document itself is the state to look at.
          payload: {
            path: change.path,
            before: change.before?.version ?? null,
            after: change.after?.version ?? null,
          },
          ref: change.path,
          fields: { trigger: name, path: change.path },
        },
        (ctx) => trigger.handler(change, ctx),
      ),
    );
  };
}

// ---------------------------------------------------------------- schedules

export function scheduleHandler(
  o: Orchestrator,
  key: string,
  schedule: ScheduleDefinition,
  ports: () => Ports | Promise<Ports>,
): (event: ScheduledEvent) => Promise<void> {
  const name = functionName(o.name, key);
  return async (event) => {
    const p = await ports();
    const parsed = Date.parse(event.scheduleTime);
    const scheduledTime = Number.isNaN(parsed) ? p.clock.now() : parsed;
    const firing = { queue: name, id: `${key}-${scheduledTime}`, attempt: 1 };
    await traceTaskAttempt(p.tracer, firing, () =>
      runGuarded(
        p,
        {
          kind: 'schedule',
          source: name,
          workId: `${key}-${scheduledTime}`,
          attempt: 1,
          lastAttempt: false, // Cloud Scheduler does not say; a missed firing is followed by the next one
          payload: { scheduledTime },
          ref: null,
          fields: { schedule: name },
        },
        (ctx) => schedule.handler(ctx, { scheduledTime }),
      ),
    );
  };
}

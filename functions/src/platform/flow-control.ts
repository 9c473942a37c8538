/**
 * The one wrapper that honours a task's declared flow control
 * (flow-declaration.ts) on both runtimes. Each runtime calls `runTask` where
 * it used to call the handler, and wraps its task queue in
 * `withDeclaredFairness`; handlers know nothing of the pool.
 *
 * Around each attempt: take a slot in every declared dimension (one atomic kv
 * operation), or defer on the first full one; run the handler; free the slots,
 * feeding the adaptive limits what the handler reported through
 * `task.reportUpstream`, and wake the next waiters (one more operation).
 *
 * Waiting, by runtime (`TaskQueue.deferral`):
 * - `park` (embedded): the queue keeps the deferred task on its gate, and a
 *   release calls `wake(gate)` for each freed dimension.
 * - `requeue` (Cloud Tasks): the refused attempt joins the refusing
 *   dimension's waiting list in kv, inside the same operation that refused it,
 *   as its next copy `<id>-d<n>`. The runtime schedules that copy only as a
 *   late fallback. A release pops the first waiter of each freed key in its
 *   own operation and enqueues it now, as `<id>-d<n>w`. Should the fallback
 *   copy come first, it leaves the list (claims itself) and runs; should it
 *   find itself already popped, it enqueues the woken copy (deduplicated by
 *   name, so a releaser that died is covered) and ends. Nothing polls.
 */
import { z } from 'zod';
import { rateLimits } from './delivery.js';
import { DeferError, errorMessage } from './errors.js';
import { type FlowControl, flowControlOf } from './flow-declaration.js';
import { type Context, functionName, type Orchestrator, type TaskDefinition } from './orchestrator.js';
import { poolOf } from './pool/store.js';
import type { EnqueueOptions, Ports, TaskInfo, TaskQueue, UpstreamObservation } from './ports.js';
import { PRIORITY_CLASSES } from './priority.js';
import { baseTaskId, deferredTaskId, isDeferredCopy, wokenTaskId } from './task-rules.js';

/** A lease outlives the attempt's timeout by this much before another holder may take its slot. */
const LEASE_MARGIN_MS = 60_000;

/** A waiter in a kv waiting list: the deferred copy to enqueue, whole (parsed on read: kv is stored data). */
const WaiterSchema = z.object({ q: z.string().min(1), id: z.string().min(1), p: z.unknown() });
type Waiter = z.infer<typeof WaiterSchema>;

/** The same string for the same copy: the fallback copy claims itself by it. */
function waiterMember(queue: string, id: string, payload: unknown): string {
  return JSON.stringify({ q: queue, id, p: payload } satisfies Waiter);
}

/** A task's payload as delivered (`raw`: what a copy of it is enqueued with) and as its schema parsed it. */
export interface TaskPayload<P> {
  raw: unknown;
  parsed: P;
}

/**
 * Runs one attempt of a task: through its declared flow control, or straight
 * to its handler when it declares none. Throws DeferError, having run
 * nothing, when a dimension is full.
 */
export async function runTask<P>(
  task: TaskDefinition<P>,
  { raw, parsed: payload }: TaskPayload<P>,
  ctx: Context,
  info: TaskInfo,
  timeoutMs: number,
): Promise<void> {
  if (task.flowControl === undefined) return task.handler(payload, ctx, info);
  const flow = flowControlOf(task.flowControl);
  const requeues = ctx.tasks.deferral === 'requeue';
  const pool = poolOf(ctx);
  const lease = await pool.acquire(ctx, {
    flow,
    payload: fields(payload),
    // Each copy holds its own: a redelivery of this copy gets its slots back, but two copies of one
    // task that both run (a woken one and a fallback) each need a slot, so neither overruns a limit.
    holder: `${info.queue}/${info.id}`,
    ttlMs: timeoutMs + LEASE_MARGIN_MS,
    queue: { name: info.queue, declared: rateLimits(task.rateLimits) },
    // Waiters carry the payload as delivered: a copy is enqueued with it and parsed again, as this was.
    ...(requeues
      ? {
          wait: {
            member: waiterMember(info.queue, deferredTaskId(info.id).id, raw),
            priority: PRIORITY_CLASSES.indexOf(task.priority ?? 'normal'),
          },
        }
      : {}),
    // Every delivery of a deferred copy: a retry of one that claimed itself before finds itself gone and
    // hands over to its woken copy, so a copy never runs beside the woken copy of the same wait.
    ...(requeues && isDeferredCopy(info.id) ? { claim: waiterMember(info.queue, info.id, raw) } : {}),
  });
  if (!lease.ok && 'unclaimed' in lease) {
    // A release woke this copy's wait already: its woken copy runs (enqueued again here, deduplicated by
    // name, in case the releaser died before it could).
    await ctx.tasks.enqueue(info.queue, raw, { id: wokenTaskId(info.id) });
    return;
  }
  if (!lease.ok) {
    // The dimensions before the full one had room: the refusal passed their wakes on.
    await Promise.all(lease.woken.map((member) => enqueueWoken(ctx, member)));
    throw new DeferError(`The pool is full (${lease.dimension}); the task waits for a slot`, {
      gate: lease.gate,
      delayMs: 0,
      waiting: requeues,
    });
  }
  let seen: UpstreamObservation | null = null;
  try {
    await task.handler(payload, ctx, {
      ...info,
      reportUpstream: (observation) => {
        seen = observation;
      },
    });
  } finally {
    await settle(ctx, info, () => lease.release(seen));
  }
}

/**
 * Frees the slots after the handler (and so after its commit). Bookkeeping
 * that fails here is logged, never thrown: a throw would fail a task whose
 * work is already committed, and have it retried. The leases it did not free
 * expire by themselves, and the waiters it did not wake have their fallbacks.
 */
async function settle(ctx: Context, info: TaskInfo, release: () => Promise<string[]>): Promise<void> {
  let woken: string[];
  try {
    woken = await release();
  } catch (error) {
    ctx.logger.warn('Freeing pool slots failed after the task was done; their leases expire by themselves', {
      queue: info.queue,
      taskId: info.id,
      error: errorMessage(error),
    });
    return;
  }
  await Promise.all(woken.map((member) => enqueueWoken(ctx, member)));
}

/** Enqueues a popped waiter now; a failure is logged, and its fallback copy covers it. */
async function enqueueWoken(ctx: Context, member: string): Promise<void> {
  let waiter: Waiter;
  try {
    waiter = WaiterSchema.parse(JSON.parse(member));
  } catch {
    ctx.logger.warn('Dropped an unreadable waiter; its fallback copy will run', {
      member: member.slice(0, 200),
    });
    return;
  }
  try {
    await ctx.tasks.enqueue(waiter.q, waiter.p, { id: wokenTaskId(waiter.id) });
  } catch (error) {
    ctx.logger.warn('Waking a waiting task failed; its fallback copy will run', {
      queue: waiter.q,
      id: waiter.id,
      error: errorMessage(error),
    });
  }
}

function fields(payload: unknown): Record<string, unknown> {
  return typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>) : {};
}

/**
 * A task queue that gives each task its declared fairness at enqueue: the
 * key from the payload's fairness field, and its workspace's weight and
 * share now, from the pool. An enqueue that names its own fairness keeps it,
 * and a deferred or woken copy (`<id>-d<n>`, `<id>-d<n>w`) gets none: its task
 * had its turn when first enqueued, and a woken copy must run now, not be
 * paced behind its workspace's backlog.
 */
export function withDeclaredFairness(
  ports: Ports,
  tasks: TaskQueue,
  flowOf: (queue: string) => FlowControl | undefined | Promise<FlowControl | undefined>,
): TaskQueue {
  return {
    deferral: tasks.deferral,
    stats: (queue) => tasks.stats(queue),
    list: () => tasks.list(),
    setRateLimits: (queue, limits) => tasks.setRateLimits(queue, limits),
    wake: (gate, count) => tasks.wake(gate, count),
    async enqueue(queue, payload, opts: EnqueueOptions = {}) {
      if (opts.fairness || (opts.id !== undefined && baseTaskId(opts.id) !== opts.id)) {
        return tasks.enqueue(queue, payload, opts);
      }
      const field = (await flowOf(queue))?.fairness?.key;
      const key = field === undefined ? undefined : fields(payload)[field];
      if (typeof key !== 'string' || key === '') return tasks.enqueue(queue, payload, opts);
      const { weight, share } = await poolOf(ports).fairness(ports, key);
      return tasks.enqueue(queue, payload, { ...opts, fairness: { key, weight, share } });
    },
  };
}

/** Each queue's declared flow control, by queue name, over the orchestrators given. */
export function declaredFlows(
  orchestrators: readonly Orchestrator[],
): (queue: string) => FlowControl | undefined {
  const flows = new Map<string, FlowControl>();
  for (const o of orchestrators) {
    for (const [key, task] of Object.entries(o.tasks)) {
      if (task.flowControl !== undefined)
        flows.set(functionName(o.name, key), flowControlOf(task.flowControl));
    }
  }
  return (queue) => flows.get(queue);
}

/**
 * The resource pool as a library: the limits in force, fair shares, admission
 * and the adaptive controllers, all kept in the kv port, so the same code
 * limits one process and a fleet of Cloud Functions instances. The
 * flow-control wrapper (platform/flow-control.ts) takes and frees slots through
 * it for any task that declares flow control; the executions engine uses its
 * admission; the pool orchestrator's routes read it for monitoring.
 *
 * Each concurrency dimension is a semaphore: a sorted set of holders scored by
 * lease expiry. A task takes a slot in every dimension, or in none, in one
 * atomic kv operation (platform/kv-slots.ts: one Lua script on Upstash), so
 * two dispatchers can never overrun a limit, and a holder that dies frees its
 * slots when its lease passes. Its release, the adaptive controllers'
 * observations and the wake-up of the next waiters are one more operation
 * (settleStep), and a refusal's counters one (addToCounters): an uncontended
 * task costs two Upstash commands, and a refusal two (cost.test.ts counts them).
 *
 * One store per kv store (`poolOf`): its short caches are the process's view
 * of that kv, shared by everything that runs against it.
 */

import type { RateLimits } from '../delivery.js';
import type { FlowControl } from '../flow-declaration.js';
import { acquireSlots, countSlots } from '../kv-slots.js';
import type { Context } from '../orchestrator.js';
import type { KeyValueStore, Ports, UpstreamObservation } from '../ports.js';
import { type AimdDecision, type AimdPolicy, type AimdState, initialAimd, latencyTarget } from './aimd.js';
import { addToCounters, observeAimd, readAimdState, settleStep } from './kv-operations.js';
import { type Admission, admit, fairShare } from './machine.js';
import {
  PoolDecisionDocument,
  type PoolLimits,
  poolLimitsFromConfig,
  type WorkspacePool,
  WorkspacePoolSchema,
} from './model.js';

export interface SlotRequest {
  /** The task's declared flow control, and its payload, whose fields key the dimensions. */
  flow: FlowControl;
  payload: Readonly<Record<string, unknown>>;
  /** Who holds the slots: the task (its redeliveries and deferred copies hold them as one). */
  holder: string;
  /** How long the lease lives if never released (the task's timeout and a margin). */
  ttlMs: number;
  /** The queue the task came from, with its declared limits: its controller scales them (adaptiveRate). */
  queue: { name: string; declared: Required<RateLimits> };
  /** On a refusal, join the refusing dimension's waiting list as this member (requeueing runtimes). */
  wait?: { member: string; priority: number };
  /** Leave the waiting lists as this member first; answered `unclaimed` when it was in none. */
  claim?: string;
}

/** A dimension's name, as declared; the step queues' are these. */
export type PoolDimension = string;

export type SlotResult =
  /**
   * `release`: frees the slots and, given what the upstream did, feeds the
   * adaptive controllers, in one kv operation; null for an outcome that says
   * nothing about the upstream (a cache hit, a wait). It answers the waiters it
   * woke (requeueing runtimes); a parking runtime's are woken by their gate.
   */
  | { ok: true; release(seen: UpstreamObservation | null): Promise<string[]> }
  /**
   * `gate`: what to wait on; releasing a slot of this dimension wakes one task
   * deferred on it. `woken`: waiters the refusal passed a wake on to (requeueing runtimes).
   */
  | { ok: false; dimension: PoolDimension; gate: string; woken: string[] }
  /** The claimed waiter was already woken by a release: its woken copy runs instead. */
  | { ok: false; unclaimed: true };

/** Short: a workspace that starts sending work should get its share within a few dispatches. */
const ACTIVE_CACHE_MS = 200;
/** A workspace that had work this recently counts as "recently active": the others leave it headroom. */
const RECENT_MS = 5_000;
const MINUTE = 60_000;
/** A waiting list outlives its last waiter by this much; a waiter's own deferred copy outlives it. */
const WAITING_TTL_MS = 60 * MINUTE;

interface ResolvedDimension {
  name: string;
  key: string;
  limit: number;
  /** The adaptive controller's state key and policy, when the dimension is adaptive. */
  adaptive?: { key: string; policy: AimdPolicy; subject: DecisionSubject };
}

type DecisionSubject = { agentKind: string } | { queue: string } | { dimension: string };

export class PoolStore {
  /** Read from configuration on first use. */
  #limits: PoolLimits | undefined;
  #active:
    | { at: number; weights: Map<string, number>; settings: Map<string, WorkspacePool>; recent: Set<string> }
    | undefined;
  /** When this process last marked each workspace recently active in kv (so it writes that at most once a second). */
  readonly #marked = new Map<string, number>();

  /** The limits in force: configuration (SERAPHIM_POOL_*, see poolLimitsFromConfig), read once, on first use. */
  limitsFor(ctx: Pick<Context, 'config'>): PoolLimits {
    this.#limits ??= poolLimitsFromConfig(ctx.config);
    return this.#limits;
  }

  agentKindLimit(ctx: Pick<Context, 'config'>, kind: string): number {
    const limits = this.limitsFor(ctx);
    return limits.perAgentKind[kind] ?? limits.defaultPerAgentKind;
  }

  /**
   * The task's dimensions, keyed by its payload and limited as declared. A
   * dimension whose key fields the payload lacks (a task enqueued before its
   * payload carried them) does not limit it.
   */
  async #dimensions(ctx: Context, req: SlotRequest): Promise<ResolvedDimension[]> {
    const { flow, payload } = req;
    const fairKey = flow.fairness ? keyPart(payload[flow.fairness.key]) : undefined;
    if (fairKey !== undefined) await this.#markRecent(ctx, fairKey);
    const limits = this.limitsFor(ctx);
    const dimensions: ResolvedDimension[] = [];
    for (const declared of flow.concurrency) {
      const parts = declared.key.map((field) => keyPart(payload[field]));
      if (parts.some((part) => part === undefined)) continue;
      const values = parts as string[];
      let limit: number;
      if (typeof declared.limit === 'number') limit = declared.limit;
      else if (declared.limit === 'global') limit = limits.global;
      else if (declared.limit === 'perUseCase') limit = limits.perUseCase;
      else if (declared.limit === 'perAgentKind') limit = this.agentKindLimit(ctx, values[0] ?? '');
      else limit = await this.#workspaceLimit(ctx, values[0] ?? '');
      const key = slotKey(declared.name, values);
      dimensions.push({
        name: declared.name,
        key,
        limit,
        ...(declared.adaptive
          ? {
              adaptive: {
                key: adaptiveKey(declared.name, values),
                policy: adaptivePolicy(limit),
                subject:
                  declared.name === 'agentKind'
                    ? { agentKind: values.join(':') }
                    : { dimension: `${declared.name}:${values.join(':')}` },
              },
            }
          : {}),
      });
    }
    return dimensions;
  }

  /** A workspace's limit now: its fair share of the global limit, under its own cap. */
  async #workspaceLimit(ctx: Context, workspace: string): Promise<number> {
    let { weights, settings, recent } = await this.#activeWorkspaces(ctx);
    if (!weights.has(workspace)) {
      // A workspace that just got work: everyone's share changes now, not at the next refresh.
      ({ weights, settings, recent } = await this.#activeWorkspaces(ctx, true));
      if (!weights.has(workspace)) weights.set(workspace, settings.get(workspace)?.weight ?? 1);
    }
    const share = fairShare({
      globalLimit: this.limitsFor(ctx).global,
      workspace,
      activeWeights: weights,
      recentlyIdle: [...recent].filter((ws) => ws !== workspace && !weights.has(ws)).length,
    });
    return Math.min(share, settings.get(workspace)?.maxConcurrent ?? Number.POSITIVE_INFINITY);
  }

  /** Takes one slot in every dimension, or none: the first full one refuses, and nothing is taken. */
  async acquire(ctx: Context, req: SlotRequest): Promise<SlotResult> {
    const dimensions = await this.#dimensions(ctx, req);
    if (dimensions.length === 0) return { ok: true, release: async () => [] };
    const now = ctx.clock.now();
    // One atomic operation takes a slot in every dimension or in none (kv-slots.ts).
    const got = await ctx.kv.run(acquireSlots, {
      dimensions: dimensions.map((d) => ({
        key: d.key,
        limit: d.limit,
        ...(d.adaptive ? { limitFrom: { key: d.adaptive.key } } : {}),
      })),
      holder: req.holder,
      ttlMs: req.ttlMs,
      now,
      // Higher classes first, then the longest waiting.
      ...(req.wait
        ? { wait: { member: req.wait.member, score: req.wait.priority * 1e13 + now, ttlMs: WAITING_TTL_MS } }
        : {}),
      ...(req.claim ? { claim: req.claim } : {}),
    });
    if (!got.ok) {
      if ('unclaimed' in got) return got;
      const refused = dimensions[got.refused];
      if (!refused) throw new Error(`acquireSlots refused dimension ${got.refused} of ${dimensions.length}`);
      await this.#countThrottle(ctx, refused.name);
      return { ok: false, dimension: refused.name, gate: refused.key, woken: got.woken };
    }
    const keys = dimensions.map((d) => d.key);
    const adaptive = dimensions.flatMap((d) => (d.adaptive ? [d.adaptive] : []));
    const queue = req.flow.adaptiveRate
      ? { key: queueKey(req.queue.name), policy: QUEUE_AIMD, subject: { queue: req.queue.name } }
      : undefined;
    const controllers = queue ? [...adaptive, queue] : adaptive;
    const pop = ctx.tasks.deferral === 'requeue';
    // Frees the slots (only the holder's own: a lease that outlived its TTL may be another's now),
    // feeds the controllers and takes the next waiters off the freed keys, in one operation.
    const release = async (seen: UpstreamObservation | null): Promise<string[]> => {
      const { decisions, woken } = await ctx.kv.run(settleStep, {
        keys,
        holder: req.holder,
        observations: seen ? controllers.map((c) => ({ key: c.key, policy: c.policy, ...seen })) : [],
        pop,
      });
      for (const [i, decision] of decisions.entries()) {
        const controller = controllers[i];
        if (!controller) continue;
        await this.#record(ctx, controller.policy, decision, controller.subject);
        if (controller === queue && decision.change)
          await ctx.tasks.setRateLimits(
            req.queue.name,
            scaledLimits(req.queue.declared, decision.state.limit),
          );
      }
      // A parking queue wakes one task deferred on each freed key: a slot is free there now.
      if (!pop) await Promise.all(keys.map((gate) => ctx.tasks.wake(gate, 1)));
      return woken;
    };
    return { ok: true, release };
  }

  /**
   * How a workspace's tasks take their turn at dispatch: its weight (pool
   * settings), and its share now, weight over the weights of every workspace
   * with work (itself included). Cached briefly.
   */
  async fairness(ctx: Ports, workspace: string): Promise<{ weight: number; share: number }> {
    const { weights, settings } = await this.#activeWorkspaces(ctx);
    const weight = settings.get(workspace)?.weight ?? 1;
    weights.set(workspace, weight);
    let total = 0;
    for (const w of weights.values()) total += w;
    return { weight, share: weight / total };
  }

  /** Marks the workspace recently active for every instance (kv, with a TTL), at most once a second per process. */
  async #markRecent(ctx: Context, workspace: string): Promise<void> {
    const now = ctx.clock.now();
    if (now - (this.#marked.get(workspace) ?? Number.NEGATIVE_INFINITY) < 1000) return;
    this.#marked.set(workspace, now);
    if (this.#marked.size > 1000) this.#marked.clear();
    await ctx.kv.set(recentKey(workspace), '1', { ttlMs: RECENT_MS });
  }

  aimdPolicy(ctx: Pick<Context, 'config'>, kind: string): AimdPolicy {
    return adaptivePolicy(this.agentKindLimit(ctx, kind));
  }

  /** A controller's stored state, read as the operations read it (a corrupt one counts as absent). */
  async #aimdState(ctx: Context, key: string, policy: AimdPolicy): Promise<AimdState> {
    return readAimdState(await ctx.kv.get(key)) ?? initialAimd(policy);
  }

  /** A controller's change is logged and recorded (GET /api/pool/decisions). */
  async #record(
    ctx: Context,
    policy: AimdPolicy,
    decision: AimdDecision,
    subject: DecisionSubject,
  ): Promise<void> {
    if (decision.change) {
      const target = latencyTarget(policy, decision.state);
      const record = {
        ...subject,
        ...decision.change,
        at: ctx.clock.now(),
        policy: { min: policy.min, max: policy.max, window: policy.window },
        targetLatencyMs: Number.isFinite(target) ? Math.round(target) : null,
      };
      ctx.logger.info('Pool limit changed', record);
      await ctx.documents.create(`poolDecisions/${ctx.ids.next()}`, PoolDecisionDocument.stamp(record));
    }
  }

  /**
   * Feeds one observation to an agent kind's controller outside a task (the
   * wrapper feeds them as it frees slots): operators' tools and tests.
   */
  async observe(ctx: Context, kind: string, seen: UpstreamObservation): Promise<void> {
    const policy = this.aimdPolicy(ctx, kind);
    const decision = await ctx.kv.run(observeAimd, {
      key: adaptiveKey('agentKind', [kind]),
      policy,
      ...seen,
    });
    await this.#record(ctx, policy, decision, { agentKind: kind });
  }

  /** The same for a queue's dispatch-rate controller; a change is applied to the queue at once. */
  async observeQueue(
    ctx: Context,
    queue: string,
    declared: Required<RateLimits>,
    seen: UpstreamObservation,
  ): Promise<void> {
    const decision = await ctx.kv.run(observeAimd, { key: queueKey(queue), policy: QUEUE_AIMD, ...seen });
    await this.#record(ctx, QUEUE_AIMD, decision, { queue });
    if (decision.change) await ctx.tasks.setRateLimits(queue, scaledLimits(declared, decision.state.limit));
  }

  /** Effective limits per agent kind now (AIMD), for monitoring. */
  async effectiveAgentLimits(ctx: Context): Promise<Record<string, number>> {
    const kinds = Object.keys(this.limitsFor(ctx).perAgentKind);
    const states = await Promise.all(
      kinds.map((k) => this.#aimdState(ctx, adaptiveKey('agentKind', [k]), this.aimdPolicy(ctx, k))),
    );
    return Object.fromEntries(kinds.map((k, i) => [k, states[i]?.limit ?? this.agentKindLimit(ctx, k)]));
  }

  /** Each queue's limits now (AIMD), as tenths of its declared limits. */
  async effectiveQueueScale(ctx: Context, queues: readonly string[]): Promise<Record<string, number>> {
    const states = await Promise.all(queues.map((q) => this.#aimdState(ctx, queueKey(q), QUEUE_AIMD)));
    return Object.fromEntries(
      queues.map((q, i) => [q, (states[i]?.limit ?? QUEUE_AIMD.max) / QUEUE_AIMD.max]),
    );
  }

  /** Admission control: counts the execution in when accepted. */
  async admit(ctx: Context, workspace: string): Promise<Admission> {
    const settings = await this.workspaceSettings(ctx, workspace);
    const key = inFlightKey(workspace);
    const after = await ctx.kv.incr(key, 1);
    const decision = admit(after - 1, settings.queueBudget);
    if (!decision.accepted) await ctx.kv.incr(key, -1);
    return decision;
  }

  async finished(ctx: Context, workspace: string): Promise<void> {
    const left = await ctx.kv.incr(inFlightKey(workspace), -1);
    if (left < 0) await ctx.kv.set(inFlightKey(workspace), '0');
  }

  /**
   * An execution of the workspace started (+1) or stopped (-1) waiting only on
   * people or timers: it holds no runnable work while it waits, so it does not
   * make its workspace active for the fair shares.
   */
  async waitingChanged(ctx: Context, workspace: string, delta: 1 | -1): Promise<void> {
    const now = await ctx.kv.incr(waitingKey(workspace), delta);
    if (now < 0) await ctx.kv.set(waitingKey(workspace), '0');
  }

  /** Sets the in-flight and waiting counts from the documents (the sweep does this), repairing drift after a crash. */
  async reconcile(
    ctx: Context,
    workspace: string,
    counts: { inFlight: number; waiting: number },
  ): Promise<void> {
    await ctx.kv.set(inFlightKey(workspace), String(counts.inFlight));
    await ctx.kv.set(waitingKey(workspace), String(counts.waiting));
  }

  async inFlight(ctx: Ports, workspaces: string[]): Promise<number[]> {
    const values = await ctx.kv.mget(workspaces.map(inFlightKey));
    return values.map((v) => Math.max(0, Number(v ?? 0)));
  }

  /** Executions in flight that have runnable work: not all of them wait on people or timers. */
  async runnable(ctx: Ports, workspaces: string[]): Promise<number[]> {
    // One MGET for both counters: this is on the path of a workspace's first dispatch.
    const values = await ctx.kv.mget([...workspaces.map(inFlightKey), ...workspaces.map(waitingKey)]);
    const count = (v: string | null | undefined) => Math.max(0, Number(v ?? 0));
    return workspaces.map((_, i) => Math.max(0, count(values[i]) - count(values[workspaces.length + i])));
  }

  async workspaceSettings(ctx: Context, workspace: string): Promise<WorkspacePool> {
    const doc = await ctx.documents.get(`workspaces/${workspace}`);
    return WorkspacePoolSchema.parse(doc?.data.pool ?? {});
  }

  /** How many slots of a dimension are held now (monitoring). */
  async held(ctx: Context, key: string): Promise<number> {
    return ctx.kv.run(countSlots, { key, now: ctx.clock.now() });
  }

  async throttles(
    ctx: Context,
  ): Promise<{ lastMinute: number; lastHour: number; byDimension: Record<string, number> }> {
    const minute = Math.floor(ctx.clock.now() / MINUTE);
    const keys = Array.from({ length: 60 }, (_, i) => `pool:throttled:${minute - i}`);
    const counts = (await ctx.kv.mget(keys)).map((v) => Number(v ?? 0));
    const byDim = await ctx.kv.mget(DIMENSIONS.map((d) => `pool:throttled:${minute}:${d}`));
    return {
      lastMinute: counts[0] ?? 0,
      lastHour: counts.reduce((a, b) => a + b, 0),
      byDimension: Object.fromEntries(DIMENSIONS.map((d, i) => [d, Number(byDim[i] ?? 0)])),
    };
  }

  async #countThrottle(ctx: Context, dimension: string): Promise<void> {
    const minute = Math.floor(ctx.clock.now() / MINUTE);
    await ctx.kv.run(addToCounters, {
      counters: [
        { key: `pool:throttled:${minute}`, by: 1, ttlMs: 2 * 60 * MINUTE },
        { key: `pool:throttled:${minute}:${dimension}`, by: 1, ttlMs: 2 * MINUTE },
        { key: `pool:throttled:total:${dimension}`, by: 1 },
      ],
    });
  }

  /** Refusals since the kv store began, by dimension: the running total. */
  async throttleTotals(ctx: Context): Promise<Record<PoolDimension, number>> {
    const values = await ctx.kv.mget(DIMENSIONS.map((d) => `pool:throttled:total:${d}`));
    return Object.fromEntries(DIMENSIONS.map((d, i) => [d, Number(values[i] ?? 0)])) as Record<
      PoolDimension,
      number
    >;
  }

  /**
   * Workspaces with runnable work (executions in flight that are not all waiting on people or
   * timers), with their weights; cached briefly (bounded to 500 workspaces). Only they share the
   * global limit: a share held for a workspace with nothing to run would be slots nobody uses.
   */
  async #activeWorkspaces(
    ctx: Ports,
    refresh = false,
  ): Promise<{ weights: Map<string, number>; settings: Map<string, WorkspacePool>; recent: Set<string> }> {
    const now = ctx.clock.now();
    if (refresh || !this.#active || now - this.#active.at > ACTIVE_CACHE_MS) {
      const page = await ctx.documents.query('workspaces', { limit: 500 });
      const ids = page.docs.map((d) => d.id);
      const [counts, seen] = await Promise.all([this.runnable(ctx, ids), ctx.kv.mget(ids.map(recentKey))]);
      const settings = new Map(page.docs.map((d) => [d.id, WorkspacePoolSchema.parse(d.data.pool ?? {})]));
      const weights = new Map<string, number>();
      const recent = new Set<string>();
      ids.forEach((id, i) => {
        if ((counts[i] ?? 0) > 0) weights.set(id, settings.get(id)?.weight ?? 1);
        if (seen[i] !== null) recent.add(id);
      });
      this.#active = { at: now, weights, settings, recent };
    }
    return {
      weights: new Map(this.#active.weights),
      settings: this.#active.settings,
      recent: this.#active.recent,
    };
  }
}

/** Latency under this never counts against an adaptive limit: in-process work answers in milliseconds, and their jitter is noise. */
export const ADAPTIVE_LATENCY_FLOOR_MS = 100;

/**
 * An adaptive dimension's controller: never below a quarter of its limit, so
 * work keeps moving while it backs off, and judged against a latency floor.
 */
export function adaptivePolicy(max: number): AimdPolicy {
  return { min: Math.max(1, Math.ceil(max / 4)), max, window: 10, floorMs: ADAPTIVE_LATENCY_FLOOR_MS };
}

/** The step queues' dimensions (executions/queues.ts), whose refusals monitoring counts by name. */
const DIMENSIONS: readonly PoolDimension[] = ['global', 'workspace', 'useCase', 'agentKind'];

/**
 * A queue's controller counts in tenths of its declared limits: halved on an upstream 429, +10% per 20
 * answered steps. Latency is left to the agent kinds' controllers: a queue carries many kinds, and a
 * slow one is not a reason to dispatch the others less.
 */
const QUEUE_AIMD: AimdPolicy = { min: 1, max: 10, targetLatencyMs: Number.POSITIVE_INFINITY, window: 20 };

/** `tenths` of the declared limits, never under one dispatch at a time and one a second. */
export function scaledLimits(declared: Required<RateLimits>, tenths: number): Required<RateLimits> {
  return {
    maxDispatchesPerSecond: Math.max(1, (declared.maxDispatchesPerSecond * tenths) / 10),
    maxConcurrentDispatches: Math.max(1, Math.round((declared.maxConcurrentDispatches * tenths) / 10)),
  };
}

function inFlightKey(workspace: string): string {
  return `pool:inflight:${workspace}`;
}

function waitingKey(workspace: string): string {
  return `pool:waiting:${workspace}`;
}

function recentKey(workspace: string): string {
  return `pool:recent:${workspace}`;
}

/**
 * A dimension's semaphore for one key: `pool:slots:<name>[:<value>…]`, each
 * value percent-encoded so that no value can forge another key's boundaries.
 */
export function slotKey(name: string, values: readonly string[]): string {
  return ['pool:slots', name, ...values.map(keyEncoded)].join(':');
}

/** Where an adaptive dimension's AIMD controller keeps its state; its slots' limit is read from it. */
function adaptiveKey(name: string, values: readonly string[]): string {
  return ['pool:aimd', name, ...values.map(keyEncoded)].join(':');
}

/**
 * Percent-encodes all but `A-Z a-z 0-9 _ . ~ -`, byte by byte in UTF-8. Unlike
 * encodeURIComponent it never throws: a lone surrogate encodes as U+FFFD's bytes.
 */
function keyEncoded(value: string): string {
  return value.replace(/[^A-Za-z0-9_.~-]/gu, (ch) =>
    [...Buffer.from(ch, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

/** Where a queue's dispatch-rate controller keeps its state. */
function queueKey(queue: string): string {
  return `pool:aimd:queue:${queue}`;
}

/** A payload field's value as a key: a non-empty string or a finite number; else undefined. */
function keyPart(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

const stores = new WeakMap<KeyValueStore, PoolStore>();

/** The pool over this context's kv store: one per kv, so everything on one runtime shares its caches. */
export function poolOf(ctx: Pick<Context, 'kv'>): PoolStore {
  let store = stores.get(ctx.kv);
  if (!store) {
    store = new PoolStore();
    stores.set(ctx.kv, store);
  }
  return store;
}

/** The step queues' global dimension's semaphore (monitoring reads how many hold it). */
export const GLOBAL_SLOTS = slotKey('global', []);

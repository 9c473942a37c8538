/**
 * The resource pool at run time: slot leases for the concurrency limits, the
 * admission budget, and the counters monitoring reads. Everything lives in the
 * kv port, so the same code limits one process and a fleet of Cloud Functions
 * instances.
 *
 * Each limit is a semaphore: a sorted set of holders scored by lease expiry.
 * A step takes a slot in every dimension, or in none, in one atomic kv
 * operation (platform/kv-slots.ts: one Lua script on Upstash), so two
 * dispatchers can never overrun a limit, and a holder that dies frees its
 * slots when its lease passes. Its release and the step's AIMD observations
 * are one more (settleStep, kv-operations.ts), and a refusal's counters one
 * (addToCounters): an uncontended step costs two Upstash commands, and a
 * refusal two (cost.test.ts counts them).
 */

import type { RateLimits } from '../../platform/delivery.js';
import { acquireSlots, countSlots } from '../../platform/kv-slots.js';
import type { Context } from '../../platform/orchestrator.js';
import {
  type AimdDecision,
  type AimdObservation,
  type AimdPolicy,
  type AimdState,
  initialAimd,
  latencyTarget,
} from './aimd.js';
import { addToCounters, observeAimd as observeAimdOperation, settleStep } from './kv-operations.js';
import { type Admission, admit, fairShare } from './machine.js';
import {
  PoolDecisionDocument,
  type PoolLimits,
  poolLimitsFromConfig,
  type WorkspacePool,
  WorkspacePoolSchema,
} from './model.js';

export interface SlotRequest {
  workspace: string;
  useCaseId: string;
  agentKind: string;
  /** Who holds the slots: the step attempt. */
  holder: string;
  /** How long the lease lives if never released (the step's timeout and a margin). */
  ttlMs: number;
  /** The queue the step came from, with its declared limits: its controller scales them (observeQueue). */
  queue: { name: string; declared: Required<RateLimits> };
}

export type PoolDimension = 'global' | 'workspace' | 'useCase' | 'agentKind';

export type SlotResult =
  /**
   * `release`: frees the slots and, given what the step saw, feeds its agent
   * kind's and its queue's controllers, in one kv operation; null for an
   * outcome that says nothing about the upstream (a cache hit, a wait).
   */
  | { ok: true; release(seen: AimdObservation | null): Promise<void> }
  /** `gate`: what to wait on; releasing a slot of this dimension wakes one task deferred on it. */
  | { ok: false; dimension: PoolDimension; gate: string };

/** Short: a workspace that starts sending work should get its share within a few dispatches. */
const ACTIVE_CACHE_MS = 200;
/** A workspace that had work this recently counts as "recently active": the others leave it headroom. */
const RECENT_MS = 5_000;
const MINUTE = 60_000;

export class PoolManager {
  /** Set by the constructor (tests); otherwise read from configuration on first use. */
  readonly #overrides: Partial<PoolLimits>;
  #limits: PoolLimits | undefined;
  #active:
    | { at: number; weights: Map<string, number>; settings: Map<string, WorkspacePool>; recent: Set<string> }
    | undefined;
  /** When this process last marked each workspace recently active in kv (so it writes that at most once a second). */
  readonly #marked = new Map<string, number>();

  /** `overrides` win over configuration (SERAPHIM_POOL_*, see poolLimitsFromConfig), which wins over the defaults. */
  constructor(overrides: Partial<PoolLimits> = {}) {
    this.#overrides = overrides;
  }

  /** The limits in force: configuration read once, on first use, then the overrides. */
  limitsFor(ctx: Pick<Context, 'config'>): PoolLimits {
    this.#limits ??= { ...poolLimitsFromConfig(ctx.config), ...this.#overrides };
    return this.#limits;
  }

  agentKindLimit(ctx: Pick<Context, 'config'>, kind: string): number {
    const limits = this.limitsFor(ctx);
    return limits.perAgentKind[kind] ?? limits.defaultPerAgentKind;
  }

  /** Takes one slot in every dimension, or none: on the first full one, what was taken is given back. */
  async acquire(ctx: Context, req: SlotRequest): Promise<SlotResult> {
    await this.#markRecent(ctx, req.workspace);
    let { weights, settings, recent } = await this.#activeWorkspaces(ctx);
    if (!weights.has(req.workspace)) {
      // A workspace that just got work: everyone's share changes now, not at the next refresh.
      ({ weights, settings, recent } = await this.#activeWorkspaces(ctx, true));
      if (!weights.has(req.workspace)) weights.set(req.workspace, settings.get(req.workspace)?.weight ?? 1);
    }
    const own = settings.get(req.workspace);
    const share = fairShare({
      globalLimit: this.limitsFor(ctx).global,
      workspace: req.workspace,
      activeWeights: weights,
      recentlyIdle: [...recent].filter((ws) => ws !== req.workspace && !weights.has(ws)).length,
    });
    const limits = this.limitsFor(ctx);
    const dimensions = [
      {
        name: 'workspace' as const,
        key: `pool:slots:ws:${req.workspace}`,
        limit: Math.min(share, own?.maxConcurrent ?? Number.POSITIVE_INFINITY),
      },
      // The workspace's share first: a flooder over its share is turned back before it takes a global slot.
      { name: 'global' as const, key: GLOBAL_SLOTS, limit: limits.global },
      {
        name: 'useCase' as const,
        key: `pool:slots:uc:${req.workspace}:${req.useCaseId}`,
        limit: limits.perUseCase,
      },
      {
        // The kind's AIMD controller lowers its limit: read inside the same operation.
        name: 'agentKind' as const,
        key: `pool:slots:agent:${req.agentKind}`,
        limit: this.agentKindLimit(ctx, req.agentKind),
        limitFrom: { key: aimdKey(req.agentKind) },
      },
    ];
    // One atomic operation takes a slot in every dimension or in none (kv-slots.ts).
    const got = await ctx.kv.run(acquireSlots, {
      dimensions: dimensions.map(({ name: _, ...dimension }) => dimension),
      holder: req.holder,
      ttlMs: req.ttlMs,
      now: ctx.clock.now(),
    });
    if (!got.ok) {
      const refused = dimensions[got.refused];
      if (!refused) throw new Error(`acquireSlots refused dimension ${got.refused} of ${dimensions.length}`);
      await this.#countThrottle(ctx, refused.name);
      return { ok: false, dimension: refused.name, gate: refused.key };
    }
    const keys = dimensions.map((d) => d.key);
    const kindPolicy = this.aimdPolicy(ctx, req.agentKind);
    const queueKey = `pool:aimd:queue:${req.queue.name}`;
    // Frees the slots (only the holder's own: a lease that outlived its TTL may be another's now) and
    // feeds both controllers in one operation, then wakes one task deferred on each: a slot is free now.
    const release = async (seen: AimdObservation | null) => {
      const { decisions } = await ctx.kv.run(settleStep, {
        keys,
        holder: req.holder,
        observations: seen
          ? [
              { key: aimdKey(req.agentKind), policy: kindPolicy, ...seen },
              { key: queueKey, policy: QUEUE_AIMD, ...seen },
            ]
          : [],
      });
      const [kind, queue] = decisions;
      if (kind) await this.#record(ctx, kindPolicy, kind, { agentKind: req.agentKind });
      if (queue) await this.#applyQueue(ctx, req.queue.name, req.queue.declared, queue);
      await Promise.all(keys.map((gate) => ctx.tasks.wake(gate, 1)));
    };
    return { ok: true, release };
  }

  /**
   * How a workspace's tasks take their turn at dispatch: its weight (pool
   * settings), and its share now, weight over the weights of every workspace
   * with work (itself included). Cached briefly.
   */
  async fairness(ctx: Context, workspace: string): Promise<{ weight: number; share: number }> {
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
    return { min: 1, max: this.agentKindLimit(ctx, kind), window: 10 };
  }

  async #aimdState(ctx: Context, key: string, policy: AimdPolicy): Promise<AimdState> {
    const stored = await ctx.kv.get(key);
    if (stored) {
      try {
        return JSON.parse(stored) as AimdState;
      } catch {
        // a corrupt entry is replaced by the next observation
      }
    }
    return initialAimd(policy);
  }

  /** One observation for one controller; a change is logged and recorded (GET /api/pool/decisions). */
  async #observe(
    ctx: Context,
    key: string,
    policy: AimdPolicy,
    seen: AimdObservation,
    subject: { agentKind: string } | { queue: string },
  ): Promise<AimdDecision> {
    // One atomic operation reads the state, applies aimd.ts's rule and writes it back when it changed.
    const decision = await ctx.kv.run(observeAimdOperation, { key, policy, ...seen });
    await this.#record(ctx, policy, decision, subject);
    return decision;
  }

  /** A controller's change is logged and recorded (GET /api/pool/decisions). */
  async #record(
    ctx: Context,
    policy: AimdPolicy,
    decision: AimdDecision,
    subject: { agentKind: string } | { queue: string },
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

  /** A queue controller's decision: recorded, and a change applied to the queue at once. */
  async #applyQueue(
    ctx: Context,
    queue: string,
    declared: Required<RateLimits>,
    decision: AimdDecision,
  ): Promise<void> {
    await this.#record(ctx, QUEUE_AIMD, decision, { queue });
    if (decision.change) await ctx.tasks.setRateLimits(queue, scaledLimits(declared, decision.state.limit));
  }

  /**
   * Feeds one finished step of `kind` to its AIMD controller. Concurrent
   * observers may overwrite each other's counts: the controller is
   * approximate by design.
   */
  async observe(ctx: Context, kind: string, seen: AimdObservation): Promise<void> {
    await this.#observe(ctx, aimdKey(kind), this.aimdPolicy(ctx, kind), seen, { agentKind: kind });
  }

  /**
   * Feeds one finished step to its queue's AIMD controller, which scales the
   * queue's dispatch rate and concurrency between a tenth of the declared
   * limits and all of them, in tenths (`limit` 1–10). A change is applied
   * through the tasks port at once: in process on the embedded runtime,
   * Cloud Tasks `updateQueue` on Firebase.
   */
  async observeQueue(
    ctx: Context,
    queue: string,
    declared: Required<RateLimits>,
    seen: AimdObservation,
  ): Promise<void> {
    const decision = await ctx.kv.run(observeAimdOperation, {
      key: `pool:aimd:queue:${queue}`,
      policy: QUEUE_AIMD,
      ...seen,
    });
    await this.#applyQueue(ctx, queue, declared, decision);
  }

  /** Effective limits per agent kind now (AIMD), for monitoring. */
  async effectiveAgentLimits(ctx: Context): Promise<Record<string, number>> {
    const kinds = Object.keys(this.limitsFor(ctx).perAgentKind);
    const states = await Promise.all(
      kinds.map((k) => this.#aimdState(ctx, aimdKey(k), this.aimdPolicy(ctx, k))),
    );
    return Object.fromEntries(kinds.map((k, i) => [k, states[i]?.limit ?? this.agentKindLimit(ctx, k)]));
  }

  /** Each queue's limits now (AIMD), as tenths of its declared limits. */
  async effectiveQueueScale(ctx: Context, queues: readonly string[]): Promise<Record<string, number>> {
    const states = await Promise.all(
      queues.map((q) => this.#aimdState(ctx, `pool:aimd:queue:${q}`, QUEUE_AIMD)),
    );
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

  /** Sets the in-flight count from the documents (the sweep does this), repairing drift after a crash. */
  async reconcile(ctx: Context, workspace: string, inFlight: number): Promise<void> {
    await ctx.kv.set(inFlightKey(workspace), String(inFlight));
  }

  async inFlight(ctx: Context, workspaces: string[]): Promise<number[]> {
    const values = await ctx.kv.mget(workspaces.map(inFlightKey));
    return values.map((v) => Math.max(0, Number(v ?? 0)));
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

  /** Workspaces with executions in flight, with their weights; cached briefly (bounded to 500 workspaces). */
  async #activeWorkspaces(
    ctx: Context,
    refresh = false,
  ): Promise<{ weights: Map<string, number>; settings: Map<string, WorkspacePool>; recent: Set<string> }> {
    const now = ctx.clock.now();
    if (refresh || !this.#active || now - this.#active.at > ACTIVE_CACHE_MS) {
      const page = await ctx.documents.query('workspaces', { limit: 500 });
      const ids = page.docs.map((d) => d.id);
      const [counts, seen] = await Promise.all([this.inFlight(ctx, ids), ctx.kv.mget(ids.map(recentKey))]);
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

function recentKey(workspace: string): string {
  return `pool:recent:${workspace}`;
}

/** Where an agent kind's AIMD controller keeps its state; its slots' limit is read from it. */
function aimdKey(kind: string): string {
  return `pool:aimd:${kind}`;
}

/** The global dimension's semaphore (monitoring reads how many hold it). */
export const GLOBAL_SLOTS = 'pool:slots:global';

/**
 * The resource pool at run time: slot leases for the concurrency limits, the
 * admission budget, and the counters monitoring reads. Everything lives in the
 * kv port, so the same code limits one process and a fleet of Cloud Functions
 * instances.
 *
 * A limit of N is N slot keys; taking a slot is SET NX with a TTL, so two
 * dispatchers can never take the same slot (the limit is never exceeded), and
 * a holder that dies frees its slot when the TTL passes.
 */
import type { Context } from '../../platform/orchestrator.js';
import type { KeyValueStore } from '../../platform/ports.js';
import { type AimdObservation, type AimdPolicy, type AimdState, initialAimd, observeAimd } from './aimd.js';
import { type Admission, admit, fairShare } from './machine.js';
import { DEFAULT_POOL_LIMITS, type PoolLimits, type WorkspacePool, WorkspacePoolSchema } from './model.js';

export interface SlotRequest {
  workspace: string;
  useCaseId: string;
  agentKind: string;
  /** Who holds the slots: the step attempt. */
  holder: string;
  /** How long the lease lives if never released (the step's timeout and a margin). */
  ttlMs: number;
}

export type SlotResult =
  | { ok: true; release(): Promise<void> }
  | { ok: false; dimension: 'global' | 'workspace' | 'useCase' | 'agentKind' };

/** Short: a workspace that starts sending work should get its share within a few dispatches. */
const ACTIVE_CACHE_MS = 200;
const MINUTE = 60_000;

export class PoolManager {
  readonly limits: PoolLimits;
  #active: { at: number; weights: Map<string, number>; settings: Map<string, WorkspacePool> } | undefined;

  constructor(limits: Partial<PoolLimits> = {}) {
    this.limits = { ...DEFAULT_POOL_LIMITS, ...limits };
  }

  agentKindLimit(kind: string): number {
    return this.limits.perAgentKind[kind] ?? this.limits.defaultPerAgentKind;
  }

  /** Takes one slot in every dimension, or none: on the first full one, what was taken is given back. */
  async acquire(ctx: Context, req: SlotRequest): Promise<SlotResult> {
    let { weights, settings } = await this.#activeWorkspaces(ctx);
    if (!weights.has(req.workspace)) {
      // A workspace that just got work: everyone's share changes now, not at the next refresh.
      ({ weights, settings } = await this.#activeWorkspaces(ctx, true));
      if (!weights.has(req.workspace)) weights.set(req.workspace, settings.get(req.workspace)?.weight ?? 1);
    }
    const own = settings.get(req.workspace);
    const share = fairShare({
      globalLimit: this.limits.global,
      workspace: req.workspace,
      activeWeights: weights,
    });
    const dimensions = [
      {
        name: 'workspace' as const,
        key: `pool:slot:ws:${req.workspace}`,
        limit: Math.min(share, own?.maxConcurrent ?? Number.POSITIVE_INFINITY),
      },
      // The workspace's share first: a flooder over its share is turned back before it takes a global slot.
      { name: 'global' as const, key: 'pool:slot:global', limit: this.limits.global },
      {
        name: 'useCase' as const,
        key: `pool:slot:uc:${req.workspace}:${req.useCaseId}`,
        limit: this.limits.perUseCase,
      },
      {
        name: 'agentKind' as const,
        key: `pool:slot:agent:${req.agentKind}`,
        limit: (await this.#aimdState(ctx, req.agentKind)).limit,
      },
    ];
    const taken: string[] = [];
    for (const dim of dimensions) {
      const slot = await takeSlot(ctx.kv, dim.key, dim.limit, req.holder, req.ttlMs);
      if (slot === null) {
        await Promise.all(taken.map((key) => ctx.kv.del(key)));
        await this.#countThrottle(ctx, dim.name);
        return { ok: false, dimension: dim.name };
      }
      taken.push(slot);
    }
    return {
      ok: true,
      release: async () => {
        await Promise.all(taken.map((key) => ctx.kv.del(key)));
      },
    };
  }

  aimdPolicy(kind: string): AimdPolicy {
    return { min: 1, max: this.agentKindLimit(kind), targetLatencyMs: 2000, window: 10 };
  }

  async #aimdState(ctx: Context, kind: string): Promise<AimdState> {
    const stored = await ctx.kv.get(`pool:aimd:${kind}`);
    if (stored) {
      try {
        return JSON.parse(stored) as AimdState;
      } catch {
        // a corrupt entry is replaced by the next observation
      }
    }
    return initialAimd(this.aimdPolicy(kind));
  }

  /**
   * Feeds one finished step of `kind` to its AIMD controller; a changed limit is
   * logged and recorded (GET /api/pool/decisions). Concurrent observers may
   * overwrite each other's counts: the controller is approximate by design.
   */
  async observe(ctx: Context, kind: string, seen: AimdObservation): Promise<void> {
    const policy = this.aimdPolicy(kind);
    const decision = observeAimd(policy, await this.#aimdState(ctx, kind), seen);
    await ctx.kv.set(`pool:aimd:${kind}`, JSON.stringify(decision.state));
    if (!decision.change) return;
    const record = { agentKind: kind, ...decision.change, at: ctx.clock.now(), policy };
    ctx.logger.info('Pool limit changed', record);
    await ctx.documents.create(`poolDecisions/${ctx.ids.next()}`, record);
  }

  /** Effective limits per agent kind now (AIMD), for monitoring. */
  async effectiveAgentLimits(ctx: Context): Promise<Record<string, number>> {
    const kinds = Object.keys(this.limits.perAgentKind);
    const states = await Promise.all(kinds.map((k) => this.#aimdState(ctx, k)));
    return Object.fromEntries(kinds.map((k, i) => [k, states[i]?.limit ?? this.agentKindLimit(k)]));
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
  async held(ctx: Context, key: string, limit: number): Promise<number> {
    const values = await ctx.kv.mget(Array.from({ length: Math.min(limit, 1000) }, (_, i) => `${key}:${i}`));
    return values.filter((v) => v !== null).length;
  }

  async throttles(
    ctx: Context,
  ): Promise<{ lastMinute: number; lastHour: number; byDimension: Record<string, number> }> {
    const minute = Math.floor(ctx.clock.now() / MINUTE);
    const keys = Array.from({ length: 60 }, (_, i) => `pool:throttled:${minute - i}`);
    const counts = (await ctx.kv.mget(keys)).map((v) => Number(v ?? 0));
    const dims = ['global', 'workspace', 'useCase', 'agentKind'];
    const byDim = await ctx.kv.mget(dims.map((d) => `pool:throttled:${minute}:${d}`));
    return {
      lastMinute: counts[0] ?? 0,
      lastHour: counts.reduce((a, b) => a + b, 0),
      byDimension: Object.fromEntries(dims.map((d, i) => [d, Number(byDim[i] ?? 0)])),
    };
  }

  async #countThrottle(ctx: Context, dimension: string): Promise<void> {
    const minute = Math.floor(ctx.clock.now() / MINUTE);
    await ctx.kv.incr(`pool:throttled:${minute}`, 1, { ttlMs: 2 * 60 * MINUTE });
    await ctx.kv.incr(`pool:throttled:${minute}:${dimension}`, 1, { ttlMs: 2 * MINUTE });
  }

  /** Workspaces with executions in flight, with their weights; cached briefly (bounded to 500 workspaces). */
  async #activeWorkspaces(
    ctx: Context,
    refresh = false,
  ): Promise<{ weights: Map<string, number>; settings: Map<string, WorkspacePool> }> {
    const now = ctx.clock.now();
    if (refresh || !this.#active || now - this.#active.at > ACTIVE_CACHE_MS) {
      const page = await ctx.documents.query('workspaces', { limit: 500 });
      const ids = page.docs.map((d) => d.id);
      const counts = await this.inFlight(ctx, ids);
      const settings = new Map(page.docs.map((d) => [d.id, WorkspacePoolSchema.parse(d.data.pool ?? {})]));
      const weights = new Map<string, number>();
      ids.forEach((id, i) => {
        if ((counts[i] ?? 0) > 0) weights.set(id, settings.get(id)?.weight ?? 1);
      });
      this.#active = { at: now, weights, settings };
    }
    return { weights: new Map(this.#active.weights), settings: this.#active.settings };
  }
}

function inFlightKey(workspace: string): string {
  return `pool:inflight:${workspace}`;
}

/** Tries the slots of a limit from a random start; returns the key taken, or null when all are held. */
async function takeSlot(
  kv: KeyValueStore,
  key: string,
  limit: number,
  holder: string,
  ttlMs: number,
): Promise<string | null> {
  const n = Math.max(0, Math.floor(limit));
  const start = Math.floor(Math.random() * Math.max(n, 1));
  for (let i = 0; i < n; i++) {
    const slot = `${key}:${(start + i) % n}`;
    if (await kv.set(slot, holder, { ifAbsent: true, ttlMs })) return slot;
  }
  return null;
}

/**
 * Auto-scaling by AIMD (additive increase, multiplicative decrease), pure.
 *
 * Each agent kind has an effective concurrency limit between `min` and its
 * configured maximum. Every step of that kind reports its latency and whether
 * the upstream said "too many requests" (a 429). A 429, or a latency over
 * twice the target, halves the limit at once: back off fast when the upstream
 * hurts. Every `window` healthy steps raise it by one: probe upward slowly.
 * This is how TCP shares a link, and for the same reason: many dispatchers
 * converge on what the upstream can take without talking to each other.
 *
 * The target is the kind's own recent latency unless the policy fixes one:
 * twice its moving average, once `window` steps have set that average. An LLM
 * that always takes 20 s is healthy at 20 s; one that takes 20 s after
 * answering in 2 s is struggling. The average follows lasting changes, so a
 * kind that is slower for good stops being penalised for it. The average target
 * has a floor (`floorMs`): millisecond latencies are noise, not a signal.
 */

export interface AimdPolicy {
  min: number;
  max: number;
  /** Latency a healthy step stays under. @default twice the moving average of the kind's latency */
  targetLatencyMs?: number;
  /** Healthy steps per additive increase; also the samples before a moving-average target applies. */
  window: number;
  /**
   * A moving-average target is never under this: a kind that answers in 2 ms is not
   * struggling at 5 ms, and millisecond jitter is noise, not a signal. @default 0
   */
  floorMs?: number;
}

export interface AimdState {
  limit: number;
  /** Healthy steps seen since the last change. */
  healthy: number;
  /** Moving average of the latency seen (EWMA, α = 0.1), and how many samples made it. */
  avgMs?: number;
  samples?: number;
}

const ALPHA = 0.1;

/** The latency target now: the policy's, or twice the moving average once it has `window` samples. */
export function latencyTarget(policy: AimdPolicy, state: AimdState): number {
  if (policy.targetLatencyMs !== undefined) return policy.targetLatencyMs;
  return state.avgMs !== undefined && (state.samples ?? 0) >= policy.window
    ? Math.max(policy.floorMs ?? 0, 2 * state.avgMs)
    : Number.POSITIVE_INFINITY;
}

export interface AimdObservation {
  latencyMs: number;
  rateLimited: boolean;
}

export interface AimdDecision {
  state: AimdState;
  change: { from: number; to: number; reason: string } | null;
}

export function initialAimd(policy: AimdPolicy): AimdState {
  return { limit: policy.max, healthy: 0 };
}

export function observeAimd(policy: AimdPolicy, state: AimdState, seen: AimdObservation): AimdDecision {
  const limit = Math.min(Math.max(state.limit, policy.min), policy.max);
  const target = latencyTarget(policy, state);
  // Only an adaptive target needs the average; a 429's latency says nothing about the upstream's speed.
  const average =
    policy.targetLatencyMs !== undefined || seen.rateLimited
      ? { avgMs: state.avgMs, samples: state.samples }
      : {
          avgMs:
            state.avgMs === undefined ? seen.latencyMs : state.avgMs + ALPHA * (seen.latencyMs - state.avgMs),
          samples: (state.samples ?? 0) + 1,
        };
  const next = (fields: Pick<AimdState, 'limit' | 'healthy'>): AimdState => ({
    ...fields,
    ...(average.avgMs === undefined
      ? {}
      : { avgMs: Math.round(average.avgMs * 10) / 10, samples: average.samples }),
  });
  const overloaded = seen.rateLimited || seen.latencyMs > 2 * target;
  if (overloaded) {
    const to = Math.max(policy.min, Math.floor(limit / 2));
    const reason = seen.rateLimited
      ? 'upstream answered 429'
      : `latency ${Math.round(seen.latencyMs)} ms over twice the ${Math.round(target)} ms target`;
    return {
      state: next({ limit: to, healthy: 0 }),
      change: to === limit ? null : { from: limit, to, reason },
    };
  }
  if (seen.latencyMs > target) return { state: next({ limit, healthy: state.healthy }), change: null };
  const healthy = state.healthy + 1;
  if (healthy < policy.window || limit >= policy.max)
    return { state: next({ limit, healthy: Math.min(healthy, policy.window) }), change: null };
  const under = Number.isFinite(target) ? ` under ${Math.round(target)} ms` : '';
  return {
    state: next({ limit: limit + 1, healthy: 0 }),
    change: { from: limit, to: limit + 1, reason: `${policy.window} healthy steps${under}` },
  };
}

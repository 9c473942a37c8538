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
 */

export interface AimdPolicy {
  min: number;
  max: number;
  /** Latency a healthy step stays under. @default 2000 */
  targetLatencyMs: number;
  /** Healthy steps per additive increase. @default 10 */
  window: number;
}

export interface AimdState {
  limit: number;
  /** Healthy steps seen since the last change. */
  healthy: number;
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
  const overloaded = seen.rateLimited || seen.latencyMs > 2 * policy.targetLatencyMs;
  if (overloaded) {
    const to = Math.max(policy.min, Math.floor(limit / 2));
    const reason = seen.rateLimited
      ? 'upstream answered 429'
      : `latency ${Math.round(seen.latencyMs)} ms over twice the ${policy.targetLatencyMs} ms target`;
    return { state: { limit: to, healthy: 0 }, change: to === limit ? null : { from: limit, to, reason } };
  }
  if (seen.latencyMs > policy.targetLatencyMs)
    return { state: { limit, healthy: state.healthy }, change: null };
  const healthy = state.healthy + 1;
  if (healthy < policy.window || limit >= policy.max)
    return { state: { limit, healthy: Math.min(healthy, policy.window) }, change: null };
  return {
    state: { limit: limit + 1, healthy: 0 },
    change: {
      from: limit,
      to: limit + 1,
      reason: `${policy.window} healthy steps under ${policy.targetLatencyMs} ms`,
    },
  };
}

/** Each agent kind's concurrency limit: as configured, and as auto-scaling has set it. Pure. */
import type { PoolLimits, ScalingDecision, ScalingDecisions } from './api.ts';

export interface AgentKindLimit {
  kind: string;
  /** The configured maximum: its own entry, or the default for kinds not listed. */
  configured: number;
  /** The AIMD limit now. */
  effective: number;
  /**
   * Where `effective` comes from: the server's report (the stats' limits in force, or the
   * decisions' effective limits), the latest decision shown (a kind the server reports none for:
   * a limit only moves by a decision), or the configured maximum (no decision shown: AIMD starts
   * at the maximum).
   */
  source: 'reported' | 'decision' | 'configured';
  /** The latest decision shown for this kind. */
  lastChange: ScalingDecision | undefined;
}

/**
 * One row per agent kind that is configured by name, reported in force or has a decision shown;
 * configured ones first. `inForce`: the stats' `limitsInForce.perAgentKind`, when the server sends it.
 */
export function agentKindLimits(
  limits: PoolLimits,
  scaling: ScalingDecisions | undefined,
  inForce: Record<string, number> = {},
): AgentKindLimit[] {
  const decisions = scaling?.decisions ?? [];
  const reported = { ...scaling?.effectiveLimits, ...inForce };
  const kinds = [
    ...new Set([
      ...Object.keys(limits.perAgentKind),
      ...Object.keys(scaling?.effectiveLimits ?? {}),
      ...Object.keys(inForce).sort(),
      ...decisions.flatMap((d) => (d.agentKind === undefined ? [] : [d.agentKind])).sort(),
    ]),
  ];
  return kinds.map((kind) => {
    const configured = limits.perAgentKind[kind] ?? limits.defaultPerAgentKind;
    // Newest first: the first decision for a kind is its latest.
    const lastChange = decisions.find((d) => d.agentKind === kind);
    const fromServer = reported[kind];
    if (fromServer !== undefined) return { kind, configured, effective: fromServer, source: 'reported', lastChange };
    if (lastChange) return { kind, configured, effective: lastChange.to, source: 'decision', lastChange };
    return { kind, configured, effective: configured, source: 'configured', lastChange };
  });
}

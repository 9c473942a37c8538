/** Each agent kind's concurrency limit: as configured, and as auto-scaling has set it. Pure. */
import type { PoolLimits, ScalingDecision, ScalingDecisions } from './api.ts';

export interface AgentKindLimit {
  kind: string;
  /** The configured maximum: its own entry, or the default for kinds not listed. */
  configured: number;
  /** The AIMD limit now. */
  effective: number;
  /**
   * Where `effective` comes from: the server's report (kinds configured by name), the latest
   * decision shown (other kinds: the server reports none, and a limit only moves by a decision),
   * or the configured maximum (no decision shown: AIMD starts at the maximum).
   */
  source: 'reported' | 'decision' | 'configured';
  /** The latest decision shown for this kind. */
  lastChange: ScalingDecision | undefined;
}

/** One row per agent kind that is configured by name or has a decision shown; configured ones first. */
export function agentKindLimits(limits: PoolLimits, scaling: ScalingDecisions | undefined): AgentKindLimit[] {
  const decisions = scaling?.decisions ?? [];
  const reported = scaling?.effectiveLimits ?? {};
  const kinds = [
    ...new Set([
      ...Object.keys(limits.perAgentKind),
      ...Object.keys(reported),
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

/**
 * `seraphim pool …`: the resource pool from the terminal. How full it is, what
 * auto-scaling changed and why, and each workspace's weight, budget and cap.
 */
import type { z } from 'zod';
import { PRIORITY_CLASSES } from '../platform/orchestrator.js';
import { WorkspacePoolPatchSchema } from '../platform/pool/model.js';
import { decimal, printer, wholeNumber } from './args.js';
import { CliError, cliApi, EXIT } from './client.js';
import { instantText, latency, pairs, table } from './format.js';

export interface PoolOptions {
  url: string;
  json: boolean;
  limit?: string | undefined;
  weight?: string | undefined;
  budget?: string | undefined;
  cap?: string | undefined;
}

export const POOL_USAGE = [
  'seraphim pool stats',
  'seraphim pool decisions [--limit N]',
  'seraphim pool settings WORKSPACE [--weight N] [--budget N] [--cap N|none]',
  '  common: [--url URL] [--json]',
].join('\n');

/** The most decisions one page of the API holds. */
const DECISIONS_MAX = 200;

/** The flag that sets each field of a settings change, to name it in an error. */
const SETTING_FLAGS: Record<string, string> = {
  weight: '--weight',
  queueBudget: '--budget',
  maxConcurrent: '--cap',
};

/** The settings change the flags ask for, checked against the same bounds as the API's. */
function settingsPatch(opts: PoolOptions): z.infer<typeof WorkspacePoolPatchSchema> {
  const patch = {
    ...(opts.weight === undefined ? {} : { weight: decimal(opts.weight, '--weight') }),
    ...(opts.budget === undefined ? {} : { queueBudget: decimal(opts.budget, '--budget') }),
    ...(opts.cap === undefined
      ? {}
      : { maxConcurrent: opts.cap.trim() === 'none' ? null : decimal(opts.cap, '--cap') }),
  };
  const parsed = WorkspacePoolPatchSchema.safeParse(patch);
  if (!parsed.success) {
    const reasons = parsed.error.issues.map(
      (issue) => `${SETTING_FLAGS[String(issue.path[0])] ?? String(issue.path[0])}: ${issue.message}`,
    );
    throw new CliError(reasons.join('\n'), EXIT.usage);
  }
  return parsed.data;
}

/** Priority classes from the most urgent down, then any the platform does not know. */
function byPriority([a]: [string, unknown], [b]: [string, unknown]): number {
  const rank = (p: string) => {
    const i = (PRIORITY_CLASSES as readonly string[]).indexOf(p);
    return i === -1 ? PRIORITY_CLASSES.length : i;
  };
  return rank(a) - rank(b) || a.localeCompare(b);
}

const percent = (ratio: number) => `${Math.round(ratio * 100)}%`;

export async function pool(args: string[], opts: PoolOptions, out: (line: string) => void): Promise<number> {
  const [action, workspace] = args;
  const api = cliApi(opts.url).pool;
  const print = printer(opts.json, out);

  switch (action) {
    case 'stats': {
      const s = await api.stats();
      print(s, () => [
        `Utilisation: ${s.utilisation.running} of ${s.utilisation.limit} steps running (${percent(s.utilisation.ratio)})`,
        `Limits in force: ${s.limitsInForce.global} global, ${s.limitsInForce.perUseCase} per use case; per agent kind: ${pairs(s.limitsInForce.perAgentKind)}`,
        `Throttled: ${s.throttled.lastMinute} in the last minute, ${s.throttled.lastHour} in the last hour; in all: ${pairs(s.throttled.totals)}`,
        '',
        ...table([
          ['QUEUE', 'DEPTH', 'IN FLIGHT'],
          ...s.queues.map((q) => [q.queue, String(q.depth), String(q.inFlight)]),
        ]),
        '',
        ...table([
          ['PRIORITY', 'WAIT P50', 'WAIT P95', 'SAMPLES'],
          ...Object.entries(s.waits)
            .sort(byPriority)
            .map(([priority, w]) => [priority, latency(w.p50Ms), latency(w.p95Ms), String(w.samples)]),
        ]),
        '',
        ...table([
          ['WORKSPACE', 'IN FLIGHT', 'WEIGHT', 'SHARE', 'CAP', 'LIMIT', 'QUEUE BUDGET'],
          ...s.workspaces.map((w) => [
            w.workspace,
            String(w.inFlight),
            String(w.weight),
            String(w.share),
            w.maxConcurrent === null ? 'none' : String(w.maxConcurrent),
            String(w.limit),
            String(w.queueBudget),
          ]),
        ]),
      ]);
      return EXIT.ok;
    }
    case 'decisions': {
      const limit =
        opts.limit === undefined ? 50 : wholeNumber(opts.limit, '--limit', { min: 1, max: DECISIONS_MAX });
      const d = await api.decisions({ query: { limit } });
      print(d, () => [
        `Agent kind limits now: ${pairs(d.effectiveLimits)}`,
        `Step queues now at: ${pairs(d.queueScale, percent)} of their declared dispatch limits`,
        '',
        ...table([
          ['AT', 'FOR', 'CHANGE', 'REASON'],
          ...d.decisions.map((c) => [
            instantText(c.at),
            c.agentKind === undefined ? `queue ${c.queue ?? '?'}` : `agent kind ${c.agentKind}`,
            // A queue's limits move in tenths of what it declares.
            c.agentKind === undefined
              ? `${percent(c.from / 10)} → ${percent(c.to / 10)}`
              : `${c.from} → ${c.to}`,
            c.reason,
          ]),
        ]),
      ]);
      return EXIT.ok;
    }
    case 'settings': {
      if (!workspace) throw new CliError(`settings needs a workspace.\nUsage:\n${POOL_USAGE}`, EXIT.usage);
      const patch = settingsPatch(opts);
      const params = { workspace };
      const settings =
        Object.keys(patch).length === 0
          ? await api.settings({ params })
          : await api.updateSettings({ params, body: patch });
      print(settings, () => [
        `${workspace}: weight ${settings.weight}, queue budget ${settings.queueBudget}, cap ${settings.maxConcurrent ?? 'none'}`,
      ]);
      return EXIT.ok;
    }
    default:
      throw new CliError(`Unknown pool action "${action ?? ''}".\nUsage:\n${POOL_USAGE}`, EXIT.usage);
  }
}

/** `seraphim status`: is the runtime healthy, and how are its queues? */
import { cliApi, EXIT } from './client.js';
import { duration, table } from './format.js';

export async function status(
  opts: { url: string; json: boolean },
  out: (line: string) => void,
): Promise<number> {
  const api = cliApi(opts.url).system;
  const [health, queues] = await Promise.all([api.health(), api.queues()]);
  const code = health.status === 'ok' ? EXIT.ok : EXIT.unhealthy;
  if (opts.json) {
    out(JSON.stringify({ url: opts.url, health, queues: queues.queues }, null, 2));
    return code;
  }
  out(
    `Seraphim ${health.version} at ${opts.url}: ${health.status.toUpperCase()} (${health.runtime} runtime, node ${health.node}, up ${duration(health.uptimeMs)})`,
  );
  for (const [name, check] of Object.entries(health.checks)) {
    out(
      `  ${check.status === 'ok' ? 'ok     ' : 'FAILING'} ${name}${check.detail ? `: ${check.detail}` : ''}`,
    );
  }
  out('');
  const rows = table([
    ['QUEUE', 'DEPTH', 'IN FLIGHT', 'OLDEST', 'DEAD'],
    ...queues.queues.map((q) => [
      q.queue,
      String(q.depth),
      String(q.inFlight),
      q.oldestAgeMs > 0 ? duration(q.oldestAgeMs) : '-',
      String(q.deadLettered),
    ]),
  ]);
  for (const row of rows) out(row);
  return code;
}

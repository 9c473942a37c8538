/**
 * `seraphim executions …` and `seraphim run`: executions from the terminal,
 * with the same debugging tools as the API and Mission Control.
 */
import { z } from 'zod';
import { ExecutionSchema } from '../orchestrators/executions/model.js';
import { instant, parseJson, wholeNumber } from './args.js';
import { type ApiMethod, apiCall, CliError, EXIT } from './client.js';
import { instantText, table } from './format.js';

const Summary = z.object({
  id: z.string(),
  useCaseId: z.string(),
  status: z.string(),
  paused: z.boolean(),
  createdAt: z.number(),
  steps: z.object({ total: z.number(), settled: z.number(), failed: z.number(), waiting: z.number() }),
  error: z.string().nullable(),
});
const List = z.object({ executions: z.array(Summary), nextCursor: z.string().optional() });
const Timeline = z.object({
  timeline: z.array(
    z.object({
      stepId: z.string(),
      status: z.string(),
      attempts: z.number(),
      durationMs: z.number().nullable(),
      cacheHit: z.boolean(),
      error: z.string().nullable(),
      checkpoints: z.array(z.number()),
      inputs: z.unknown(),
      output: z.unknown(),
    }),
  ),
});
const Diff = z.object({
  context: z.array(
    z.object({ key: z.string(), change: z.string(), before: z.unknown(), after: z.unknown() }),
  ),
  steps: z.array(
    z.object({ stepId: z.string(), before: z.string().nullable(), after: z.string().nullable() }),
  ),
});
const Checkpoints = z.object({
  checkpoints: z.array(
    z.object({ n: z.number(), at: z.number(), stepId: z.string(), attempt: z.number(), status: z.string() }),
  ),
  nextCursor: z.string().optional(),
});
const Rerun = z.object({
  inputs: z.unknown(),
  result: z.unknown(),
  error: z.unknown(),
  durationMs: z.number(),
});

export interface ExecutionsOptions {
  url: string;
  workspace: string;
  json: boolean;
  useCase?: string | undefined;
  status?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  input?: string | undefined;
  comment?: string | undefined;
  limit?: string | undefined;
  at?: string | undefined;
}

/** The most checkpoints one page of the API holds. */
const CHECKPOINTS_MAX = 200;

export const EXECUTIONS_USAGE = [
  'seraphim executions list [--use-case ID] [--status S] [--limit N]',
  'seraphim executions show|timeline ID',
  'seraphim executions checkpoints ID [--limit N]',
  'seraphim executions diff ID --from N --to M',
  'seraphim executions fork ID --from N [--input JSON]',
  'seraphim executions pause|resume|cancel ID',
  'seraphim executions retry|approve|reject|rerun ID STEP [--comment TEXT]',
  'seraphim executions reschedule ID STEP --at ISO-8601|ms',
  'seraphim executions run USE_CASE [--input JSON]',
  '  common: [--workspace W (default demo)] [--url URL] [--json]',
].join('\n');

export async function executions(
  args: string[],
  opts: ExecutionsOptions,
  out: (line: string) => void,
): Promise<number> {
  const [action, id, step] = args;
  const base = `/api/executions/workspaces/${encodeURIComponent(opts.workspace)}`;
  const call = <T>(method: ApiMethod, path: string, body: unknown, schema: z.ZodType<T>) =>
    apiCall(opts.url, method, `${base}${path}`, body, schema);
  const need = (value: string | undefined, name: string): string => {
    if (!value) throw new CliError(`${action} needs ${name}.\nUsage:\n${EXECUTIONS_USAGE}`, EXIT.usage);
    return value;
  };
  const print = (value: unknown, human: () => string[]) => {
    for (const line of opts.json ? [JSON.stringify(value, null, 2)] : human()) out(line);
  };
  const exec = (path: string, body?: unknown) =>
    call('POST', `/executions/${need(id, 'an execution id')}${path}`, body ?? {}, ExecutionSchema);
  const stateLines = (e: z.infer<typeof ExecutionSchema>) => [
    `${e.id}  ${e.useCaseId} v${e.useCaseVersion}  ${e.status.toUpperCase()}${e.paused ? ' (paused)' : ''}`,
    ...(e.error ? [`error: ${e.error.message}`] : []),
    ...table([
      ['STEP', 'STATUS', 'ATTEMPTS', 'NOTE'],
      ...Object.entries(e.steps).map(([stepId, s]) => [
        stepId,
        s.status,
        String(s.attempts),
        s.error?.message ??
          (s.waitingFor === 'human' ? `waiting: ${s.prompt ?? ''}` : s.cacheHit ? 'cache hit' : ''),
      ]),
    ]),
  ];
  const showState = (e: z.infer<typeof ExecutionSchema>) => print(e, () => stateLines(e));

  switch (action) {
    case 'list': {
      const limit = opts.limit === undefined ? 50 : wholeNumber(opts.limit, '--limit', { min: 1, max: 200 });
      const query = new URLSearchParams({ limit: String(limit) });
      if (opts.useCase) query.set('useCase', opts.useCase);
      if (opts.status) query.set('status', opts.status);
      const list = await call('GET', `/executions?${query}`, undefined, List);
      print(list, () =>
        table([
          ['ID', 'USE CASE', 'STATUS', 'STEPS', 'CREATED', 'ERROR'],
          ...list.executions.map((e) => [
            e.id,
            e.useCaseId,
            e.paused ? `${e.status} (paused)` : e.status,
            `${e.steps.settled}/${e.steps.total}`,
            new Date(e.createdAt).toISOString(),
            e.error ?? '',
          ]),
        ]),
      );
      return EXIT.ok;
    }
    case 'show':
      showState(await call('GET', `/executions/${need(id, 'an execution id')}`, undefined, ExecutionSchema));
      return EXIT.ok;
    case 'timeline': {
      const t = await call('GET', `/executions/${need(id, 'an execution id')}/timeline`, undefined, Timeline);
      print(t, () =>
        table([
          ['STEP', 'STATUS', 'ATTEMPTS', 'MS', 'CACHE', 'CHECKPOINTS', 'ERROR'],
          ...t.timeline.map((s) => [
            s.stepId,
            s.status,
            String(s.attempts),
            s.durationMs === null ? '-' : String(s.durationMs),
            s.cacheHit ? 'hit' : '',
            s.checkpoints.join(','),
            s.error ?? '',
          ]),
        ]),
      );
      return EXIT.ok;
    }
    case 'checkpoints': {
      const executionId = need(id, 'an execution id');
      const limit =
        opts.limit === undefined ? 50 : wholeNumber(opts.limit, '--limit', { min: 1, max: CHECKPOINTS_MAX });
      const page = await call(
        'GET',
        `/executions/${executionId}/checkpoints?limit=${limit}`,
        undefined,
        Checkpoints,
      );
      print(page, () => [
        ...table([
          ['N', 'STEP', 'ATTEMPT', 'STATUS', 'AT'],
          ...page.checkpoints.map((c) => [
            String(c.n),
            c.stepId,
            String(c.attempt),
            c.status,
            instantText(c.at),
          ]),
        ]),
        ...(page.nextCursor === undefined
          ? []
          : [
              limit < CHECKPOINTS_MAX
                ? `more checkpoints follow: raise --limit (at most ${CHECKPOINTS_MAX})`
                : `more checkpoints follow: these are the first ${CHECKPOINTS_MAX}`,
            ]),
      ]);
      return EXIT.ok;
    }
    case 'diff': {
      const from = Number(need(opts.from, '--from'));
      const to = Number(need(opts.to, '--to'));
      const d = await call(
        'GET',
        `/executions/${need(id, 'an execution id')}/diff?from=${from}&to=${to}`,
        undefined,
        Diff,
      );
      print(d, () => [
        ...d.context.map(
          (c) => `${c.change.padEnd(8)} ${c.key}: ${JSON.stringify(c.before)} → ${JSON.stringify(c.after)}`,
        ),
        ...d.steps.map((s) => `step     ${s.stepId}: ${s.before ?? '-'} → ${s.after ?? '-'}`),
      ]);
      return EXIT.ok;
    }
    case 'pause':
    case 'resume':
    case 'cancel':
      showState(await exec('/control', { action }));
      return EXIT.ok;
    case 'reschedule': {
      const executionId = need(id, 'an execution id');
      const stepId = need(step, 'a step id');
      const at = instant(need(opts.at, '--at'), '--at');
      const e = await call(
        'POST',
        `/executions/${executionId}/steps/${stepId}/reschedule`,
        { at },
        ExecutionSchema,
      );
      const s = e.steps[stepId];
      print(e, () => [
        ...stateLines(e),
        `${stepId}: ${s?.waitingFor === 'human' ? 'decision deadline' : 'resumes at'} ${instantText(s?.resumeAt ?? at)}`,
      ]);
      return EXIT.ok;
    }
    case 'retry':
      showState(await exec(`/steps/${need(step, 'a step id')}/retry`));
      return EXIT.ok;
    case 'approve':
    case 'reject':
      showState(
        await exec(`/steps/${need(step, 'a step id')}/decision`, {
          decision: action === 'approve' ? 'approved' : 'rejected',
          ...(opts.comment ? { comment: opts.comment } : {}),
        }),
      );
      return EXIT.ok;
    case 'rerun': {
      const r = await call(
        'POST',
        `/executions/${need(id, 'an execution id')}/steps/${need(step, 'a step id')}/rerun`,
        {},
        Rerun,
      );
      print(r, () => [
        `inputs: ${JSON.stringify(r.inputs)}`,
        `result: ${JSON.stringify(r.result ?? r.error)}`,
        `took ${r.durationMs.toFixed(1)} ms`,
      ]);
      return r.error ? EXIT.unhealthy : EXIT.ok;
    }
    case 'run': {
      const started = await call(
        'POST',
        '/executions',
        { useCaseId: need(id, 'a use case id'), input: parseJson(opts.input, '--input') },
        ExecutionSchema,
      );
      showState(started);
      return EXIT.ok;
    }
    case 'fork': {
      const executionId = need(id, 'an execution id');
      const checkpoint = wholeNumber(need(opts.from, '--from'), '--from', { min: 0 });
      const forked = await call(
        'POST',
        `/executions/${executionId}/fork`,
        { checkpoint, ...(opts.input === undefined ? {} : { input: parseJson(opts.input, '--input') }) },
        ExecutionSchema,
      );
      print(forked, () => [forked.id]);
      return EXIT.ok;
    }
    default:
      throw new CliError(
        `Unknown executions action "${action ?? ''}".\nUsage:\n${EXECUTIONS_USAGE}`,
        EXIT.usage,
      );
  }
}

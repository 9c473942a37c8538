/**
 * `seraphim executions …` and `seraphim run`: executions from the terminal,
 * with the same debugging tools as the API and Mission Control.
 */
import type { ResponseOf } from '../client/index.js';
import type { executionsApi } from '../orchestrators/executions/api.js';
import { EXECUTION_STATUSES } from '../orchestrators/executions/model.js';
import { instant, parseJson, printer, requirer, wholeNumber } from './args.js';
import { CliError, cliApi, EXIT } from './client.js';
import { instantText, table } from './format.js';

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

type Execution = ResponseOf<typeof executionsApi.get>;

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
  const api = cliApi(opts.url).executions;
  const workspace = opts.workspace;
  const need = requirer(action, EXECUTIONS_USAGE);
  const print = printer(opts.json, out);
  const execution = () => ({ workspace, id: need(id, 'an execution id') });
  const executionStep = () => ({ ...execution(), stepId: need(step, 'a step id') });
  const stateLines = (e: Execution) => [
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
  const showState = (e: Execution) => print(e, () => stateLines(e));

  switch (action) {
    case 'list': {
      const limit = opts.limit === undefined ? 50 : wholeNumber(opts.limit, '--limit', { min: 1, max: 200 });
      const status = EXECUTION_STATUSES.find((s) => s === opts.status);
      if (opts.status !== undefined && status === undefined)
        throw new CliError(`--status must be one of ${EXECUTION_STATUSES.join(', ')}`, EXIT.usage);
      const list = await api.list({
        params: { workspace },
        query: { limit, ...(opts.useCase ? { useCase: opts.useCase } : {}), ...(status ? { status } : {}) },
      });
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
      showState(await api.get({ params: execution() }));
      return EXIT.ok;
    case 'timeline': {
      const t = await api.timeline({ params: execution() });
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
      const params = execution();
      const limit =
        opts.limit === undefined ? 50 : wholeNumber(opts.limit, '--limit', { min: 1, max: CHECKPOINTS_MAX });
      const page = await api.checkpoints({ params, query: { limit } });
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
      const from = wholeNumber(need(opts.from, '--from'), '--from', { min: 0 });
      const to = wholeNumber(need(opts.to, '--to'), '--to', { min: 0 });
      const d = await api.diff({ params: execution(), query: { from, to } });
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
      showState(await api.control({ params: execution(), body: { action } }));
      return EXIT.ok;
    case 'reschedule': {
      const params = executionStep();
      const at = instant(need(opts.at, '--at'), '--at');
      const e = await api.reschedule({ params, body: { at } });
      const stepId = params.stepId;
      const s = e.steps[stepId];
      print(e, () => [
        ...stateLines(e),
        `${stepId}: ${s?.waitingFor === 'human' ? 'decision deadline' : 'resumes at'} ${instantText(s?.resumeAt ?? at)}`,
      ]);
      return EXIT.ok;
    }
    case 'retry':
      showState(await api.retry({ params: executionStep() }));
      return EXIT.ok;
    case 'approve':
    case 'reject':
      showState(
        await api.decide({
          params: executionStep(),
          body: {
            decision: action === 'approve' ? 'approved' : 'rejected',
            ...(opts.comment ? { comment: opts.comment } : {}),
          },
        }),
      );
      return EXIT.ok;
    case 'rerun': {
      const r = await api.rerun({ params: executionStep() });
      print(r, () => [
        `inputs: ${JSON.stringify(r.inputs)}`,
        `result: ${JSON.stringify(r.result ?? r.error)}`,
        `took ${r.durationMs.toFixed(1)} ms`,
      ]);
      return r.error ? EXIT.unhealthy : EXIT.ok;
    }
    case 'run': {
      const started = await api.start({
        params: { workspace },
        body: { useCaseId: need(id, 'a use case id'), input: parseJson(opts.input, '--input') },
      });
      showState(started);
      return EXIT.ok;
    }
    case 'fork': {
      const params = execution();
      const checkpoint = wholeNumber(need(opts.from, '--from'), '--from', { min: 0 });
      const forked = await api.fork({
        params,
        body: {
          checkpoint,
          ...(opts.input === undefined ? {} : { input: parseJson(opts.input, '--input') }),
        },
      });
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

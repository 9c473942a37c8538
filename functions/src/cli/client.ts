/** The CLI's way to the API of a running runtime. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { errorMessage } from '../platform/errors.js';
import { isLoopback } from '../runtimes/embedded/host-check.js';
import { CLI_TOKEN_FILE, readSettings } from '../runtimes/embedded/settings.js';

export const EXIT = {
  ok: 0,
  /** The command worked and the answer is bad news (e.g. the runtime is degraded). */
  unhealthy: 1,
  usage: 2,
  unreachable: 3,
  /** The API answered with an error. */
  api: 4,
} as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export function defaultBaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  return (env.SERAPHIM_URL ?? `http://127.0.0.1:${env.SERAPHIM_PORT ?? '4400'}`).replace(/\/$/, '');
}

let dataDirFlag: string | undefined;

/** `--data-dir`: where the CLI finds the runtime's `cli-token` (default as `serve`). */
export function useDataDir(dir: string | undefined): void {
  dataDirFlag = dir;
}

/**
 * The credential the CLI sends: `SERAPHIM_TOKEN`, else the machine-local
 * token a runtime writes to its data folder. That file is read only for a
 * runtime on this machine (a loopback URL): it must never travel elsewhere.
 */
export function cliCredential(baseUrl: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.SERAPHIM_TOKEN) return env.SERAPHIM_TOKEN;
  let host: string;
  try {
    host = new URL(baseUrl).hostname;
  } catch {
    return undefined;
  }
  if (!isLoopback(host)) return undefined;
  const dir = dataDirFlag ?? readSettings({ SERAPHIM_DATA_DIR: env.SERAPHIM_DATA_DIR }).SERAPHIM_DATA_DIR;
  try {
    return readFileSync(join(dir, CLI_TOKEN_FILE), 'utf8').trim() || undefined;
  } catch {
    return undefined; // no runtime has run there: on loopback in local mode none is needed
  }
}

const ProblemBody = z.object({ code: z.string(), title: z.string(), detail: z.string().optional() });

export async function apiGet<T>(baseUrl: string, path: string, schema: z.ZodType<T>): Promise<T> {
  return apiCall(baseUrl, 'GET', path, undefined, schema);
}

export type ApiMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export async function apiCall<T>(
  baseUrl: string,
  method: ApiMethod,
  path: string,
  body: unknown,
  schema: z.ZodType<T>,
): Promise<T> {
  let response: Response;
  const token = cliCredential(baseUrl);
  try {
    response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        accept: 'application/json',
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw new CliError(
      `Cannot reach Seraphim at ${baseUrl} (${errorMessage(error)}). Is it running? Start it with: npm start`,
      EXIT.unreachable,
    );
  }
  const text = await response.text();
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    throw new CliError(
      `${baseUrl}${path} answered ${response.status} with a body that is not JSON`,
      EXIT.api,
    );
  }
  if (!response.ok) {
    const problem = ProblemBody.safeParse(answer);
    const detail = problem.success
      ? `${problem.data.code}: ${problem.data.detail ?? problem.data.title}`
      : text.slice(0, 200);
    throw new CliError(`${path} failed with HTTP ${response.status} (${detail})`, EXIT.api);
  }
  const parsed = schema.safeParse(answer);
  if (!parsed.success)
    throw new CliError(`${path} answered in an unexpected shape: ${parsed.error.message}`, EXIT.api);
  return parsed.data;
}

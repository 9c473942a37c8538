/** The CLI's way to the API of a running runtime. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ApiClient, type ApiError, createApiClient } from '../client/index.js';
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

/** The typed API client the commands call, with the CLI's credential and a 30 s limit on each call. */
export function cliApi(baseUrl: string): ApiClient {
  const token = cliCredential(baseUrl);
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  return createApiClient({
    baseUrl,
    headers: () => headers,
    fetch: (input, init) => fetch(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(30_000) }),
  });
}

/** What a failed API call tells the person at the terminal, and the exit code it ends with. */
export function cliFailure(error: ApiError): CliError {
  if (error.code === 'unreachable')
    return new CliError(
      `${error.message} (${error.detail ?? 'no answer'}). Is it running? Start it with: npm start`,
      EXIT.unreachable,
    );
  if (error.code === 'unexpected-response')
    return new CliError(`${error.message}${error.detail ? `: ${error.detail}` : ''}`, EXIT.api);
  // Every problem the API listed, each at its field: an author fixes them all in one pass.
  const fields = error.errors.slice(0, 50).map((f) => `\n  ${f.path || '/'}: ${f.message}`);
  return new CliError(
    `${error.path} failed with HTTP ${error.status} (${error.code}: ${error.detail ?? error.message})${fields.join('')}`,
    EXIT.api,
  );
}

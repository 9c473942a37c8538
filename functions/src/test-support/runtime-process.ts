/**
 * Starts the real embedded runtime as a child process (the built CLI), as a
 * user would with `npm start`: for tests of shutdown, crash recovery and the
 * browser tests. Needs `functions/lib` (npm test builds it first).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(fileURLToPath(new URL('../../../', import.meta.url)));
export const CLI = join(REPO, 'functions', 'lib', 'cli', 'main.js');

export interface RuntimeProcess {
  url: string;
  dataDir: string;
  child: ChildProcess;
  /** Everything the process printed so far. */
  output(): string;
  /** Sends `signal` and resolves with the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Stops (SIGKILL if still running) and deletes the data folder unless `keepData`. */
  dispose(opts?: { keepData?: boolean }): Promise<void>;
}

export async function startRuntimeProcess(
  opts: { dataDir?: string; env?: Record<string, string>; args?: string[]; timeoutMs?: number } = {},
): Promise<RuntimeProcess> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first with \`npm run build -w functions\``);
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'seraphim-runtime-'));
  const child = spawn(
    process.execPath,
    [
      '--disable-warning=ExperimentalWarning',
      CLI,
      'serve',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--data-dir',
      dataDir,
      ...(opts.args ?? []),
    ],
    {
      cwd: REPO,
      env: { ...process.env, SERAPHIM_LOG_LEVEL: 'WARNING', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const exited = new Promise<number | null>((resolvePromise) =>
    child.once('exit', (code) => resolvePromise(code)),
  );
  const url = await new Promise<string>((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // a hung start-up must not outlive the test, holding its port and data folder
      reject(new Error(`runtime did not start within ${opts.timeoutMs ?? 20_000} ms:\n${out}`));
    }, opts.timeoutMs ?? 20_000);
    const check = () => {
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match?.[1]) {
        clearTimeout(timer);
        resolvePromise(match[1]);
      }
    };
    child.stdout?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`runtime exited with ${code} before listening:\n${out}`));
    });
  });
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  return {
    url,
    dataDir,
    child,
    output: () => out,
    stop,
    dispose: async ({ keepData = false } = {}) => {
      await stop('SIGKILL');
      if (!keepData && !opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/// <reference types="node" />
/**
 * The server the browser tests run against: the real embedded runtime, started
 * as `npm start` starts it (the built CLI), on a free port and an empty data
 * folder, serving the built Mission Control at `/` and the API at `/api/**`.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startRuntimeProcess } from '../../functions/src/test-support/runtime-process.ts';

export interface ServerUnderTest {
  /** Origin without a trailing slash, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Everything the runtime printed so far (e.g. its one-time owner link). */
  output(): string;
  stop(): Promise<void>;
}

const BUILD_INDEX = fileURLToPath(new URL('../build/index.html', import.meta.url));

/** @param env more settings for the runtime, e.g. `SERAPHIM_AUTH=session` */
export async function startServer(env: Record<string, string> = {}): Promise<ServerUnderTest> {
  if (!existsSync(BUILD_INDEX)) throw new Error('hosting/build is missing: run `npm run build` first');
  const runtime = await startRuntimeProcess({
    env: { SERAPHIM_STATIC_DIR: fileURLToPath(new URL('../build', import.meta.url)), ...env },
  });
  return { url: runtime.url, output: () => runtime.output(), stop: () => runtime.dispose() };
}

/** `seraphim serve`: the embedded runtime with Mission Control, until Ctrl-C. */

import { orchestrators } from '../orchestrators/registry.js';
import { envConfig, SERAPHIM_VERSION } from '../platform/config.js';
import { errorMessage } from '../platform/errors.js';
import { createLogger } from '../platform/logger.js';
import { poolLimitsFromConfig } from '../platform/pool/model.js';
import { seedDemo } from '../runtimes/embedded/demo.js';
import { EmbeddedRuntime } from '../runtimes/embedded/runtime.js';
import { ListenError, listenHttp } from '../runtimes/embedded/server.js';
import { readSettings, signInMode } from '../runtimes/embedded/settings.js';
import { DatabaseStateError } from '../runtimes/embedded/sqlite.js';
import { serveBanner } from './banner.js';
import { CliError, EXIT } from './client.js';

export interface ServeOptions {
  port?: number;
  host?: string;
  dataDir?: string;
  demo?: boolean;
}

export async function serve(opts: ServeOptions, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const settings = readSettings({
    ...env,
    ...(opts.port === undefined ? {} : { SERAPHIM_PORT: String(opts.port) }),
    ...(opts.host === undefined ? {} : { SERAPHIM_HOST: opts.host }),
    ...(opts.dataDir === undefined ? {} : { SERAPHIM_DATA_DIR: opts.dataDir }),
    ...(opts.demo === undefined ? {} : { SERAPHIM_DEMO: opts.demo ? '1' : '0' }),
  });
  // The pool's limits are read when first used; a bad one should stop start-up, not the first step.
  poolLimitsFromConfig(envConfig(env));
  const logger = createLogger({ level: settings.SERAPHIM_LOG_LEVEL, fields: { runtime: 'embedded' } });
  const auth = signInMode(settings);
  // The port first: a clash must stop start-up before the data folder is locked or anything is seeded.
  const http = await listenHttp({
    staticDir: settings.SERAPHIM_STATIC_DIR,
    host: settings.SERAPHIM_HOST,
    port: settings.SERAPHIM_PORT,
    maxBodyBytes: settings.SERAPHIM_MAX_BODY_BYTES,
    allowedHosts: settings.SERAPHIM_ALLOWED_HOSTS,
  }).catch((error: unknown) => {
    throw error instanceof ListenError ? new CliError(error.message, EXIT.usage) : error;
  });
  let runtime: EmbeddedRuntime | undefined;
  try {
    runtime = new EmbeddedRuntime({
      orchestrators,
      auth,
      dataDir: settings.SERAPHIM_DATA_DIR,
      env,
      logger,
      version: SERAPHIM_VERSION,
      spanRetention: {
        keepSpans: settings.SERAPHIM_TRACE_KEEP_SPANS,
        keepDays: settings.SERAPHIM_TRACE_KEEP_DAYS,
      },
      // Upstash is optional on one machine; its client loads only when configured.
      ...(settings.UPSTASH_REDIS_REST_URL
        ? { kv: (await import('../runtimes/firebase/upstash-kv.js')).createUpstashKv(envConfig(env)) }
        : {}),
    });
    if (settings.SERAPHIM_DEMO === '1') {
      const seeded = await seedDemo(runtime.ports.documents);
      if (seeded.created > 0) logger.info('Seeded demo data', seeded);
    }
    runtime.start();
    if (settings.SERAPHIM_DEMO === '1') {
      const { engine } = await import('../orchestrators/executions/index.js');
      const { seedExecutionsDemo } = await import('../orchestrators/executions/demo.js');
      const demo = await seedExecutionsDemo({ ...runtime.ports, correlationId: 'demo-seed' }, engine);
      if (demo.seeded) logger.info('Seeded the claims-triage demo use case and its executions');
      const { seedTemplateDemo } = await import('../orchestrators/use-cases/demo.js');
      const templates = await seedTemplateDemo(
        { ...runtime.ports, correlationId: 'demo-seed' },
        engine,
        'demo',
      );
      if (templates.installed.length > 0)
        logger.info('Installed a demo use case from each built-in template, and ran its samples', templates);
    }
  } catch (error) {
    // Nothing may outlive a failed start: the port, the timers and the lock would keep the process up.
    await http.close();
    await runtime?.stop({ graceMs: 0 });
    // The data folder cannot be used (in use, damaged, emptied, newer): the operator must act, as on a port clash.
    throw error instanceof DatabaseStateError ? new CliError(error.message, EXIT.usage) : error;
  }
  http.serve(runtime);
  runtime.people.baseUrl = http.url;
  // Its first line is the one scripts and tests wait for; keep its shape.
  const banner = serveBanner({
    version: SERAPHIM_VERSION,
    bound: http.bound,
    url: http.url,
    dataDir: settings.SERAPHIM_DATA_DIR,
    auth,
    allowedHosts: settings.SERAPHIM_ALLOWED_HOSTS,
  });
  // One write: a reader that has the first line has the warnings too.
  process.stdout.write(`${[...banner.lines, ...banner.warnings].join('\n')}\n`);
  if (auth === 'session') {
    const ownerLink = await runtime.sessions.ownerLink();
    process.stdout.write(
      ownerLink
        ? `  Sign-in required. Open this one-time link (valid 24 h) to become the owner:\n\n    ${ownerLink}\n\n`
        : '  Sign-in required (sessions).\n',
    );
  }

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      process.stderr.write('Forced exit.\n');
      process.exit(130);
    }
    stopping = true;
    process.stderr.write(
      `\n${signal}: stopping (in-flight work finishes or hands back its lease; Ctrl-C again to force)...\n`,
    );
    http
      .close()
      .then(() => runtime.stop({ graceMs: 10_000 }))
      .then((result) => {
        process.stderr.write(`Stopped cleanly (${result.finished} finished, ${result.released} released).\n`);
        process.exit(0);
      })
      .catch((error: unknown) => {
        process.stderr.write(`Stop failed: ${errorMessage(error)}\n`);
        process.exit(1);
      });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

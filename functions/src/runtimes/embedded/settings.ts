/** The embedded runtime's settings, from an environment passed in. */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { Env } from '../../platform/config.js';
import { InvalidInputError } from '../../platform/errors.js';
import { zodFields } from '../../platform/problem.js';
import { isLoopback } from './host-check.js';

/** The repository root, found from this file (lib/runtimes/embedded or src/runtimes/embedded). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

/** In the data folder: the machine-local credential the CLI sends (`Authorization: Bearer`). */
export const CLI_TOKEN_FILE = 'cli-token';

const SettingsSchema = z.object({
  SERAPHIM_HOST: z.string().min(1).default('127.0.0.1'),
  SERAPHIM_PORT: z.coerce.number().int().min(0).max(65535).default(4400),
  SERAPHIM_DATA_DIR: z.string().min(1).default(join(REPO_ROOT, '.data')),
  SERAPHIM_STATIC_DIR: z
    .string()
    .min(1)
    .default(join(REPO_ROOT, 'hosting', 'build')),
  SERAPHIM_LOG_LEVEL: z.enum(['DEBUG', 'INFO', 'WARNING', 'ERROR']).default('INFO'),
  SERAPHIM_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(32 * 1024 * 1024)
    .default(1024 * 1024),
  SERAPHIM_DEMO: z.enum(['0', '1']).default('1'),
  UPSTASH_REDIS_REST_URL: z.url().optional(),
  /** `session` requires sign-in even on loopback; `local` is refused beyond loopback. Default: by the bind address. */
  SERAPHIM_AUTH: z.enum(['local', 'session']).optional(),
  SERAPHIM_ALLOWED_HOSTS: z
    .string()
    .optional()
    .transform((v) =>
      (v ?? '')
        .split(',')
        .map((h) => h.trim())
        .filter(Boolean),
    ),
});

export type EmbeddedSettings = z.infer<typeof SettingsSchema>;

export function readSettings(env: Env = process.env): EmbeddedSettings {
  const defined = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = SettingsSchema.safeParse(defined);
  if (!parsed.success) {
    const fields = zodFields(parsed.error, 'env');
    throw new InvalidInputError(
      `Bad configuration: ${fields.map((f) => `${f.path}: ${f.message}`).join('; ')}`,
      fields,
    );
  }
  return parsed.data;
}

/**
 * How people sign in: nobody on a loopback address (the person at the machine
 * is the owner), sessions beyond it. A shared machine forces sessions on
 * loopback too; `local` beyond loopback would open the API to the network.
 */
export function signInMode(
  settings: Pick<EmbeddedSettings, 'SERAPHIM_HOST' | 'SERAPHIM_AUTH'>,
): 'local' | 'session' {
  const loopback = isLoopback(settings.SERAPHIM_HOST);
  if (settings.SERAPHIM_AUTH === 'local' && !loopback) {
    throw new InvalidInputError(
      `SERAPHIM_AUTH=local is refused on ${settings.SERAPHIM_HOST}: without sign-in, anyone who reaches that address would own this runtime. Bind to 127.0.0.1, or drop SERAPHIM_AUTH to require sign-in.`,
      [{ path: 'env.SERAPHIM_AUTH', message: 'local needs a loopback SERAPHIM_HOST' }],
    );
  }
  return settings.SERAPHIM_AUTH ?? (loopback ? 'local' : 'session');
}

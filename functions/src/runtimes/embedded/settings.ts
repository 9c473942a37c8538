/** The embedded runtime's settings, from an environment passed in. */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { Env } from '../../platform/config.js';
import { InvalidInputError } from '../../platform/errors.js';
import { zodFields } from '../../platform/problem.js';

/** The repository root, found from this file (lib/runtimes/embedded or src/runtimes/embedded). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

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
  SERAPHIM_TRACE_KEEP_SPANS: z.coerce.number().int().min(100).default(100_000),
  SERAPHIM_TRACE_KEEP_DAYS: z.coerce.number().positive().default(7),
  UPSTASH_REDIS_REST_URL: z.url().optional(),
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

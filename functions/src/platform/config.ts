/**
 * Configuration and secrets, read at call time from an environment passed in
 * (never `process.env` at import), so tests hand in a plain object.
 */
import { PermanentError } from './errors.js';
import { redactValue } from './logger.js';
import type { ConfigSource } from './ports.js';
import { prefixedSecrets, type UseCaseSecrets } from './secrets.js';

export type Env = Record<string, string | undefined>;

/**
 * Plain settings come from `env`; the platform's secrets from `secrets` (the
 * firebase runtime passes `defineSecret` values there) and else from `env`.
 * Use cases' secrets are the declared ones alone (platform/secrets.ts): by
 * default `SERAPHIM_SECRET_<NAME>` variables of `env`.
 */
export function envConfig(
  env: Env = process.env,
  secrets: (name: string) => string | undefined = () => undefined,
  useCaseSecrets: UseCaseSecrets = prefixedSecrets(
    (name) => env[name],
    (name) => env[name],
  ),
): ConfigSource {
  return {
    useCaseSecrets,
    get(name, fallback) {
      const value = env[name];
      return value === undefined || value === '' ? fallback : value;
    },
    secret(name) {
      const value = secrets(name) ?? env[name];
      if (value === undefined || value === '') {
        throw new PermanentError(`Secret ${name} is not configured`, { details: { secret: name } });
      }
      redactValue(value);
      return value;
    },
  };
}

/** The package version, for health and OpenAPI; one place to bump. */
export const SERAPHIM_VERSION = '0.1.0';

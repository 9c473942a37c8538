/**
 * A use case's secrets (an `http` step's partner token) come from a declared
 * store, never from whatever the process environment holds: a use case could
 * otherwise name `HOME`, `SERAPHIM_HTTP_ALLOW` or any other variable and send
 * it to a host of its choosing, where scrubbing exact values cannot follow it
 * (base64, reversed, ...).
 *
 * A secret NAME is declared as `SERAPHIM_SECRET_<NAME>`: an environment
 * variable on the embedded runtime, a secret bound to the functions on
 * Firebase (runtimes/firebase/params.ts). `SERAPHIM_SECRET_<NAME>_WORKSPACES`
 * (a plain setting on both) lists the workspaces that may use it,
 * comma-separated, or `*` for every one; without it, none may.
 *
 * The platform's own secrets (the kv token, an llm provider's key) are not
 * these: they are read with `ConfigSource.secret` and never handed to a use case.
 */
import { PermanentError } from './errors.js';
import { redactValue } from './logger.js';

export const USE_CASE_SECRET_PREFIX = 'SERAPHIM_SECRET_';
const SCOPE_SUFFIX = '_WORKSPACES';

export interface UseCaseSecrets {
  /**
   * Why `workspace` may not use the secret `name`, or null when it may. An
   * undeclared secret and one scoped to other workspaces get the same answer,
   * so that a workspace's admins cannot learn what other workspaces hold.
   */
  refusal(name: string, workspace: string): string | null;
  /** The value, blanked from every log line from now on; PermanentError with the refusal otherwise. */
  read(name: string, workspace: string): string;
}

/**
 * @param value the value of a declared secret by its full name (`SERAPHIM_SECRET_<NAME>`), undefined when it is not declared
 * @param setting a plain setting (the scope, `SERAPHIM_SECRET_<NAME>_WORKSPACES`)
 * @example prefixedSecrets((n) => env[n], (n) => env[n]).read('PARTNER_TOKEN', 'acme')
 */
export function prefixedSecrets(
  value: (declaredName: string) => string | undefined,
  setting: (name: string) => string | undefined,
): UseCaseSecrets {
  const refusal = (name: string, workspace: string): string | null => {
    const declared = `${USE_CASE_SECRET_PREFIX}${name}`;
    const scope = (setting(`${declared}${SCOPE_SUFFIX}`) ?? '')
      .split(',')
      .map((w) => w.trim())
      .filter(Boolean);
    const usable =
      !name.endsWith(SCOPE_SUFFIX) &&
      (value(declared) ?? '') !== '' &&
      (scope.includes('*') || scope.includes(workspace));
    if (usable) return null;
    const hint = /_API_KEY$/.test(name)
      ? ' (an llm provider key is the platform\'s: the llm agent reads it itself, so leave it out of "secrets")'
      : '';
    return `Secret ${name} is not declared for workspace "${workspace}": declare ${declared}, with ${declared}${SCOPE_SUFFIX} naming the workspaces that may use it${hint}`;
  };
  return {
    refusal,
    read(name, workspace) {
      const refused = refusal(name, workspace);
      const secret = value(`${USE_CASE_SECRET_PREFIX}${name}`);
      if (refused !== null || !secret) {
        throw new PermanentError(refused ?? `Secret ${name} is empty`, { details: { secret: name } });
      }
      redactValue(secret);
      return secret;
    },
  };
}

/**
 * Every setting and secret the firebase runtime reads, declared as
 * firebase-functions params, so that `firebase deploy` knows them: it asks for
 * a setting without a default (and stores the answer in `functions/.env.<project>`),
 * and for a secret that Secret Manager does not hold yet. At run time each is
 * an environment variable, which the config port reads as on every runtime
 * (platform/config.ts). Secrets are bound to every function, as any handler
 * may reach kv or an agent.
 *
 * A use case's own secrets (an `http` agent's partner token) are the bound
 * secrets named `SERAPHIM_SECRET_<NAME>` (platform/secrets.ts) and nothing
 * else: declare each in USE_CASE_SECRETS, and name the workspaces that may
 * use it in `SERAPHIM_SECRET_<NAME>_WORKSPACES` (functions/.env.<project>).
 * A variable of the functions' environment is never a use case's secret.
 */
import { defineSecret, defineString } from 'firebase-functions/params';

/** The Upstash token (kv): required. */
export const UPSTASH_REDIS_REST_TOKEN = defineSecret('UPSTASH_REDIS_REST_TOKEN');
/** The `llm` agent's key (its default provider). */
export const LLM_API_KEY = defineSecret('LLM_API_KEY');

/**
 * The secrets use cases may name, each `SERAPHIM_SECRET_<NAME>`.
 * @example [defineSecret('SERAPHIM_SECRET_PARTNER_TOKEN')]
 */
export const USE_CASE_SECRETS: ReturnType<typeof defineSecret>[] = [];

/** Secrets to bind to each function; `.value()` is only ever read inside a handler. */
export const FUNCTION_SECRETS = [UPSTASH_REDIS_REST_TOKEN, LLM_API_KEY, ...USE_CASE_SECRETS];

/**
 * Plain settings. One without a default is asked for at deploy; the others
 * default to what the runtime does without them (README, Configuration).
 */
export const FUNCTION_SETTINGS = [
  defineString('UPSTASH_REDIS_REST_URL', {
    description: 'The Upstash Redis REST URL of the kv store (https://….upstash.io)',
  }),
  ...(
    [
      ['SERAPHIM_BLOB_BUCKET', "Cloud Storage bucket of the blob port (empty: the project's default bucket)"],
      ['SERAPHIM_POOL_GLOBAL', 'Steps running at once across every workspace (empty: 32)'],
      ['SERAPHIM_POOL_PER_USE_CASE', 'Steps of one use case running at once (empty: 16)'],
      ['SERAPHIM_POOL_PER_AGENT_KIND', 'Per agent kind, as kind=limit pairs, e.g. llm=4,http=32'],
      ['SERAPHIM_POOL_DEFAULT_PER_AGENT_KIND', 'Steps of an agent kind not listed, at once (empty: 32)'],
      ['SERAPHIM_HTTP_ALLOW', 'Hosts the http agent may call, comma-separated (empty: none)'],
      ['LLM_BASE_URL', "The llm agent's OpenAI-compatible endpoint"],
      ['LLM_MODEL', "The llm agent's default model"],
      ['SERAPHIM_LOG_LEVEL', 'DEBUG, INFO, WARNING or ERROR (empty: INFO)'],
      ['SERAPHIM_TRACE_SAMPLE_RATIO', 'The part of new traces recorded, 0 to 1 (empty: 1)'],
      ['SERAPHIM_FIREBASE_API_KEY', "Mission Control's Firebase web API key"],
      ['SERAPHIM_FIREBASE_AUTH_DOMAIN', "Mission Control's Firebase Auth domain"],
    ] as const
  ).map(([name, description]) => defineString(name, { default: '', description })),
];

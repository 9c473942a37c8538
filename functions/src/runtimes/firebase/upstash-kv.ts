/**
 * The firebase runtime's kv: Upstash Redis over its REST API via
 * `@upstash/redis`. Cloud Functions cannot hold TCP connections across
 * invocations, which is why Upstash rather than a Redis client.
 *
 * Failures are sorted by what the platform should do: network trouble,
 * timeouts and upstream 5xx become RetryableError; Redis refusing a command
 * becomes PermanentError (or InvalidInputError for a non-integer `incr`,
 * matching the embedded MemoryKv). Upstash error texts end with the whole
 * command, values included, so they are never passed on as messages or causes:
 * sessions and cached payloads must not reach the logs.
 */
import { errors, Redis } from '@upstash/redis';
import { InvalidInputError, PermanentError, RetryableError } from '../../platform/errors.js';
import type { KvOperation } from '../../platform/kv-operations.js';
import type { ConfigSource, KeyValueStore, KvSetOptions } from '../../platform/ports.js';

export interface UpstashKvOptions {
  /** The database's REST URL, `UPSTASH_REDIS_REST_URL`. */
  url: string;
  /** The REST token, `UPSTASH_REDIS_REST_TOKEN`. */
  token: string;
  /**
   * How many times the client itself retries a request that failed to reach
   * Upstash. Kept low: a retried `incr` whose first attempt did land counts
   * twice, and the platform retries the whole task with backoff anyway.
   * @default 2
   */
  retries?: number;
  /**
   * Per-request timeout; a hung request then fails as retryable instead of
   * holding the function until its own deadline.
   * @default 10_000
   */
  timeoutMs?: number;
}

/** Reply errors worth retrying: the server is busy, loading, failing over, or over a quota for now. */
const TRANSIENT_REPLY =
  /^(BUSY|LOADING|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|READONLY)\b|max .*(limit|connections)/i;
/** A Redis reply error starts with an upper-case code (`ERR`, `WRONGTYPE`, ...); HTTP failures do not. */
const REPLY_ERROR = /^[A-Z][A-Z_]+ /;
const AUTH_FAILURE = /^(Unauthorized|WRONGPASS|NOAUTH|NOPERM)\b/;
const NOT_AN_INTEGER = /not an integer|out of range|overflow|WRONGTYPE/;
/** GET and DEL in one script: Redis runs a script without interleaving any other command. */
const DEL_IF_EQUALS =
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

export class UpstashKv implements KeyValueStore {
  readonly #redis: Redis;
  /** One script object per operation: it keeps the SHA-1, so the usual call is one EVALSHA. */
  readonly #scripts = new Map<string, ReturnType<Redis['createScript']>>();

  constructor(opts: UpstashKvOptions) {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    try {
      this.#redis = new Redis({
        url: opts.url,
        token: opts.token,
        // Values are opaque strings: "123" must come back as "123", not 123.
        automaticDeserialization: false,
        // Auto-pipelining batches reads and writes into separate requests that can
        // overtake each other; each call here is one request, in the order made.
        enableAutoPipelining: false,
        retry: { retries: opts.retries ?? 2, backoff: (attempt) => 50 * 2 ** attempt },
        signal: () => AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new PermanentError(`Upstash kv is misconfigured: ${errorText(error)}`);
    }
  }

  async get(key: string): Promise<string | null> {
    return asString(await this.#call('get', () => this.#redis.get<string>(key)));
  }

  async mget(keys: string[]): Promise<Array<string | null>> {
    if (keys.length === 0) return []; // MGET with no keys is a Redis syntax error.
    const values = await this.#call('mget', () => this.#redis.mget<Array<string | null>>(keys));
    if (!Array.isArray(values) || values.length !== keys.length) throw unexpected('mget');
    return values.map(asString);
  }

  async set(key: string, value: string, opts: KvSetOptions = {}): Promise<boolean> {
    const { ttlMs, ifAbsent } = opts;
    if (ttlMs !== undefined) assertTtl(ttlMs);
    const reply = await this.#call('set', () => {
      if (ttlMs !== undefined) {
        return ifAbsent
          ? this.#redis.set(key, value, { px: ttlMs, nx: true })
          : this.#redis.set(key, value, { px: ttlMs });
      }
      return ifAbsent ? this.#redis.set(key, value, { nx: true }) : this.#redis.set(key, value);
    });
    // "OK" when written, nil when NX found the key.
    return reply !== null;
  }

  async del(key: string): Promise<boolean> {
    return asInteger(await this.#call('del', () => this.#redis.del(key))) > 0;
  }

  async delIfEquals(key: string, value: string): Promise<boolean> {
    // EVAL rather than a cached EVALSHA: one request every time, no NOSCRIPT round trip.
    const reply = await this.#call('delIfEquals', () => this.#redis.eval(DEL_IF_EQUALS, [key], [value]));
    return asInteger(reply) === 1;
  }

  async incr(key: string, by = 1, opts: { ttlMs?: number } = {}): Promise<number> {
    if (!Number.isSafeInteger(by)) throw new InvalidInputError('kv.incr: `by` must be a safe integer');
    const { ttlMs } = opts;
    if (ttlMs !== undefined) assertTtl(ttlMs);
    // Same error, same words, as MemoryKv gives for a value Redis cannot increment.
    const notAnInteger = (reply: string) =>
      NOT_AN_INTEGER.test(reply)
        ? new InvalidInputError(
            `kv.incr("${key}"): the value is not an integer or the increment would overflow`,
          )
        : undefined;
    const reply = await this.#call(
      'incr',
      async () => {
        if (ttlMs === undefined) return this.#redis.incrby(key, by);
        // One transaction, one request: SET NX PX creates the key at 0 with its ttl only
        // if it is absent, then INCRBY (which keeps any ttl). No window where a counter
        // exists without its expiry, and an existing key's ttl is never touched.
        const [, incremented] = await this.#redis
          .multi()
          .set(key, '0', { nx: true, px: ttlMs })
          .incrby(key, by)
          .exec({ keepErrors: true });
        if (incremented?.error !== undefined) throw new errors.UpstashError(incremented.error);
        return incremented?.result;
      },
      notAnInteger,
    );
    return asInteger(reply);
  }

  async expire(key: string, ttlMs: number): Promise<boolean> {
    assertTtl(ttlMs);
    return asInteger(await this.#call('expire', () => this.#redis.pexpire(key, ttlMs))) === 1;
  }

  async ttl(key: string): Promise<number | null> {
    const ms = asInteger(await this.#call('ttl', () => this.#redis.pttl(key)));
    // -2: no such key; -1: no expiry.
    return ms < 0 ? null : ms;
  }

  async run<A, R>(op: KvOperation<A, R>, args: A): Promise<R> {
    const parsed = op.parseArgs(args);
    let script = this.#scripts.get(op.name);
    if (script === undefined) {
      script = this.#redis.createScript(op.lua);
      this.#scripts.set(op.name, script);
    }
    const loaded = script;
    // EVALSHA, and EVAL only when Redis answers NOSCRIPT (a new or restarted server).
    const raw = await this.#call(op.name, () => loaded.exec(op.keys(parsed), op.argv(parsed)));
    try {
      return op.reply(raw);
    } catch {
      throw unexpected(`${op.name} reply`);
    }
  }

  /**
   * Runs one client call and maps its failure; `onReply` lets a command turn
   * a specific Redis reply error into its own error first.
   */
  async #call<T>(
    op: string,
    run: () => Promise<T>,
    onReply?: (reply: string) => Error | undefined,
  ): Promise<T> {
    try {
      return await run();
    } catch (error) {
      const specific = error instanceof errors.UpstashError ? onReply?.(replyText(error.message)) : undefined;
      throw specific ?? toPlatformError(op, error);
    }
  }
}

/**
 * Builds the adapter from configuration read now, at call time: the URL is a
 * plain setting and the token a secret, so neither is touched at import.
 */
export function createUpstashKv(
  config: ConfigSource,
  opts: Omit<UpstashKvOptions, 'url' | 'token'> = {},
): UpstashKv {
  const url = config.get('UPSTASH_REDIS_REST_URL');
  if (url === undefined) {
    throw new PermanentError('UPSTASH_REDIS_REST_URL is not configured', {
      details: { setting: 'UPSTASH_REDIS_REST_URL' },
    });
  }
  return new UpstashKv({ ...opts, url, token: config.secret('UPSTASH_REDIS_REST_TOKEN') });
}

function toPlatformError(op: string, error: unknown): Error {
  // Not JSON at all: a gateway or load balancer page in front of Upstash.
  if (error instanceof errors.UpstashJSONParseError) {
    return new RetryableError(`Upstash kv ${op}: unreadable response from Upstash`);
  }
  if (error instanceof errors.UpstashError) {
    const reply = replyText(error.message);
    if (AUTH_FAILURE.test(reply))
      return new PermanentError(`Upstash kv ${op}: credentials rejected (${reply})`);
    if (TRANSIENT_REPLY.test(reply)) return new RetryableError(`Upstash kv ${op}: ${reply}`);
    if (REPLY_ERROR.test(reply)) return new PermanentError(`Upstash kv ${op}: ${reply}`);
    // The client hides the HTTP status; an error body that is no Redis reply is an upstream failure (5xx).
    return new RetryableError(`Upstash kv ${op}: upstream error (${reply})`);
  }
  // fetch failures (refused, reset, DNS) and timeouts: transient by nature.
  return new RetryableError(`Upstash kv ${op}: request failed (${errorText(error)})`, { cause: error });
}

/** The reply part of an Upstash error, without the `, command was: [...]` tail that carries the values. */
function replyText(message: string): string {
  const text = message.replace(/^Command \d+ \[ \w+ \] failed: /, '');
  const tail = text.indexOf(', command was: ');
  return (tail === -1 ? text : text.slice(0, tail)).slice(0, 200);
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function asString(value: unknown): string | null {
  if (value === null || typeof value === 'string') return value;
  throw unexpected('string reply');
}

function asInteger(value: unknown): number {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n === 'number' && Number.isInteger(n)) return n;
  throw unexpected('integer reply');
}

function unexpected(what: string): PermanentError {
  return new PermanentError(`Upstash kv: unexpected ${what} from Upstash`);
}

/** Same rule as MemoryKv: Redis refuses zero, negative and fractional expiries. */
function assertTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) {
    throw new InvalidInputError('kv: ttlMs must be a positive integer number of milliseconds');
  }
}

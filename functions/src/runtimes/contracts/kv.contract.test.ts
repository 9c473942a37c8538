/**
 * Runs the kv contract against both adapters: MemoryKv on a manual clock, and
 * UpstashKv through the real `@upstash/redis` client, the local Upstash REST
 * proxy and a real `redis-server`. A missing `redis-server` fails these tests
 * with the install command, in CI and locally alike: they are never skipped.
 */
import { Redis } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../platform/clock.js';
import { envConfig } from '../../platform/config.js';
import { PermanentError, RetryableError } from '../../platform/errors.js';
import { acquireSlots, releaseSlots } from '../../platform/kv-slots.js';
import { observeAimd } from '../../platform/pool/kv-operations.js';
import {
  freePort,
  REDIS_MISSING_MESSAGE,
  type RedisServer,
  startRedisServer,
  startUpstashProxy,
  type UpstashProxy,
} from '../../test-support/upstash-proxy.js';
import { MemoryKv } from '../embedded/kv.js';
import { createUpstashKv, UpstashKv } from '../firebase/upstash-kv.js';
import { describeKvContract } from './kv.contract.js';
import { describeKvOperationsContract } from './kv-operations.contract.js';

const TOKEN = 'test-token-0123456789';

const memorySubject = async () => {
  const clock = new ManualClock();
  return {
    kv: new MemoryKv({ clock }),
    advance: (ms: number) => clock.advance(ms),
    teardown: async () => {},
  };
};
describeKvContract('MemoryKv', memorySubject);
describeKvOperationsContract('MemoryKv', memorySubject);

describe('MemoryKv beyond the contract', () => {
  it('evicts the least recently used key beyond maxEntries; reads refresh recency', async () => {
    const kv = new MemoryKv({ clock: new ManualClock(), maxEntries: 3 });
    await kv.set('a', '1');
    await kv.set('b', '2');
    await kv.set('c', '3');
    expect(await kv.get('a')).toBe('1'); // a is now the most recently used
    await kv.set('d', '4');
    expect(await kv.mget(['a', 'b', 'c', 'd'])).toEqual(['1', null, '3', '4']);
    expect(kv.size).toBe(3);
  });

  it('counts sorted sets in its LRU bound and expires them like strings', async () => {
    const clock = new ManualClock();
    const kv = new MemoryKv({ clock, maxEntries: 2 });
    const now = clock.now();
    await kv.run(acquireSlots, { dimensions: [{ key: 's1', limit: 1 }], holder: 'a', ttlMs: 100, now });
    await kv.set('x', '1');
    await kv.run(acquireSlots, { dimensions: [{ key: 's2', limit: 1 }], holder: 'a', ttlMs: 100, now });
    expect(kv.size).toBe(2);
    expect(await kv.run(releaseSlots, { keys: ['s1', 's2'], holder: 'a' })).toBe(1);
    await kv.run(acquireSlots, { dimensions: [{ key: 's3', limit: 1 }], holder: 'a', ttlMs: 100, now });
    clock.advance(100);
    expect(await kv.ttl('s3')).toBeNull();
    expect(kv.size).toBe(1);
  });

  it('drops an expired key when it is next touched', async () => {
    const clock = new ManualClock();
    const kv = new MemoryKv({ clock });
    await kv.set('a', '1', { ttlMs: 10 });
    clock.advance(10);
    expect(kv.size).toBe(1);
    expect(await kv.get('a')).toBeNull();
    expect(kv.size).toBe(0);
  });
});

describe('UpstashKv through the Upstash REST proxy on redis-server', () => {
  let redis: RedisServer | undefined;
  let proxy: UpstashProxy | undefined;
  // Kept and rethrown by every test, so a missing redis-server fails each of them with the install hint.
  let startFailure: unknown;

  const started = (): UpstashProxy => {
    if (startFailure !== undefined) throw startFailure;
    if (proxy === undefined) throw new Error('the Upstash proxy did not start');
    return proxy;
  };

  beforeAll(async () => {
    try {
      redis = await startRedisServer();
      proxy = await startUpstashProxy({ redisPort: redis.port, token: TOKEN });
    } catch (error) {
      startFailure = error;
    }
  });
  afterAll(async () => {
    await proxy?.stop();
    await redis?.stop();
  });

  const upstashSubject = async () => ({
    kv: new UpstashKv({ url: started().url, token: TOKEN }),
    teardown: async () => {},
  });
  describeKvContract('UpstashKv', upstashSubject);
  describeKvOperationsContract('UpstashKv', upstashSubject);

  describe('the proxy and the client together', () => {
    const client = (token = TOKEN) =>
      new Redis({ url: started().url, token, automaticDeserialization: false, enableAutoPipelining: false });

    it('answers 401 {"error":"Unauthorized"} to a wrong token, which the client surfaces as an error', async () => {
      const proxy = started();
      const res = await fetch(`${proxy.url}/get/x`, { headers: { authorization: 'Bearer wrong' } });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: 'Unauthorized' });
      await expect(client('wrong').get('x')).rejects.toThrow(/Unauthorized/);
      const kv = new UpstashKv({ url: proxy.url, token: 'wrong' });
      await expect(kv.get('x')).rejects.toBeInstanceOf(PermanentError);
    });

    it('speaks the path form, the JSON body form, and base64 encoding', async () => {
      const proxy = started();
      const headers = { authorization: `Bearer ${TOKEN}` };
      const set = await fetch(`${proxy.url}/set/proxy:path/b%C3%A4r?EX=100`, { headers });
      expect(await set.json()).toEqual({ result: 'OK' });
      const get = await fetch(`${proxy.url}/get/proxy:path`, { headers });
      expect(await get.json()).toEqual({ result: 'bär' });
      const encoded = await fetch(proxy.url, {
        method: 'POST',
        headers: { ...headers, 'Upstash-Encoding': 'base64' },
        body: JSON.stringify(['GET', 'proxy:path']),
      });
      expect(await encoded.json()).toEqual({ result: Buffer.from('bär').toString('base64') });
      const ttl = await fetch(`${proxy.url}/ttl/proxy:path?_token=${TOKEN}`);
      expect(await ttl.json()).toEqual({ result: 100 });
    });

    it('answers a bad command with HTTP 400 and an error body, surfaced by the client', async () => {
      const proxy = started();
      const res = await fetch(proxy.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify(['NOSUCHCOMMAND', 'x']),
      });
      expect(res.status).toBe(400);
      const body: unknown = await res.json();
      expect(body).toEqual({ error: expect.stringMatching(/^ERR unknown command/) });
      await client().lpush('proxy:list', 'x');
      await expect(client().incr('proxy:list')).rejects.toThrow(/WRONGTYPE/);
    });

    it('round-trips a pipeline, errors kept per command', async () => {
      await client().set('proxy:p', 'v');
      const results = await client()
        .pipeline()
        .get('proxy:p')
        .incr('proxy:p')
        .set('proxy:p2', 'ü')
        .get('proxy:p2')
        .exec({ keepErrors: true });
      expect(results.map((r) => r.result)).toEqual(['v', undefined, 'OK', 'ü']);
      expect(results[1]?.error).toMatch(/not an integer/);
    });

    it('round-trips a multi-exec transaction, and discards one with an unknown command as a whole', async () => {
      const results = await client().multi().set('proxy:m', '1').incrby('proxy:m', 41).get('proxy:m').exec();
      expect(results).toEqual(['OK', 42, '42']);
      const proxy = started();
      const res = await fetch(`${proxy.url}/multi-exec`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify([['SET', 'proxy:m', '0'], ['NOSUCHCOMMAND']]),
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: expect.stringMatching(/^ERR unknown command/) });
      expect(await client().get('proxy:m')).toBe('42');
    });

    it('incr with a ttl costs one request and four Redis commands (MULTI, SET NX PX, INCRBY, EXEC)', async () => {
      const proxy = started();
      const kv = new UpstashKv({ url: proxy.url, token: TOKEN });
      proxy.resetCounters();
      await kv.incr('proxy:cost', 1, { ttlMs: 60_000 });
      await kv.incr('proxy:cost', 1, { ttlMs: 60_000 });
      expect(proxy.requestCount).toBe(2);
      expect(proxy.commandCount).toBe(8);
      proxy.resetCounters();
      await kv.incr('proxy:cost');
      expect(proxy.commandCount).toBe(1);
    });

    it('runs a kv operation as one EVALSHA, two commands (EVALSHA, EVAL) when Redis lacks the script', async () => {
      const proxy = started();
      const kv = new UpstashKv({ url: proxy.url, token: TOKEN });
      const dimensions = ['global', 'ws:w1', 'uc:w1:u1', 'agent:llm'].map((d) => ({
        key: `proxy:cost:slot:${d}`,
        limit: 4,
        ...(d === 'agent:llm' ? { limitFrom: { key: 'proxy:cost:aimd' } } : {}),
      }));
      const acquire = (holder: string) =>
        kv.run(acquireSlots, { dimensions, holder, ttlMs: 60_000, now: Date.now() });
      const flushed = await fetch(`${proxy.url}/script/flush`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(await flushed.json()).toEqual({ result: 'OK' });

      proxy.resetCounters();
      expect(await acquire('first')).toEqual({ ok: true });
      expect(proxy.commandCount).toBe(2);
      proxy.resetCounters();
      expect(await acquire('second')).toEqual({ ok: true });
      expect(proxy.commandCount).toBe(1);

      await kv.run(releaseSlots, { keys: dimensions.map((d) => d.key), holder: 'first' });
      proxy.resetCounters();
      expect(await kv.run(releaseSlots, { keys: dimensions.map((d) => d.key), holder: 'second' })).toBe(4);
      expect(proxy.commandCount).toBe(1);

      const observe = () =>
        kv.run(observeAimd, {
          key: 'proxy:cost:aimd',
          policy: { min: 1, max: 4, window: 3 },
          latencyMs: 120,
          rateLimited: false,
        });
      await observe();
      proxy.resetCounters();
      await observe();
      expect(proxy.commandCount).toBe(1);
      expect(proxy.requestCount).toBe(1);
    });

    it('turns upstream 5xx and unreachable hosts into RetryableError', async () => {
      const proxy = started();
      const kv = new UpstashKv({ url: proxy.url, token: TOKEN });
      proxy.failNextRequests(1, 503);
      await expect(kv.get('proxy:x')).rejects.toBeInstanceOf(RetryableError);
      expect(await kv.get('proxy:x')).toBeNull();
      const unreachable = new UpstashKv({
        url: `http://127.0.0.1:${await freePort()}`,
        token: TOKEN,
        retries: 0,
      });
      await expect(unreachable.get('proxy:x')).rejects.toBeInstanceOf(RetryableError);
    });

    it('createUpstashKv reads the URL and the token secret when called', async () => {
      const proxy = started();
      expect(() => createUpstashKv(envConfig({}))).toThrow(PermanentError);
      expect(() => createUpstashKv(envConfig({ UPSTASH_REDIS_REST_URL: proxy.url }))).toThrow(
        /UPSTASH_REDIS_REST_TOKEN/,
      );
      const kv = createUpstashKv(
        envConfig({ UPSTASH_REDIS_REST_URL: proxy.url }, (name) =>
          name === 'UPSTASH_REDIS_REST_TOKEN' ? TOKEN : undefined,
        ),
      );
      await kv.set('proxy:factory', 'ok');
      expect(await kv.get('proxy:factory')).toBe('ok');
    });
  });
});

describe('startRedisServer', () => {
  it('fails with the install command when redis-server is not on the PATH', async () => {
    await expect(startRedisServer({ bin: 'redis-server-not-installed-here' })).rejects.toThrow(
      REDIS_MISSING_MESSAGE,
    );
  });
});

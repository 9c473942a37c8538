/**
 * A local stand-in for Upstash: an HTTP server speaking Upstash's REST
 * protocol in front of a real `redis-server`, so the Upstash adapter is tested
 * through the real `@upstash/redis` client against real Redis semantics
 * (expiry, atomicity, error replies) without a cloud account.
 *
 * It talks RESP2 to Redis itself over one shared connection: every HTTP
 * request writes all its commands in a single socket write, so a
 * `/multi-exec` batch can never interleave with another request's commands.
 *
 * It counts the Redis commands it forwards, so tests can check what a call
 * costs (Upstash bills per command): each command of a pipeline or a
 * transaction counts, and a script counts once (EVALSHA) however many commands
 * it runs inside, or twice when Redis answered NOSCRIPT and the client sent EVAL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, createConnection, createServer as createTcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// ---------------------------------------------------------------- RESP2

/** An error reply (`-ERR ...`), kept apart from simple strings so it cannot pass for a result. */
export class RespError {
  constructor(readonly message: string) {}
}

/** Simple strings are `string`, bulk strings `Buffer` (raw bytes), integers `number`, nil `null`. */
export type RespValue = string | number | Buffer | null | RespError | RespValue[];

export function encodeCommand(args: readonly string[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = Buffer.from(arg, 'utf8');
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** Parses one reply starting at `offset`; undefined when the buffer does not hold all of it yet. */
export function parseReply(buf: Buffer, offset = 0): { value: RespValue; next: number } | undefined {
  const lineEnd = buf.indexOf('\r\n', offset);
  if (lineEnd === -1) return undefined;
  const line = buf.toString('utf8', offset + 1, lineEnd);
  const afterLine = lineEnd + 2;
  switch (String.fromCharCode(buf[offset] ?? 0)) {
    case '+':
      return { value: line, next: afterLine };
    case '-':
      return { value: new RespError(line), next: afterLine };
    case ':':
      return { value: Number(line), next: afterLine };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: null, next: afterLine };
      if (buf.length < afterLine + length + 2) return undefined;
      return { value: buf.subarray(afterLine, afterLine + length), next: afterLine + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, next: afterLine };
      const items: RespValue[] = [];
      let next = afterLine;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, next);
        if (item === undefined) return undefined;
        items.push(item.value);
        next = item.next;
      }
      return { value: items, next };
    }
    default:
      throw new Error(`RESP protocol error: unexpected byte ${buf[offset]} at ${offset}`);
  }
}

/** One pipelined connection: replies arrive in the order commands were written. */
class RedisConnection {
  readonly #socket: Socket;
  #buffer: Buffer = Buffer.alloc(0);
  readonly #waiting: Array<{ resolve(value: RespValue): void; reject(error: Error): void }> = [];
  #closed = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => this.#fail(new Error('redis connection failed')));
    socket.on('close', () => this.#fail(new Error('redis connection closed')));
  }

  static connect(port: number): Promise<RedisConnection> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ port, host: '127.0.0.1' });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RedisConnection(socket));
      });
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Writes all commands at once (never split by another request) and resolves with their replies. */
  send(commands: ReadonlyArray<readonly string[]>): Promise<RespValue[]> {
    if (this.#closed) return Promise.reject(new Error('redis connection closed'));
    const replies = commands.map(
      () => new Promise<RespValue>((resolve, reject) => this.#waiting.push({ resolve, reject })),
    );
    this.#socket.write(Buffer.concat(commands.map(encodeCommand)));
    return Promise.all(replies);
  }

  close(): void {
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    let offset = 0;
    for (;;) {
      const reply = parseReply(this.#buffer, offset);
      if (reply === undefined) break;
      offset = reply.next;
      this.#waiting.shift()?.resolve(reply.value);
    }
    this.#buffer = this.#buffer.subarray(offset);
  }

  #fail(error: Error): void {
    this.#closed = true;
    for (const waiter of this.#waiting.splice(0)) waiter.reject(error);
  }
}

// ---------------------------------------------------------------- redis-server

export interface RedisServer {
  port: number;
  stop(): Promise<void>;
}

export const REDIS_MISSING_MESSAGE =
  "redis-server not found: install it with 'apt-get install -y redis-server'";

/**
 * Starts a throwaway `redis-server` on a free port with persistence off, in a
 * temporary directory so nothing lands in the working tree.
 */
export async function startRedisServer(opts: { bin?: string } = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'seraphim-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const child = spawn(opts.bin ?? 'redis-server', [...args, '--dir', dir, '--loglevel', 'warning'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<Error>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      resolve(error.code === 'ENOENT' ? new Error(REDIS_MISSING_MESSAGE) : error),
    );
    child.once('exit', (code, signal) =>
      resolve(new Error(`redis-server exited (${signal ?? code}) before answering PING: ${output.trim()}`)),
    );
  });
  // A crashed test worker must not leave redis-server running.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const ready = await Promise.race([waitForPing(port, 10_000), exited]);
  if (ready instanceof Error) {
    process.off('exit', killOnExit);
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw ready;
  }
  return {
    port,
    async stop() {
      process.off('exit', killOnExit);
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPing(port: number, timeoutMs: number): Promise<true | Error> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const connection = await RedisConnection.connect(port);
      const [reply] = await connection.send([['PING']]);
      connection.close();
      if (reply === 'PONG') return true;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}

/** A port nothing listens on right now (briefly bound, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createTcpServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------- the REST proxy

export interface UpstashProxy {
  /** Base URL to hand to `new Redis({ url })`. */
  url: string;
  /** Redis commands forwarded so far, MULTI and EXEC included; a script's inner commands not. */
  readonly commandCount: number;
  /** HTTP requests received so far, rejected ones included. */
  readonly requestCount: number;
  resetCounters(): void;
  /** Answer the next `count` requests with `status` and an error body, forwarding nothing (upstream outage). */
  failNextRequests(count: number, status?: number): void;
  stop(): Promise<void>;
}

/** Commands that would change the shared connection's state for every other request. */
const REFUSED = new Set([
  ...['MULTI', 'EXEC', 'DISCARD', 'WATCH', 'UNWATCH', 'SELECT', 'SWAPDB', 'QUIT', 'RESET', 'HELLO', 'AUTH'],
  ...['CLIENT', 'MONITOR', 'SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE', 'UNSUBSCRIBE', 'PUNSUBSCRIBE'],
  ...['SUNSUBSCRIBE', 'BLPOP', 'BRPOP', 'BRPOPLPUSH', 'BLMOVE', 'BLMPOP', 'BZPOPMIN', 'BZPOPMAX', 'BZMPOP'],
  ...['XREAD', 'XREADGROUP', 'WAIT'],
]);

class BadRequest extends Error {}

export async function startUpstashProxy(opts: { redisPort: number; token: string }): Promise<UpstashProxy> {
  let commandCount = 0;
  let requestCount = 0;
  let faults: { remaining: number; status: number } = { remaining: 0, status: 503 };
  // One shared connection, opened now so a missing Redis fails here. After it drops, the
  // first request to notice opens the next one and concurrent ones wait for that same one.
  let connecting = RedisConnection.connect(opts.redisPort);
  await connecting;
  const connection = async (): Promise<RedisConnection> => {
    const pending = connecting;
    const current = await pending.catch(() => undefined);
    if (current !== undefined && !current.closed) return current;
    if (connecting === pending) connecting = RedisConnection.connect(opts.redisPort);
    return connecting;
  };
  const forward = async (commands: string[][]): Promise<RespValue[]> => {
    const redis = await connection();
    commandCount += commands.length;
    return redis.send(commands);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    requestCount += 1;
    const url = new URL(req.url ?? '/', 'http://localhost');
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length) : url.searchParams.get('_token');
    if (token !== opts.token) return send(res, 401, { error: 'Unauthorized' });
    if (!['GET', 'HEAD', 'POST', 'PUT'].includes(req.method ?? '')) {
      return send(res, 405, { error: 'Method Not Allowed' });
    }
    if (faults.remaining > 0) {
      faults.remaining -= 1;
      return send(res, faults.status, { error: 'Service Unavailable' });
    }
    const base64 = String(req.headers['upstash-encoding'] ?? '').toLowerCase() === 'base64';
    const body = await readBody(req);
    const segments = url.pathname
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent);

    if (segments.length === 1 && segments[0] === 'pipeline') {
      const replies = await forward(parseBatch(body));
      const answers = replies.map((r) => toReply(r, base64));
      return send(res, 200, answers);
    }
    if (segments.length === 1 && segments[0] === 'multi-exec') {
      const replies = await forward([['MULTI'], ...parseBatch(body), ['EXEC']]);
      // A command refused while queueing discards the whole transaction: one error, as Upstash reports it.
      const discarded = replies.find((r): r is RespError => r instanceof RespError);
      const results = replies.at(-1);
      if (discarded || !Array.isArray(results)) {
        return send(res, 400, { error: discarded?.message ?? 'ERR transaction aborted' });
      }
      const answers = results.map((r) => toReply(r, base64));
      return send(res, 200, answers);
    }
    const command =
      segments.length === 0 ? toCommand(parseJson(body)) : pathCommand(segments, body, url.searchParams);
    assertAllowed(command);
    const [reply] = await forward([command]);
    const answer = toReply(reply ?? null, base64);
    return send(res, 'error' in answer ? 400 : 200, answer);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (error instanceof BadRequest) send(res, 400, { error: error.message });
      else send(res, 502, { error: `proxy: ${error instanceof Error ? error.message : String(error)}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    get commandCount() {
      return commandCount;
    },
    get requestCount() {
      return requestCount;
    },
    resetCounters() {
      commandCount = 0;
      requestCount = 0;
    },
    failNextRequests(count, status = 503) {
      faults = { remaining: count, status };
    },
    async stop() {
      (await connecting.catch(() => undefined))?.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new BadRequest('ERR failed to parse request body as JSON');
  }
}

/** `["SET","k","v"]`: arguments may be strings, numbers or booleans, as the client serialises them. */
function toCommand(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0)
    throw new BadRequest('ERR a command must be a non-empty array');
  return value.map((arg: unknown) => {
    if (typeof arg === 'string') return arg;
    if (typeof arg === 'number' || typeof arg === 'boolean') return String(arg);
    throw new BadRequest('ERR command arguments must be strings, numbers or booleans');
  });
}

/** `[["SET","k","v"],["GET","k"]]` for `/pipeline` and `/multi-exec`. */
function parseBatch(body: Buffer): string[][] {
  const list = parseJson(body);
  if (!Array.isArray(list) || list.length === 0) {
    throw new BadRequest('ERR expected a non-empty array of commands');
  }
  const commands = list.map(toCommand);
  for (const command of commands) assertAllowed(command);
  return commands;
}

/** `/set/foo?EX=100` with body `bar` means `SET foo bar EX 100`: body value last, then the query pairs. */
function pathCommand(segments: string[], body: Buffer, query: URLSearchParams): string[] {
  const command = [...segments];
  if (body.length > 0) command.push(body.toString('utf8'));
  for (const [name, value] of query) if (name !== '_token') command.push(name, value);
  return command;
}

function assertAllowed(command: readonly string[]): void {
  const name = command[0] ?? '';
  if (REFUSED.has(name.toUpperCase()))
    throw new BadRequest(`ERR command '${name}' is not supported by this proxy`);
}

function toReply(value: RespValue, base64: boolean): { result: unknown } | { error: string } {
  return value instanceof RespError ? { error: value.message } : { result: toJson(value, base64) };
}

/** With `Upstash-Encoding: base64` every string is base64 except the simple string `OK`, as Upstash does. */
function toJson(value: RespValue, base64: boolean): unknown {
  if (value === null || typeof value === 'number') return value;
  if (value instanceof RespError) return value.message;
  if (Buffer.isBuffer(value)) return base64 ? value.toString('base64') : value.toString('utf8');
  if (typeof value === 'string')
    return base64 && value !== 'OK' ? Buffer.from(value).toString('base64') : value;
  return value.map((v) => toJson(v, base64));
}

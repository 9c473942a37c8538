/**
 * The embedded runtime's HTTP server: `/api/**` through the shared front door,
 * everything else from the built Mission Control with an SPA fallback.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { errorMessage, PayloadTooLargeError } from '../../platform/errors.js';
import {
  type ApiHandler,
  type ApiResponse,
  DEFAULT_MAX_BODY_BYTES,
  errorResponse,
  traceRequest,
} from '../../platform/http.js';
import type { Ports } from '../../platform/ports.js';
import { problem } from '../../platform/problem.js';
import { allowedHosts, isWildcard, refusal } from './host-check.js';

/** What answers requests once the runtime is up. */
export interface HttpApp {
  api: ApiHandler;
  ports: Pick<Ports, 'ids' | 'logger' | 'tracer'>;
  /** Consulted in order after the Host and Origin checks, before anything else; see {@link RawHandler}. */
  rawHandlers?: readonly RawHandler[];
}

export interface ListenOptions {
  /** The built Mission Control (`hosting/build`); when missing, `/` explains how to build it. */
  staticDir: string | undefined;
  host: string;
  port: number;
  maxBodyBytes?: number;
  /** Extra `Host` names to answer (SERAPHIM_ALLOWED_HOSTS), e.g. a proxy's public name. */
  allowedHosts?: readonly string[];
}

export type HttpServerOptions = ListenOptions & HttpApp;

/**
 * Takes a request before the JSON front door, which buffers bodies whole: a
 * streamed upload goes here. Returns true when it has taken the request (and
 * will answer it), false to pass it on.
 */
export type RawHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean;

export interface RunningServer {
  /** Where to open it on this machine: a loopback URL when bound to every interface. */
  url: string;
  /** The address and port really bound (`0.0.0.0`, `::`, `192.0.2.2`, `127.0.0.1`, …). */
  bound: { address: string; port: number };
  server: Server;
  close(): Promise<void>;
}

/** A server holding its port and not yet answering: every request gets 503 until {@link serve}. */
export interface BoundServer extends RunningServer {
  serve(app: HttpApp): void;
}

/**
 * The port could not be taken. Raised before anything else starts, so that a
 * clash costs nothing: no lock, no database, no seeding.
 */
export class ListenError extends Error {
  override name = 'ListenError';
  constructor(
    message: string,
    /** `host:port` as asked for. */
    readonly address: string,
    /** The system's code: `EADDRINUSE`, `EACCES`, `EADDRNOTAVAIL`, … */
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

function listenFailure(error: unknown, host: string, port: number): ListenError {
  const code = (error as NodeJS.ErrnoException).code;
  const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const reason =
    code === 'EADDRINUSE'
      ? 'the port is already in use (another Seraphim, or another program). Stop it, or pick another port with --port N (0 picks a free one)'
      : code === 'EACCES'
        ? 'permission denied (ports below 1024 need privileges). Pick another port with --port N'
        : code === 'EADDRNOTAVAIL'
          ? `${host} is not an address of this machine. Pick another with --host`
          : errorMessage(error);
  return new ListenError(`Cannot listen on ${address}: ${reason}.`, address, code);
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/**
 * The client went away before its body arrived: nothing to answer and
 * nothing wrong with the server, so it is logged at info, never as a 500.
 */
class ClientAbortedError extends Error {
  override name = 'ClientAbortedError';
}

/** Reads the body, refusing it with 413 as soon as it passes the limit: it is never buffered whole. */
function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array | undefined> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit)
    return Promise.reject(new PayloadTooLargeError(`Body is ${declared} bytes; the limit is ${limit}`));
  return new Promise((resolvePromise, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new PayloadTooLargeError(`Body is over the limit of ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolvePromise(size === 0 ? undefined : Buffer.concat(chunks)));
    req.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        req.readableAborted || error.code === 'ECONNRESET'
          ? new ClientAbortedError(`The client aborted after ${size} bytes of its body`)
          : error,
      ),
    );
  });
}

function send(res: ServerResponse, response: ApiResponse): void {
  res.writeHead(response.status, { 'cache-control': 'no-store', ...response.headers });
  res.end(response.body);
}

function serveStatic(staticDir: string | undefined, pathname: string, res: ServerResponse): void {
  if (!staticDir || !existsSync(join(staticDir, 'index.html'))) {
    res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('Mission Control is not built. Run `npm run build` (npm start does it for you).\n');
    return;
  }
  const root = resolve(staticDir);
  let file = normalize(join(root, decodeURIComponent(pathname)));
  if (!file.startsWith(root + sep) && file !== root) file = join(root, 'index.html');
  const isFile = existsSync(file) && statSync(file).isFile();
  const target = isFile ? file : join(root, 'index.html'); // SPA fallback for client-side routes
  const immutable = isFile && target.includes(`${sep}_app${sep}immutable${sep}`);
  res.writeHead(200, {
    'content-type': TYPES[extname(target)] ?? 'application/octet-stream',
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    'x-content-type-options': 'nosniff',
  });
  createReadStream(target).pipe(res);
}

/** Binds and answers at once: for callers whose runtime is already up (tests). */
export async function startHttpServer(opts: HttpServerOptions): Promise<RunningServer> {
  const bound = await listenHttp(opts);
  bound.serve(opts);
  return bound;
}

/**
 * Takes the port first, so that `serve` learns of a clash before it locks the
 * data folder or starts any work; {@link BoundServer.serve} hands the requests
 * to the runtime once it is up. Throws {@link ListenError}.
 */
export async function listenHttp(opts: ListenOptions): Promise<BoundServer> {
  const limit = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  let hostAllowed: (host: string) => boolean = () => false; // set once the port is known
  let app: HttpApp | undefined;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const refused = refusal(req.headers, hostAllowed);
    if (refused) {
      const detail =
        refused === 'forbidden-host'
          ? `This server does not answer to Host "${req.headers.host ?? ''}". Behind a proxy, add its name to SERAPHIM_ALLOWED_HOSTS.`
          : `Requests from ${req.headers.origin ?? 'that origin'} are not accepted.`;
      send(res, {
        status: 403,
        headers: { 'content-type': 'application/problem+json; charset=utf-8' },
        body: JSON.stringify(problem(403, refused, 'Forbidden', { detail })),
      });
      return;
    }
    if (!app) {
      send(res, {
        status: 503,
        headers: { 'content-type': 'application/problem+json; charset=utf-8', 'retry-after': '1' },
        body: JSON.stringify(
          problem(503, 'retryable', 'Temporarily unavailable', {
            detail: 'Seraphim is starting.',
            retryAfterSeconds: 1,
          }),
        ),
      });
      return;
    }
    const { api, ports, rawHandlers } = app;
    if (rawHandlers?.some((handle) => handle(req, res, url))) return;
    if (!url.pathname.startsWith('/api/') && url.pathname !== '/api') {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' });
        res.end();
        return;
      }
      try {
        serveStatic(opts.staticDir, url.pathname, res);
      } catch {
        res.writeHead(400);
        res.end();
      }
      return;
    }
    const method = req.method ?? 'GET';
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]),
    );
    readBody(req, limit)
      .then((body) => api({ method, path: url.pathname, query: url.searchParams, headers, body }))
      .then(
        (response) => send(res, response),
        (error: unknown) => {
          if (error instanceof ClientAbortedError) {
            ports.logger.info('Client aborted its request', {
              method,
              path: url.pathname,
              reason: error.message,
            });
            res.destroy();
            return;
          }
          res.setHeader('connection', 'close');
          // Refused before the front door (a body over the limit): still one traced request.
          const refuse = async () => errorResponse(error, ports, `${method} ${url.pathname}`);
          traceRequest(ports.tracer, { method, path: url.pathname, headers }, refuse).then(
            (response) => send(res, response),
            () => send(res, errorResponse(error, ports, `${method} ${url.pathname}`)),
          );
        },
      );
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', (error) => reject(listenFailure(error, opts.host, opts.port)));
    server.listen(opts.port, opts.host, () => resolvePromise());
  });
  const address = server.address() as AddressInfo;
  hostAllowed = allowedHosts({ host: opts.host, port: address.port, extra: opts.allowedHosts ?? [] });
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  // A wildcard is no address to open, and the Host check refuses it: this machine's loopback opens it.
  const local = !isWildcard(address.address) ? host : address.family === 'IPv6' ? '[::1]' : '127.0.0.1';
  return {
    url: `http://${local}:${address.port}`,
    bound: { address: address.address, port: address.port },
    server,
    serve: (ready) => {
      app = ready;
    },
    close: () =>
      new Promise<void>((resolvePromise) => {
        server.close(() => resolvePromise());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2_000).unref();
      }),
  };
}

/**
 * Which `Host` and `Origin` the embedded server answers. A page on another
 * site must not drive a local runtime: through DNS rebinding its requests
 * carry its own name as `Host`, and a cross-site form or fetch carries its
 * `Origin`. Both are refused before the API or a static file is served.
 */
import { hostname as machineName, networkInterfaces } from 'node:os';

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

/** A loopback bind address: only this machine can connect, so no sign-in is needed there. */
export function isLoopback(host: string): boolean {
  const h = host
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/^::ffff:/, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** A bind address that listens on every interface of its family. */
export function isWildcard(host: string): boolean {
  return /^(0\.0\.0\.0|::|\[::\])$/.test(host);
}

/** The addresses of this machine's network interfaces (IPv6 ones in brackets, as in a URL). */
export function machineAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .flatMap((i) => (i ? [i.address.includes(':') ? `[${i.address.toLowerCase()}]` : i.address] : []));
}

export interface AllowedHostsInput {
  /** The address the server is bound to. */
  host: string;
  port: number;
  /** SERAPHIM_ALLOWED_HOSTS: a proxy's public name, with or without a port. */
  extra?: readonly string[];
  /** @default os.hostname() */
  hostname?: string;
  /** @default the addresses of os.networkInterfaces() */
  addresses?: readonly string[];
}

/**
 * The `Host` values the server answers: the loopback names with its port;
 * bound beyond loopback, also the machine's name and interface addresses;
 * plus the extra names (a name without a port matches it on any port).
 */
export function allowedHosts(input: AllowedHostsInput): (host: string) => boolean {
  const names = new Set(LOOPBACK_NAMES);
  if (!isLoopback(input.host)) {
    names.add((input.hostname ?? machineName()).toLowerCase());
    for (const a of input.addresses ?? machineAddresses())
      names.add(a.includes(':') && !a.startsWith('[') ? `[${a.toLowerCase()}]` : a);
    if (!isWildcard(input.host)) names.add(input.host.includes(':') ? `[${input.host}]` : input.host);
  }
  const exact = new Set([...names].map((n) => `${n}:${input.port}`));
  if (input.port === 80) for (const n of names) exact.add(n);
  const anyPort = new Set<string>();
  for (const entry of input.extra ?? []) {
    const e = entry.trim().toLowerCase();
    if (e === '') continue;
    if (/:\d+$/.test(e)) exact.add(e);
    else anyPort.add(e);
  }
  return (host) => {
    const h = host.trim().toLowerCase();
    if (exact.has(h)) return true;
    return anyPort.has(h.replace(/:\d+$/, ''));
  };
}

/** Null when the request may proceed; otherwise the problem code to refuse it with. */
export function refusal(
  headers: { host?: string | undefined; origin?: string | undefined },
  allowed: (host: string) => boolean,
): 'forbidden-host' | 'forbidden-origin' | null {
  if (!headers.host || !allowed(headers.host)) return 'forbidden-host';
  if (headers.origin === undefined) return null;
  let originHost: string;
  try {
    const url = new URL(headers.origin);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'forbidden-origin';
    originHost = url.host;
  } catch {
    return 'forbidden-origin'; // `Origin: null` from a sandboxed frame or a file
  }
  return allowed(originHost) ? null : 'forbidden-origin';
}

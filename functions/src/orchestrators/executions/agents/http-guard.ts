/**
 * The SSRF guard of the `http` agent: which URLs may be called (`checkTarget`),
 * and a connection that goes only to the addresses that check approved
 * (`pinnedLookup`).
 *
 * Checking a name and then letting fetch resolve it again would leave a
 * DNS-rebinding gap: the attacker's DNS answers a public address to the check
 * and 127.0.0.1 or 169.254.169.254 to the connection. So the name is resolved
 * once, here, and the connection is handed the addresses that were checked.
 * Only the address is pinned: TLS still verifies the certificate (and sends SNI)
 * for the hostname in the URL, and the Host header is unchanged.
 */
import type { LookupAddress } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { errorMessage, PermanentError, RetryableError } from '../../../platform/errors.js';
import type { AgentContext } from './types.js';

export const HTTP_ALLOW_SETTING = 'SERAPHIM_HTTP_ALLOW';
export const HTTP_ALLOW_PRIVATE_SETTING = 'SERAPHIM_HTTP_ALLOW_PRIVATE';

interface AllowEntry {
  host: string;
  port: string | undefined;
  wildcard: boolean;
}

export interface HttpPolicy {
  allow: AllowEntry[];
  allowPrivate: boolean;
}

/** Private, loopback, link-local (cloud metadata), CGNAT, multicast and reserved ranges. */
const PRIVATE_RANGES = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  PRIVATE_RANGES.addSubnet(network, prefix, 'ipv4');
}
// `::/96` holds `::`, `::1` and the old IPv4-compatible form; BlockList applies
// the IPv4 ranges to IPv4-mapped addresses (`::ffff:127.0.0.1`) by itself.
for (const [network, prefix] of [
  ['::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  PRIVATE_RANGES.addSubnet(network, prefix, 'ipv6');
}

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  return PRIVATE_RANGES.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** Canonical hostname as the URL parser writes it (lower case, punycode, IPv4 normalised, no brackets). */
function canonicalHost(host: string): string {
  const hostname = new URL(`http://${isIP(host) === 6 ? `[${host}]` : host}/`).hostname;
  return bareHost(hostname);
}

/** A URL's hostname without IPv6 brackets or the trailing root dot. */
function bareHost(hostname: string): string {
  const unbracketed = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return unbracketed.toLowerCase().replace(/\.$/, '');
}

function parseAllowEntry(raw: string): AllowEntry {
  let host = raw;
  let port: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(raw);
  if (bracketed) {
    host = bracketed[1] as string;
    port = bracketed[2];
  } else if (raw.split(':').length === 2) {
    [host, port] = raw.split(':') as [string, string];
  }
  if (port !== undefined && !/^\d{1,5}$/.test(port)) throw new Error(`bad port in ${raw}`);
  const wildcard = host.startsWith('*.');
  const base = canonicalHost(wildcard ? host.slice(2) : host);
  if (base === '' || base.includes('*')) throw new Error(`bad host in ${raw}`);
  return { host: base, port: port === undefined ? undefined : String(Number(port)), wildcard };
}

export function readHttpPolicy(ctx: Pick<AgentContext, 'setting'>): HttpPolicy {
  const raw = ctx.setting(HTTP_ALLOW_SETTING)?.trim();
  if (!raw) {
    throw new PermanentError(
      `Outbound HTTP is refused: no hosts are allowed. List them in the ${HTTP_ALLOW_SETTING} setting`,
      { details: { setting: HTTP_ALLOW_SETTING } },
    );
  }
  const allow = raw
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      try {
        return parseAllowEntry(entry);
      } catch {
        throw new PermanentError(`${HTTP_ALLOW_SETTING} has an invalid entry: ${entry}`, {
          details: { setting: HTTP_ALLOW_SETTING, entry },
        });
      }
    });
  return { allow, allowPrivate: ctx.setting(HTTP_ALLOW_PRIVATE_SETTING)?.trim() === '1' };
}

export type LookupAll = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

export const systemLookup: LookupAll = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** Where a checked URL may connect: its host, and every address it resolved to. */
export interface CheckedTarget {
  host: string;
  addresses: LookupAddress[];
}

/** Throws PermanentError unless `url` may be called under `policy`; else the addresses to connect to. */
export async function checkTarget(url: URL, policy: HttpPolicy, lookup: LookupAll): Promise<CheckedTarget> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    refuseWith(url, 'only http and https are allowed');
  if (url.username !== '' || url.password !== '') refuseWith(url, 'credentials in the URL are not allowed');
  const host = bareHost(url.hostname);
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const literal = isIP(host);
  const portMatches = (entry: AllowEntry) => entry.port === undefined || entry.port === port;
  const explicit = policy.allow.some((e) => !e.wildcard && e.host === host && portMatches(e));
  const allowed =
    explicit ||
    (literal === 0 && policy.allow.some((e) => e.wildcard && host.endsWith(`.${e.host}`) && portMatches(e)));
  if (!allowed) refuseWith(url, `the host is not in ${HTTP_ALLOW_SETTING}`);

  let addresses: LookupAddress[];
  if (literal !== 0) addresses = [{ address: host, family: literal }];
  else {
    try {
      addresses = await lookup(host);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'ENOTFOUND') refuseWith(url, 'the host does not resolve');
      throw new RetryableError(`DNS lookup of ${host} failed: ${errorMessage(error)}`, { cause: error });
    }
  }
  const blocked = addresses.map((a) => a.address).filter(isPrivateAddress);
  if (addresses.length === 0 || (blocked.length > 0 && !(explicit && policy.allowPrivate))) {
    refuseWith(
      url,
      `it resolves to a private, loopback or link-local address (${blocked.join(', ') || 'none'}); ` +
        `to allow that, list the host exactly in ${HTTP_ALLOW_SETTING} and set ${HTTP_ALLOW_PRIVATE_SETTING}=1`,
      { addresses: blocked },
    );
  }
  return { host, addresses: addresses.map(({ address, family }) => ({ address, family })) };
}

function refuseWith(url: URL, reason: string, details: Record<string, unknown> = {}): never {
  throw new PermanentError(`Refused to call ${url.protocol}//${url.host}: ${reason}`, {
    details: { host: url.host, ...details },
  });
}

/**
 * A `lookup` for the connection (net/tls `connect`) that answers only from the
 * targets already checked, never from DNS. A name that was not checked does
 * not resolve. `pins` is read at connect time, so a redirect's check can add to it.
 */
export function pinnedLookup(pins: ReadonlyMap<string, readonly LookupAddress[]>): LookupFunction {
  return (hostname, options, callback) => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
    const addresses = (pins.get(bareHost(hostname)) ?? []).filter(
      (a) => family === undefined || family === 0 || a.family === family,
    );
    const [first] = addresses;
    if (first === undefined) {
      const error: NodeJS.ErrnoException = new Error(`${hostname} was not checked by the SSRF guard`);
      error.code = 'ENOTFOUND';
      callback(error, '');
    } else if (options.all) callback(null, addresses);
    else callback(null, first.address, first.family);
  };
}

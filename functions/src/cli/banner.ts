/**
 * What `seraphim serve` says once it is up: the address it really bound
 * (not the loopback URL that opens it here), who else can reach it, and a
 * warning when others can reach it with nobody signing in.
 */
import { hostname as machineName } from 'node:os';
import { isLoopback, isWildcard, machineAddresses } from '../runtimes/embedded/host-check.js';

export interface BannerInput {
  version: string;
  /** The address and port really bound. */
  bound: { address: string; port: number };
  /** Where to open it on this machine. */
  url: string;
  dataDir: string;
  auth: 'local' | 'session';
  /** SERAPHIM_ALLOWED_HOSTS: names a proxy answers to. */
  allowedHosts: readonly string[];
  /** @default this machine's interface addresses */
  addresses?: readonly string[];
  /** @default os.hostname() */
  hostname?: string;
}

export interface Banner {
  /** The first is the line scripts and tests wait for (`listening on http://…`). */
  lines: string[];
  /** Printed right after the lines, in the same write. */
  warnings: string[];
}

const inUrl = (address: string) =>
  address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;

/** Where other machines can reach a server bound to `address`: none on loopback. */
function reachableFromElsewhere(input: Pick<BannerInput, 'bound' | 'addresses' | 'hostname'>): string[] {
  const { address, port } = input.bound;
  if (isLoopback(address)) return [];
  const hosts = isWildcard(address)
    ? [
        ...(input.addresses ?? machineAddresses()).filter(
          (a) =>
            !isLoopback(a) &&
            !/^\[fe80:/i.test(inUrl(a)) && // link-local: needs a zone id in a URL
            (address.includes(':') || !a.includes(':')), // 0.0.0.0 listens on IPv4 alone
        ),
        input.hostname ?? machineName(),
      ]
    : [address];
  return hosts.map((h) => `http://${inUrl(h)}:${port}/`);
}

export function serveBanner(input: BannerInput): Banner {
  const { address, port } = input.bound;
  const wildcard = isWildcard(address);
  const lines = [
    `Seraphim ${input.version} (embedded) listening on http://${inUrl(address)}:${port}${wildcard ? ' (every interface)' : ''}`,
    `  Mission Control: ${input.url}/   API: ${input.url}/api/openapi.json   data: ${input.dataDir}`,
  ];
  const elsewhere = reachableFromElsewhere(input);
  if (elsewhere.length > 0) {
    lines.push(
      `  Reachable from other machines at ${elsewhere.join(', ')}: ${input.auth === 'session' ? 'sign-in required' : 'NOBODY SIGNS IN'}.`,
    );
  }
  const warnings: string[] = [];
  if (input.auth === 'local' && elsewhere.length > 0) {
    warnings.push(
      `WARNING: bound to ${address}, beyond this machine, and nobody signs in: whoever reaches it owns this runtime. Bind to 127.0.0.1, or drop SERAPHIM_AUTH=local.`,
    );
  } else if (input.auth === 'local' && input.allowedHosts.length > 0) {
    warnings.push(
      `WARNING: SERAPHIM_ALLOWED_HOSTS (${input.allowedHosts.join(', ')}) lets a proxy bring other machines to this loopback address, and nobody signs in here: whoever reaches the proxy owns this runtime. Set SERAPHIM_AUTH=session to require sign-in.`,
    );
  }
  return { lines, warnings };
}

import type { LookupAddress, LookupOptions } from 'node:dns';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Server } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError, RetryableError } from '../../../platform/errors.js';
import { failure, testAgentCall } from '../../../test-support/agent-call.js';
import { createHttpAgent } from './http.js';
import {
  checkTarget,
  HTTP_ALLOW_PRIVATE_SETTING,
  HTTP_ALLOW_SETTING,
  isPrivateAddress,
  type LookupAll,
  pinnedLookup,
  readHttpPolicy,
} from './http-guard.js';

/** Self-signed for `pinned.test` only, valid 2024–2124; test material, trusted nowhere else. */
const TLS_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgeRrzU2Lbwhn2n2Sv
Z9bOXL0MG41qHB1TaCLSiGYO6w6hRANCAAQMbyouj26trrDiGGiI+9eMYrPUdV8W
S6fJ1q/B8BTt+KT5fxWVOfTpCIvm+Rv2O2pyvMKxA7ungf0z2pvtNCgQ
-----END PRIVATE KEY-----
`;
const TLS_CERT = `-----BEGIN CERTIFICATE-----
MIIBWjCCAQGgAwIBAgIUDWEaIVofccMsK0KG10GO5n7GLwkwCgYIKoZIzj0EAwIw
FjEUMBIGA1UEAwwLcGlubmVkLnRlc3QwIBcNMjQwMTAxMDAwMDAwWhgPMjEyNDAx
MDEwMDAwMDBaMBYxFDASBgNVBAMMC3Bpbm5lZC50ZXN0MFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAEDG8qLo9ura6w4hhoiPvXjGKz1HVfFkunydavwfAU7fik+X8V
lTn06QiL5vkb9jtqcrzCsQO7p4H9M9qb7TQoEKMrMCkwFgYDVR0RBA8wDYILcGlu
bmVkLnRlc3QwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNHADBEAiALAjgq
15tm2fuNJI/1Uk55iC6WbtaRNIsBcSKHG5DTcQIgDeTvDX/CHjpl+Vvu4PpIdX64
YZC5R63pGioV9F+8VVA=
-----END CERTIFICATE-----
`;
/** TEST-NET-3: public as far as the guard can tell, and routed nowhere. */
const PUBLIC = '203.0.113.7';

// ---------------------------------------------------------------- local servers that count their callers

interface Hit {
  host: string | undefined;
  servername: string | false | null | undefined;
}

interface LocalServer {
  port: number;
  hits: Hit[];
  close(): Promise<void>;
}

async function listen(server: Server, hits: Hit[]): Promise<LocalServer> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        (server as Server & { closeAllConnections(): void }).closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function recorder(hits: Hit[]) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const servername = (req.socket as Partial<TLSSocket>).servername;
    hits.push({ host: req.headers.host, servername });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ host: req.headers.host ?? null }));
  };
}

let plain: LocalServer;
let tls: LocalServer;
beforeAll(async () => {
  const plainHits: Hit[] = [];
  plain = await listen(createServer(recorder(plainHits)), plainHits);
  const tlsHits: Hit[] = [];
  tls = await listen(createHttpsServer({ key: TLS_KEY, cert: TLS_CERT }, recorder(tlsHits)), tlsHits);
});
afterAll(async () => {
  await plain.close();
  await tls.close();
});

/** Answers `answers[0]` to the first lookup of any name, `answers[1]` to the second, and so on. */
function rebindingDns(...answers: string[]): LookupAll & { calls: string[] } {
  const calls: string[] = [];
  const lookup = async (hostname: string) => {
    const address = answers[Math.min(calls.length, answers.length - 1)] as string;
    calls.push(hostname);
    return [{ address, family: address.includes(':') ? 6 : 4 }];
  };
  return Object.assign(lookup, { calls });
}

// ---------------------------------------------------------------- connecting only where the check said

describe('http agent: the connection goes to the checked address (DNS rebinding)', () => {
  it('does not reach 127.0.0.1 when the name answered public to the check and loopback afterwards', async () => {
    // `localhost` so that ANY second resolution, the injected one or the system's, lands on the local server.
    const dns = rebindingDns(PUBLIC, '127.0.0.1');
    const agent = createHttpAgent({ lookup: dns });
    const t = testAgentCall(
      agent,
      { url: `http://localhost:${plain.port}/secret`, timeoutSeconds: 0.5 },
      { settings: { [HTTP_ALLOW_SETTING]: `localhost:${plain.port}` } },
    );
    const before = plain.hits.length;
    const thrown = await failure(agent.run(t.call));
    // It tried the checked public address: refused, unreachable or timed out, depending on the network.
    expect(thrown).toBeInstanceOf(RetryableError);
    expect(thrown.message).not.toMatch(/ENOTFOUND/);
    expect(plain.hits.length).toBe(before);
    expect(dns.calls).toEqual(['localhost']);
  });

  it('connects to the address it checked, not to a later answer', async () => {
    const dns = rebindingDns('127.0.0.1', PUBLIC);
    const agent = createHttpAgent({ lookup: dns });
    const host = `pinned.test:${plain.port}`;
    const t = testAgentCall(
      agent,
      { url: `http://${host}/json` },
      { settings: { [HTTP_ALLOW_SETTING]: host, [HTTP_ALLOW_PRIVATE_SETTING]: '1' } },
    );
    const result = await agent.run(t.call);
    expect(result).toMatchObject({ status: 'succeeded', output: { status: 200, body: { host } } });
    expect(dns.calls).toEqual(['pinned.test']);
  });

  it('verifies the certificate and sends SNI for the hostname, not the pinned address', async () => {
    const agent = createHttpAgent({ lookup: rebindingDns('127.0.0.1'), ca: TLS_CERT });
    const host = `pinned.test:${tls.port}`;
    const before = tls.hits.length;
    const t = testAgentCall(
      agent,
      { url: `https://${host}/json` },
      { settings: { [HTTP_ALLOW_SETTING]: host, [HTTP_ALLOW_PRIVATE_SETTING]: '1' } },
    );
    const result = await agent.run(t.call);
    expect(result).toMatchObject({ status: 'succeeded', output: { body: { host } } });
    expect(tls.hits[before]).toEqual({ host, servername: 'pinned.test' });
  });

  it('refuses a certificate that is not for the hostname, though the address is the same', async () => {
    const agent = createHttpAgent({ lookup: rebindingDns('127.0.0.1'), ca: TLS_CERT });
    const host = `other.test:${tls.port}`;
    const t = testAgentCall(
      agent,
      { url: `https://${host}/json` },
      { settings: { [HTTP_ALLOW_SETTING]: host, [HTTP_ALLOW_PRIVATE_SETTING]: '1' } },
    );
    const thrown = await failure(agent.run(t.call));
    expect(thrown).toBeInstanceOf(RetryableError);
    expect(thrown.message).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID/);
  });
});

// ---------------------------------------------------------------- the pieces

describe('http guard', () => {
  const policy = (allow: string, allowPrivate = false) =>
    readHttpPolicy({
      setting: (name) =>
        ({ [HTTP_ALLOW_SETTING]: allow, [HTTP_ALLOW_PRIVATE_SETTING]: allowPrivate ? '1' : '' })[name],
    });

  it.each([
    {
      url: 'https://API.example.test./x',
      answers: [PUBLIC, '2001:db8::1'],
      host: 'api.example.test',
      addresses: [
        { address: PUBLIC, family: 4 },
        { address: '2001:db8::1', family: 6 },
      ],
    },
    {
      url: 'http://[2001:db8::2]:8080/',
      answers: [],
      host: '2001:db8::2',
      addresses: [{ address: '2001:db8::2', family: 6 }],
    },
  ])('checkTarget($url) returns the addresses to connect to', async ({ url, answers, host, addresses }) => {
    const lookup: LookupAll = async () =>
      answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    const target = await checkTarget(new URL(url), policy('api.example.test,[2001:db8::2]:8080'), lookup);
    expect(target).toEqual({ host, addresses });
  });

  it('checkTarget still refuses a private answer', async () => {
    const thrown = await failure(
      checkTarget(
        new URL('https://api.example.test/'),
        policy('api.example.test'),
        rebindingDns('169.254.169.254'),
      ),
    );
    expect(thrown).toBeInstanceOf(PermanentError);
    expect(thrown.message).toMatch(/169\.254\.169\.254/);
  });

  const pins = new Map<string, LookupAddress[]>([
    [
      'api.example.test',
      [
        { address: '2001:db8::1', family: 6 },
        { address: PUBLIC, family: 4 },
      ],
    ],
  ]);
  const resolve = (hostname: string, options: LookupOptions) =>
    new Promise<{ error: NodeJS.ErrnoException | null; address: unknown; family?: number }>((done) =>
      pinnedLookup(pins)(hostname, options, (error, address, family) => done({ error, address, family })),
    );

  it.each([
    {
      name: 'every address',
      hostname: 'api.example.test',
      options: { all: true },
      address: pins.get('api.example.test'),
    },
    {
      name: 'the first address',
      hostname: 'api.example.test',
      options: {},
      address: '2001:db8::1',
      family: 6,
    },
    { name: 'IPv4 only', hostname: 'api.example.test', options: { family: 4 }, address: PUBLIC, family: 4 },
    {
      name: 'case and root dot ignored',
      hostname: 'API.example.test.',
      options: { family: 6, all: true },
      address: [{ address: '2001:db8::1', family: 6 }],
    },
  ])('pinnedLookup answers $name', async ({ hostname, options, address, family }) => {
    const answer = await resolve(hostname, options);
    expect(answer.error).toBeNull();
    expect(answer.address).toEqual(address);
    expect(answer.family).toBe(family);
  });

  it('pinnedLookup does not resolve a name that was not checked', async () => {
    const answer = await resolve('elsewhere.test', { all: true });
    expect(answer.error?.code).toBe('ENOTFOUND');
  });

  it.each([
    ['127.0.0.1', true],
    ['10.1.2.3', true],
    ['172.31.255.255', true],
    ['172.32.0.1', false],
    ['192.168.0.1', true],
    ['169.254.169.254', true],
    ['0.0.0.0', true],
    ['100.100.100.200', true],
    ['8.8.8.8', false],
    ['::1', true],
    ['::', true],
    ['fd00:ec2::254', true],
    ['fe80::1', true],
    ['::ffff:10.0.0.1', true],
    ['2001:4860:4860::8888', false],
    ['not-an-ip', true],
  ])('isPrivateAddress(%s) is %s', (address, expected) => {
    expect(isPrivateAddress(address)).toBe(expected);
  });
});

/** The serve banner's words for each bind address and sign-in mode (issue 9, item 14). */
import { describe, expect, it } from 'vitest';
import { type BannerInput, serveBanner } from './banner.js';

const base: BannerInput = {
  version: '0.1.0',
  bound: { address: '127.0.0.1', port: 4400 },
  url: 'http://127.0.0.1:4400',
  dataDir: '/data',
  auth: 'local',
  allowedHosts: [],
  addresses: ['127.0.0.1', '[::1]', '192.0.2.2', '[fd00::2]', '[fe80::1]'],
  hostname: 'box',
};

describe('serveBanner', () => {
  it.each([
    {
      name: 'loopback: the address, nothing else',
      input: {},
      first: 'listening on http://127.0.0.1:4400',
      elsewhere: undefined,
      warns: false,
    },
    {
      name: 'every IPv4 interface: its addresses and name, sign-in required',
      input: { bound: { address: '0.0.0.0', port: 4400 }, auth: 'session' as const },
      first: 'listening on http://0.0.0.0:4400 (every interface)',
      elsewhere: 'http://192.0.2.2:4400/, http://box:4400/: sign-in required.',
      warns: false,
    },
    {
      name: 'every IPv6 interface: IPv6 addresses too, bracketed, link-local left out',
      input: { bound: { address: '::', port: 4400 }, url: 'http://[::1]:4400', auth: 'session' as const },
      first: 'listening on http://[::]:4400 (every interface)',
      elsewhere: 'http://192.0.2.2:4400/, http://[fd00::2]:4400/, http://box:4400/: sign-in required.',
      warns: false,
    },
    {
      name: 'one address beyond loopback',
      input: {
        bound: { address: '192.0.2.2', port: 80 },
        url: 'http://192.0.2.2:80',
        auth: 'session' as const,
      },
      first: 'listening on http://192.0.2.2:80',
      elsewhere: 'http://192.0.2.2:80/: sign-in required.',
      warns: false,
    },
    {
      name: 'beyond loopback with nobody signing in (a name that resolved elsewhere): a warning',
      input: { bound: { address: '192.0.2.2', port: 4400 } },
      first: 'listening on http://192.0.2.2:4400',
      elsewhere: 'http://192.0.2.2:4400/: NOBODY SIGNS IN.',
      warns: true,
    },
    {
      name: 'a proxy in front of a loopback runtime that requires sign-in: no warning',
      input: { auth: 'session' as const, allowedHosts: ['seraphim.example.com'] },
      first: 'listening on http://127.0.0.1:4400',
      elsewhere: undefined,
      warns: false,
    },
  ])('$name', ({ input, first, elsewhere, warns }) => {
    const { lines, warnings } = serveBanner({ ...base, ...input });
    expect(lines[0]).toBe(`Seraphim 0.1.0 (embedded) ${first}`);
    expect(lines.find((l) => l.includes('Reachable'))?.split(' at ')[1]).toBe(elsewhere);
    expect(warnings.length > 0).toBe(warns);
  });
});

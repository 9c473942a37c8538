/** `seraphim users` against a runtime in session mode: the CLI signs in with the machine's token from the data folder. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import system from '../orchestrators/system/index.js';
import workspaces from '../orchestrators/workspaces/index.js';
import { cli } from '../test-support/cli.js';
import { startTestRuntime, type TestRuntime } from '../test-support/embedded.js';
import { grant } from '../test-support/people.js';

describe('seraphim users', () => {
  let t: TestRuntime;
  let elsewhere: string;
  beforeAll(async () => {
    t = await startTestRuntime([system, workspaces], { auth: 'session' });
    await grant(t.runtime, 'acme', 'founder', 'owner');
    elsewhere = mkdtempSync(join(tmpdir(), 'seraphim-no-token-'));
  });
  afterAll(async () => {
    await t.dispose();
    rmSync(elsewhere, { recursive: true, force: true });
  });
  const as = (args: string[]) => cli([...args, '--url', t.url, '--data-dir', t.dataDir]);

  it('adds a person to a workspace with a role and prints their one-time invitation link', async () => {
    const r = await as(['users', 'add', 'ivy@example.com', '--workspace', 'acme', '--role', 'operator']);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toContain('Added ivy@example.com');
    expect(r.out).toContain('to acme as operator');
    expect(r.out).toMatch(new RegExp(`${t.url}/signin#invite=[\\w-]{43}`));
    const members = await t.runtime.documents.query('workspaces/acme/members', {
      where: [{ field: 'email', op: '==', value: 'ivy@example.com' }],
      limit: 1,
    });
    expect(members.docs[0]?.data).toMatchObject({ role: 'operator' });
  });

  it('lists people, as a table or JSON, and removes one by email with their memberships', async () => {
    const table = await as(['users', 'list']);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/^UID\s+EMAIL/);
    expect(table.out).toContain('ivy@example.com');
    const json = JSON.parse((await as(['users', 'list', '--json'])).out) as Array<{
      uid: string;
      email: string;
    }>;
    const ivy = json.find((u) => u.email === 'ivy@example.com');
    expect(ivy).toBeDefined();

    expect(await as(['users', 'remove', 'ivy@example.com'])).toMatchObject({
      code: 0,
      out: 'Removed ivy@example.com.',
    });
    expect((await as(['users', 'list'])).out).not.toContain('ivy@example.com');
    expect(await t.runtime.documents.get(`workspaces/acme/members/${ivy?.uid}`)).toBeNull();
    expect(await t.runtime.documents.get(`users/${ivy?.uid}/workspaces/acme`)).toBeNull();
  });

  it('is refused without the machine’s token (exit 4, 401) and explains its usage errors (exit 2)', async () => {
    const r = await cli(['users', 'list', '--url', t.url, '--data-dir', elsewhere]);
    expect(r.code).toBe(4);
    expect(r.err).toContain('HTTP 401');
    expect((await as(['users', 'add'])).code).toBe(2);
    expect((await as(['users', 'add', 'x@example.com', '--role', 'king', '--workspace', 'acme'])).code).toBe(
      2,
    );
    expect((await as(['users', 'nope'])).code).toBe(2);
  });
});

/// <reference types="node" />
/**
 * The Firebase Auth emulator from firebase-tools (plain JavaScript: no Java, no download), on
 * free ports of its own so it never collides with another emulator run on the machine. For the
 * tests of Mission Control's Firebase sign-in.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const FIREBASE_CLI = join(REPO, 'node_modules', 'firebase-tools', 'lib', 'bin', 'firebase.js');
/** The emulator takes any API key; Mission Control sends this one when none is configured. */
export const EMULATOR_API_KEY = 'emulator-api-key';
const PROJECT = 'demo-seraphim';

export interface AuthEmulator {
  /** e.g. `http://127.0.0.1:41234` */
  url: string;
  /** Creates an email/password user; resolves with their uid. */
  createUser(email: string, password: string): Promise<string>;
  /** The email of the user an ID token belongs to, or null when the emulator does not accept it. */
  emailOf(idToken: string): Promise<string | null>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function identityToolkit(url: string, method: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(
    `${url}/identitytoolkit.googleapis.com/v1/accounts:${method}?key=${EMULATOR_API_KEY}`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    },
  );
  return (await response.json()) as Record<string, unknown>;
}

export async function startAuthEmulator(timeoutMs = 60_000): Promise<AuthEmulator> {
  const [auth, hub, logging] = [await freePort(), await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'seraphim-auth-emulator-'));
  const config = join(dir, 'firebase.json');
  writeFileSync(
    config,
    JSON.stringify({
      emulators: {
        singleProjectMode: true,
        auth: { host: '127.0.0.1', port: auth },
        hub: { host: '127.0.0.1', port: hub },
        logging: { host: '127.0.0.1', port: logging },
        ui: { enabled: false },
      },
    }),
  );
  const child: ChildProcess = spawn(
    process.execPath,
    [FIREBASE_CLI, 'emulators:start', '--only', 'auth', '--project', PROJECT, '--config', config],
    {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        PATH: [dirname(process.execPath), process.env.PATH].join(':'),
        CI: 'true',
        NO_UPDATE_NOTIFIER: '1',
        FIREBASE_CLI_DISABLE_UPDATE_CHECK: 'true',
      },
    },
  );
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the Auth emulator did not start within ${timeoutMs} ms:\n${out}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('All emulators ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the Auth emulator exited before it was ready:\n${out}`));
    });
  });
  const url = `http://127.0.0.1:${auth}`;
  return {
    url,
    async createUser(email, password) {
      const created = await identityToolkit(url, 'signUp', { email, password, returnSecureToken: true });
      if (typeof created.localId !== 'string') throw new Error(`signUp failed: ${JSON.stringify(created)}`);
      return created.localId;
    },
    async emailOf(idToken) {
      const found = await identityToolkit(url, 'lookup', { idToken });
      const users = Array.isArray(found.users) ? (found.users as { email?: unknown }[]) : [];
      return typeof users[0]?.email === 'string' ? users[0].email : null;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

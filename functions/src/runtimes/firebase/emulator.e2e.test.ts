/**
 * The Cloud Functions surface on the Firebase emulators that need no
 * download: functions, Cloud Tasks and Auth. Run it through
 * `node scripts/test-functions-emulator.mjs`, which starts them with
 * `firebase emulators:exec` over the built `functions/lib` and captures their
 * output, so this file can read what the functions logged.
 *
 * Firestore and Pub/Sub emulators are not available here, so handlers that
 * write documents fail after their first step; the test proves arrival by the
 * task handler's own structured log line, which comes before any write. For
 * the same reason membership (documents) is not tested here: ID tokens and
 * revocation are, against the Auth emulator; roles and membership are tested
 * through the same front door on the embedded runtime (access-matrix.test.ts).
 */
import { readFileSync } from 'node:fs';
import { deleteApp, initializeApp } from 'firebase-admin/app';
import { getAuth } from 'firebase-admin/auth';
import { getFunctions } from 'firebase-admin/functions';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { orchestrators } from '../../orchestrators/registry.js';
import { functionName } from '../../platform/orchestrator.js';
import { CloudTasksQueue, emulatorCounts } from './cloud-tasks.js';
import { firebasePeople } from './people.js';
import { REGION } from './ports.js';

const PROJECT = 'demo-seraphim';

interface Endpoint {
  host: string;
  port: number;
}

interface TriggerInfo {
  name: string;
  httpsTrigger?: unknown;
  taskQueueTrigger?: unknown;
  eventTrigger?: { eventType?: string; eventFilters?: Record<string, string> };
  scheduleTrigger?: unknown;
}

let functionsUrl: string;
let tasksHost: string;
let authHost: string;
let logFile: string;
const app = initializeApp({ projectId: PROJECT }, 'emulator-e2e');

/** Everything the emulators have printed so far, as captured by the script that started them. */
function emulatorOutput(): string {
  return readFileSync(logFile, 'utf8');
}

beforeAll(async () => {
  const hub = process.env.FIREBASE_EMULATOR_HUB;
  const log = process.env.SERAPHIM_EMULATOR_LOG;
  if (!hub || !log) {
    throw new Error(
      'Run this file through `node scripts/test-functions-emulator.mjs`: it needs the emulators and their log',
    );
  }
  logFile = log;
  // The hub lists every running emulator with its address.
  const running = (await (await fetch(`http://${hub}/emulators`)).json()) as Record<string, Endpoint>;
  const at = (name: string) => {
    const e = running[name];
    if (!e)
      throw new Error(`The ${name} emulator is not running (running: ${Object.keys(running).join(', ')})`);
    return `${e.host}:${e.port}`;
  };
  functionsUrl = `http://${at('functions')}`;
  hostingUrl = `http://${at('hosting')}`;
  tasksHost = at('tasks');
  authHost = at('auth');
});

afterAll(async () => {
  await deleteApp(app);
});

let hostingUrl = '';

const apiUrl = (orchestrator: string, path: string) =>
  `${functionsUrl}/${PROJECT}/${REGION}/${functionName(orchestrator, 'api')}/api/${orchestrator}${path}`;

describe('functions emulator', () => {
  it('loads every function of every orchestrator in the registry, each with its trigger kind', async () => {
    // `/backends` is the functions emulator's own list of what it discovered in functions/lib.
    const { backends } = (await (await fetch(`${functionsUrl}/backends`)).json()) as {
      backends: Array<{ functionTriggers: TriggerInfo[] }>;
    };
    const triggers = new Map(backends.flatMap((b) => b.functionTriggers).map((t) => [t.name, t]));
    for (const o of orchestrators) {
      expect(triggers.get(functionName(o.name, 'api'))?.httpsTrigger, `${o.name}-api`).toBeDefined();
      for (const key of Object.keys(o.tasks)) {
        expect(triggers.get(functionName(o.name, key))?.taskQueueTrigger, `${o.name}-${key}`).toBeDefined();
      }
      for (const [key, sub] of Object.entries(o.events)) {
        // Declared and discovered; the emulator only runs it when a Pub/Sub emulator is there.
        expect(triggers.get(functionName(o.name, key))?.eventTrigger).toMatchObject({
          eventType: 'google.cloud.pubsub.topic.v1.messagePublished',
          eventFilters: { topic: `projects/${PROJECT}/topics/${sub.topic}` },
        });
      }
      for (const key of Object.keys(o.documents)) {
        expect(triggers.get(functionName(o.name, key))?.eventTrigger, `${o.name}-${key}`).toBeDefined();
      }
      for (const key of Object.keys(o.schedules)) {
        expect(triggers.has(functionName(o.name, key)), `${o.name}-${key}`).toBe(true);
      }
    }
  });

  it("serves every orchestrator's api function through the shared front door", async () => {
    for (const o of orchestrators) {
      const res = await fetch(apiUrl(o.name, '/no-such/route/at/all'));
      expect(res.status, o.name).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await res.json()).toMatchObject({ code: 'not-found' });
    }
  });

  it('answers GET /api/system/health with 200 from the firebase runtime, naming what is missing', async () => {
    const res = await fetch(apiUrl('system', '/health'));
    expect(res.status).toBe(200);
    const health = (await res.json()) as {
      runtime: string;
      status: string;
      checks: Record<string, { status: string }>;
    };
    expect(health.runtime).toBe('firebase');
    // No Firestore emulator and no Upstash here: the report says so instead of failing.
    expect(Object.keys(health.checks).sort()).toEqual(['documents', 'kv', 'tasks']);
    if (health.status === 'degraded') {
      expect(Object.values(health.checks).some((c) => c.status === 'failing')).toBe(true);
    }
  });
});

describe('hosting emulator, with the rewrites of firebase.json', () => {
  it('defect (issue 8, item 8): an unknown API path got the SPA with 200; now a 404 problem from the API', async () => {
    for (const path of ['/api/nope', '/api/nope/deeper']) {
      const res = await fetch(`${hostingUrl}${path}`);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type'), path).toMatch(/^application\/problem\+json/);
      expect(await res.json()).toMatchObject({ code: 'not-found' });
    }
    // A known route still reaches its own function, and a page path still gets the app.
    expect((await fetch(`${hostingUrl}/api/system/health`)).status).toBe(200);
    const page = await fetch(`${hostingUrl}/pool`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  });
});

describe('auth emulator', () => {
  async function signUp(email: string): Promise<{ idToken: string; localId: string }> {
    const res = await fetch(
      `http://${authHost}/identitytoolkit.googleapis.com/v1/accounts:signUp?key=demo-key`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password: 'secret-e2e', returnSecureToken: true }),
      },
    );
    expect(res.status).toBe(200);
    return (await res.json()) as { idToken: string; localId: string };
  }

  it('accepts an ID token from Firebase Auth on a signed-in route and refuses a forged one', async () => {
    const { idToken } = await signUp(`e2e-${Date.now()}@example.com`);

    const info = await fetch(apiUrl('system', '/info'), { headers: { authorization: `Bearer ${idToken}` } });
    expect(info.status).toBe(200);
    expect(await info.json()).toMatchObject({ runtime: 'firebase' });

    const anonymous = await fetch(apiUrl('system', '/info'));
    expect(anonymous.status).toBe(401);
    const forged = await fetch(apiUrl('system', '/info'), {
      headers: { authorization: 'Bearer not-a-token' },
    });
    expect(forged.status).toBe(401);
  });

  it('checks revocation: once the user is signed out everywhere, their ID token gets 401', async () => {
    const email = `e2e-revoked-${Date.now()}@example.com`;
    const { idToken, localId } = await signUp(email);
    const session = await fetch(apiUrl('system', '/session'), {
      headers: { authorization: `Bearer ${idToken}` },
    });
    expect(await session.json()).toMatchObject({
      mode: 'firebase',
      signedIn: true,
      user: { uid: localId, email, platformAdmin: false },
    });
    // Revocation counts whole seconds: a token issued in the second of the revocation still passes.
    const issuedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 1100 - (issuedAt % 1000)));
    await getAuth(app).revokeRefreshTokens(localId);
    const revoked = await fetch(apiUrl('system', '/info'), {
      headers: { authorization: `Bearer ${idToken}` },
    });
    expect(revoked.status).toBe(401);
    expect(await revoked.json()).toMatchObject({ code: 'unauthenticated', detail: /id-token-revoked/ });
    // On a public route the revoked token is simply no one.
    const after = await fetch(apiUrl('system', '/session'), {
      headers: { authorization: `Bearer ${idToken}` },
    });
    expect(await after.json()).toMatchObject({ signedIn: false, user: null });
  });
});

describe('people on Firebase Auth (emulator)', () => {
  it('finds or creates a person by email, lists, reads and removes them', async () => {
    const people = firebasePeople(async () => getAuth(app));
    const email = `e2e-person-${Date.now()}@example.com`;
    const created = await people.findOrCreateByEmail(email.toUpperCase());
    expect(created).toMatchObject({ email, new: true });
    expect(await people.findOrCreateByEmail(email)).toEqual({ ...created, new: false });
    expect(await people.get(created.uid)).toEqual({
      uid: created.uid,
      email,
      displayName: null,
      platformAdmin: false,
    });
    expect((await people.list(1000)).map((p) => p.uid)).toContain(created.uid);
    expect(await people.invitation(created.uid)).toBeNull();
    expect(await people.remove(created.uid)).toBe(true);
    expect(await people.get(created.uid)).toBeNull();
    expect(await people.remove(created.uid)).toBe(false);
  });
});

describe('Cloud Tasks emulator', () => {
  it('dispatches a task enqueued through the CloudTasksQueue adapter to its onTaskDispatched handler', async () => {
    const queue = new CloudTasksQueue({
      region: REGION,
      queues: [functionName('system', 'ping')],
      taskQueue: async (resource) => getFunctions(app).taskQueue<unknown>(resource),
      counts: emulatorCounts({ host: tasksHost, region: REGION, projectId: async () => PROJECT }),
      updateRateLimits: async () => {},
      countDeadLetters: async () => 0,
    });
    const pingId = `e2e${Date.now()}`;
    const id = `ping-${pingId}`;
    expect(await queue.enqueue('system-ping', { pingId }, { id })).toEqual({ id, deduped: false });
    // The same id again is a no-op: Cloud Tasks (and its emulator) keep task names for dedupe.
    expect(await queue.enqueue('system-ping', { pingId }, { id })).toEqual({ id, deduped: true });

    // The handler logs its arrival as a JSON line before touching Firestore; the emulator prints it.
    // Waits for a condition (the line appearing), never asserts an absence after a sleep.
    const line = await vi.waitUntil(
      () =>
        emulatorOutput()
          .split('\n')
          .map((l) => l.slice(l.indexOf('{')))
          .filter((l) => l.startsWith('{') && l.includes(pingId))
          .map((l) => {
            try {
              return JSON.parse(l) as Record<string, unknown>;
            } catch {
              return undefined;
            }
          })
          .find((entry) => entry?.message === 'ping task received'),
      { timeout: 60_000, interval: 250 },
    );
    expect(line, 'the ping task handler logs its arrival').toMatchObject({
      severity: 'INFO',
      pingId,
      queue: 'system-ping',
      attempt: 1,
      correlationId: id,
    });

    const stats = await queue.stats('system-ping');
    expect(stats).toMatchObject({ queue: 'system-ping', deadLettered: 0 });
    expect(Number.isInteger(stats.depth) && Number.isInteger(stats.inFlight)).toBe(true);
  });
});

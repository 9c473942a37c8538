/**
 * The firebase runtime's ports, made once per function instance. Nothing is
 * connected here: each adapter loads its client library and opens its
 * connection on first use, so an instance pays only for what its handler
 * touches. Configuration and secrets are read at call time.
 */

import type { App } from 'firebase-admin/app';
import { type Clock, systemClock } from '../../platform/clock.js';
import { type Env, envConfig } from '../../platform/config.js';
import { DEFAULT_TASK_TIMEOUT_SECONDS, rateLimits } from '../../platform/delivery.js';
import { PermanentError } from '../../platform/errors.js';
import { withDeclaredFairness } from '../../platform/flow-control.js';
import { type FlowControl, flowControlOf } from '../../platform/flow-declaration.js';
import { createUlids } from '../../platform/ids.js';
import type { KvOperation } from '../../platform/kv-operations.js';
import { cloudLoggingTraceFields, createLogger, type Logger } from '../../platform/logger.js';
import { functionName, summarize, type TaskDefinition } from '../../platform/orchestrator.js';
import type { KeyValueStore, KvSetOptions, Ports } from '../../platform/ports.js';
import { prefixedSecrets } from '../../platform/secrets.js';
import { createTracer, type Tracer } from '../../platform/tracing.js';
import {
  CloudTasksQueue,
  cloudTasksCounts,
  cloudTasksUpdateRateLimits,
  emulatorCounts,
  emulatorUpdateRateLimits,
  lazyCloudTasksClient,
} from './cloud-tasks.js';
import { FirestoreDocumentStore } from './firestore.js';
import { kvPacer } from './pacing.js';
import { FUNCTION_SECRETS } from './params.js';
import { firebasePeople } from './people.js';
import { PubSubEventBus } from './pubsub.js';
import { StorageBlobStore, type StorageBucket } from './storage-blobs.js';

/** Where every function runs; Hosting's rewrites in firebase.json name the same region. */
export const REGION = 'us-central1';

/** Collection of dead letters: work that failed for good, with its last error, for Mission Control to show and replay. */
export const DEAD_LETTERS = 'deadLetters';

const SECRETS: ReadonlyMap<string, { value(): string }> = new Map(FUNCTION_SECRETS.map((s) => [s.name, s]));

let app: Promise<App> | undefined;

/** The default firebase-admin app, initialised on first use (`getApps().length || initializeApp()`). */
export function adminApp(): Promise<App> {
  app ??= import('firebase-admin/app').then(({ getApps, initializeApp }) => getApps()[0] ?? initializeApp());
  return app;
}

let declared: Promise<ReadonlyMap<string, TaskDefinition>> | undefined;

/** Every task queue's definition, from the registry: loaded on the first enqueue that needs one. */
async function declaredTask(queue: string): Promise<TaskDefinition | undefined> {
  declared ??= import('../../orchestrators/registry.js').then(
    ({ orchestrators }) =>
      new Map(
        orchestrators.flatMap((o) =>
          Object.entries(o.tasks).map(([key, task]) => [functionName(o.name, key), task] as const),
        ),
      ),
  );
  return (await declared).get(queue);
}

/** A queue's declared dispatch rate (pacing). */
async function declaredRate(queue: string): Promise<number> {
  return rateLimits((await declaredTask(queue))?.rateLimits).maxDispatchesPerSecond;
}

/** How long one attempt of a queue's task may run: its function's timeout, and its tasks' dispatch deadline. */
async function declaredAttemptSeconds(queue: string): Promise<number> {
  return (await declaredTask(queue))?.timeoutSeconds ?? DEFAULT_TASK_TIMEOUT_SECONDS;
}

/** A queue's declared flow control (the fairness its enqueues get). */
async function declaredFlow(queue: string): Promise<FlowControl | undefined> {
  const flow = (await declaredTask(queue))?.flowControl;
  return flow === undefined ? undefined : flowControlOf(flow);
}

/** Every task queue of the deployment, from the registry: loaded only when a caller asks for queue stats. */
async function allTaskQueues(): Promise<readonly string[]> {
  const { orchestrators } = await import('../../orchestrators/registry.js');
  return orchestrators.flatMap((o) => Object.keys(o.tasks).map((key) => functionName(o.name, key)));
}

export interface FirebasePortsOptions {
  /** @default process.env, read at call time */
  env?: Env;
  /** @default {@link REGION} */
  region?: string;
  clock?: Clock;
  logger?: Logger;
  /** @default every task queue in the registry, loaded lazily */
  queues?: () => Promise<readonly string[]>;
  /**
   * @default spans batched to Cloud Trace (cloud-trace.ts), as {@link firebasePorts} makes them; given
   * here directly, a tracer that records nothing but carries incoming trace context
   */
  tracer?: Tracer;
}

export function createFirebasePorts(opts: FirebasePortsOptions = {}): Ports {
  const env = opts.env ?? process.env;
  const region = opts.region ?? REGION;
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? firebaseLogger(env);
  const bound = (name: string) => SECRETS.get(name)?.value() || undefined;
  // A use case's secrets are bound secrets alone: never a variable of the functions' environment.
  const config = envConfig(
    env,
    bound,
    prefixedSecrets(bound, (name) => env[name]),
  );
  const projectId = async (): Promise<string> => {
    const id = (await adminApp()).options.projectId ?? env.GCLOUD_PROJECT ?? env.GOOGLE_CLOUD_PROJECT;
    if (!id)
      throw new Error('No Google Cloud project: set GCLOUD_PROJECT or initialise firebase-admin with one');
    return id;
  };
  const documents = new FirestoreDocumentStore({
    firestore: async () => {
      assertEmulatedIfLocal(env, 'Firestore', 'FIRESTORE_EMULATOR_HOST', 'firestore');
      const { getFirestore } = await import('firebase-admin/firestore');
      return getFirestore(await adminApp());
    },
    now: () => clock.now(),
  });
  // @upstash/redis is loaded with the first kv call, like every other client here.
  const kv = new LazyKv(async () => (await import('./upstash-kv.js')).createUpstashKv(config));
  const emulatorHost = env.CLOUD_TASKS_EMULATOR_HOST;
  const cloudTasks = lazyCloudTasksClient();
  const tasks = new CloudTasksQueue({
    region,
    clock,
    attemptSeconds: declaredAttemptSeconds,
    queues: opts.queues ?? allTaskQueues,
    taskQueue: async (resource) => {
      const { getFunctions } = await import('firebase-admin/functions');
      return getFunctions(await adminApp()).taskQueue<unknown>(resource);
    },
    counts: emulatorHost
      ? emulatorCounts({ host: emulatorHost, region, projectId })
      : cloudTasksCounts({ region, projectId, now: () => clock.now(), client: cloudTasks }),
    updateRateLimits: emulatorHost
      ? emulatorUpdateRateLimits({ logger })
      : cloudTasksUpdateRateLimits({ region, projectId, client: cloudTasks }),
    countDeadLetters: (queue) => documents.count(DEAD_LETTERS, [{ field: 'source', op: '==', value: queue }]),
    pace: kvPacer({ kv, rate: declaredRate }),
    logger,
  });
  const blobs = new StorageBlobStore({
    bucket: async () => {
      assertEmulatedIfLocal(env, 'Cloud Storage', 'FIREBASE_STORAGE_EMULATOR_HOST', 'storage');
      const { getStorage } = await import('firebase-admin/storage');
      // Unset: the project's default bucket (storageBucket in FIREBASE_CONFIG on Cloud Functions).
      const bucket: StorageBucket = getStorage(await adminApp()).bucket(config.get('SERAPHIM_BLOB_BUCKET'));
      return bucket;
    },
    clock,
  });
  const ports: Ports = {
    runtime: 'firebase',
    documents,
    events: new PubSubEventBus({
      client: async () => {
        assertEmulatedIfLocal(env, 'Pub/Sub', 'PUBSUB_EMULATOR_HOST', 'pubsub');
        const { PubSub } = await import('@google-cloud/pubsub');
        return new PubSub();
      },
    }),
    tasks,
    kv,
    blobs,
    clock,
    ids: createUlids(() => clock.now()),
    config,
    logger,
    people: firebasePeople(async () => (await import('firebase-admin/auth')).getAuth(await adminApp())),
    deployment: async () => (await import('../../orchestrators/registry.js')).orchestrators.map(summarize),
    tracer: opts.tracer ?? createTracer(),
  };
  // Every enqueue gets its queue's declared fairness (flow-control.ts): Cloud Tasks paces by it.
  return { ...ports, tasks: withDeclaredFairness(ports, tasks, declaredFlow) };
}

/**
 * Under the emulator suite, or in a `demo-` project (which has no cloud
 * resources at all), a service whose emulator is not running must fail at
 * once and say so. Otherwise the client would try production Google APIs
 * and hang until the function times out (60 s for a Firestore read here).
 */
export function assertEmulatedIfLocal(
  env: Env,
  service: string,
  hostVariable: string,
  emulator: string,
): void {
  const local = env.FUNCTIONS_EMULATOR === 'true' || (env.GCLOUD_PROJECT ?? '').startsWith('demo-');
  if (local && !env[hostVariable]) {
    throw new PermanentError(
      `${service} is not emulated here (${hostVariable} is unset): start the ${emulator} emulator, e.g. ` +
        `firebase emulators:start --only functions,${emulator}`,
    );
  }
}

/** Cloud Logging links a line to its trace only by the full resource name, which needs the project. */
function firebaseLogger(env: Env): Logger {
  const project = env.GCLOUD_PROJECT ?? env.GOOGLE_CLOUD_PROJECT;
  return createLogger({
    fields: { runtime: 'firebase' },
    ...(project ? { traceFields: cloudLoggingTraceFields(project) } : {}),
  });
}

let instance: Promise<Ports> | undefined;

/**
 * This instance's ports: made on the first invocation, then shared by every
 * invocation the instance serves. The OpenTelemetry SDK behind Cloud Trace
 * loads then too, not when the function's module is imported (cold start).
 */
export function firebasePorts(): Promise<Ports> {
  instance ??= import('./cloud-trace.js').then(({ createCloudTraceTracer }) => {
    const logger = firebaseLogger(process.env);
    return createFirebasePorts({ logger, tracer: createCloudTraceTracer({ env: process.env, logger }) });
  });
  return instance;
}

/**
 * Upstash kv made on its first call rather than with the ports: its URL and
 * token are read then, inside a handler, where a secret's `.value()` belongs;
 * and a handler that never uses kv never needs them configured.
 */
class LazyKv implements KeyValueStore {
  readonly #create: () => Promise<KeyValueStore>;
  #kv: KeyValueStore | undefined;

  constructor(create: () => Promise<KeyValueStore>) {
    this.#create = create;
  }

  /** Not cached until made: a kv that is not configured fails each call, with the reason, until it is. */
  async #store(): Promise<KeyValueStore> {
    this.#kv ??= await this.#create();
    return this.#kv;
  }

  async get(key: string): Promise<string | null> {
    return (await this.#store()).get(key);
  }
  async mget(keys: string[]): Promise<Array<string | null>> {
    return (await this.#store()).mget(keys);
  }
  async set(key: string, value: string, opts?: KvSetOptions): Promise<boolean> {
    return (await this.#store()).set(key, value, opts);
  }
  async del(key: string): Promise<boolean> {
    return (await this.#store()).del(key);
  }
  async delIfEquals(key: string, value: string): Promise<boolean> {
    return (await this.#store()).delIfEquals(key, value);
  }
  async incr(key: string, by?: number, opts?: { ttlMs?: number }): Promise<number> {
    return (await this.#store()).incr(key, by, opts);
  }
  async expire(key: string, ttlMs: number): Promise<boolean> {
    return (await this.#store()).expire(key, ttlMs);
  }
  async ttl(key: string): Promise<number | null> {
    return (await this.#store()).ttl(key);
  }
  async run<A, R>(op: KvOperation<A, R>, args: A): Promise<R> {
    return (await this.#store()).run(op, args);
  }
}

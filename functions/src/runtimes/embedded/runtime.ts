/**
 * The embedded runtime: every orchestrator in one process on one SQLite file.
 * It turns each definition's tasks, event subscriptions, document triggers and
 * schedules into queues on the embedded task queue, and its routes into the
 * shared HTTP front door.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { Cron } from 'croner';
import { type Clock, systemClock } from '../../platform/clock.js';
import { type Env, envConfig } from '../../platform/config.js';
import {
  DEFAULT_TASK_TIMEOUT_SECONDS,
  DELIVERY_TIMEOUT_SECONDS,
  deliveryRetry,
  rateLimits,
  retryPolicy,
  SCHEDULE_ATTEMPTS,
  SCHEDULE_TIMEOUT_SECONDS,
} from '../../platform/delivery.js';
import { errorMessage, PermanentError } from '../../platform/errors.js';
import { declaredFlows, runTask, withDeclaredFairness } from '../../platform/flow-control.js';
import { type ApiHandler, createApiHandler } from '../../platform/http.js';
import { LOCAL_OWNER } from '../../platform/identity.js';
import { createUlids, type Ids } from '../../platform/ids.js';
import { createLogger, type Logger } from '../../platform/logger.js';
import { buildOpenApi } from '../../platform/openapi.js';
import {
  type Context,
  functionName,
  matchDocumentPattern,
  type Orchestrator,
  PRIORITY_CLASSES,
  summarize,
} from '../../platform/orchestrator.js';
import type { DocumentChange, KeyValueStore, Ports, StoredDocument } from '../../platform/ports.js';
import { TRACEPARENT_ATTRIBUTE, traceDelivery, traceTaskAttempt } from '../../platform/tracing.js';
import { EmbeddedBlobStore } from './blobs.js';
import { type DeliveryPayload, DOCUMENTS_TOPIC, EmbeddedEventBus } from './bus.js';
import { acquireDataDirLock, type DataDirLock } from './data-lock.js';
import { type DocumentChangeRecord, SqliteDocumentStore } from './documents.js';
import { MemoryKv } from './kv.js';
import { LocalDirectory } from './people.js';
import { EmbeddedTaskQueue, type QueueConfig, type TaskHandler } from './queue.js';
import { machineRateLimits, type QueueLimitSettings, queueLimitSettings } from './queue-limits.js';
import type { RawHandler } from './server.js';
import { cliTokenResolver, EmbeddedSessions } from './sessions.js';
import { CLI_TOKEN_FILE } from './settings.js';
import {
  createEmbeddedTracing,
  DEFAULT_SPAN_RETENTION,
  type EmbeddedTracing,
  type SpanRetention,
} from './spans.js';
import { openDatabase } from './sqlite.js';
import { WalCheckpointer } from './wal-checkpointer.js';

export interface EmbeddedRuntimeOptions {
  orchestrators: readonly Orchestrator[];
  /** Folder for the SQLite file and the lock; `:memory:` keeps everything in memory (tests). */
  dataDir: string;
  env?: Env;
  logger?: Logger;
  clock?: Clock;
  ids?: Ids;
  kv?: KeyValueStore;
  version: string;
  /** How many recent spans the database keeps. @default {@link DEFAULT_SPAN_RETENTION} */
  spanRetention?: SpanRetention;
  /**
   * `local`: every request is the local owner (a loopback address); `session`:
   * sign-in required (cookie sessions). @default 'local'
   */
  auth?: 'local' | 'session';
}

const SWEEP_INTERVAL_MS = 5_000;

export class EmbeddedRuntime {
  readonly ports: Ports;
  readonly queue: EmbeddedTaskQueue;
  readonly bus: EmbeddedEventBus;
  readonly documents: SqliteDocumentStore;
  readonly blobs: EmbeddedBlobStore;
  readonly api: ApiHandler;
  /** Requests the HTTP server hands over before the API: the streamed blob upload path. */
  readonly rawHandlers: readonly RawHandler[];
  readonly people: LocalDirectory;
  readonly sessions: EmbeddedSessions;
  /** Sent by the CLI on this machine as `Authorization: Bearer`; the local owner. */
  readonly cliToken: string;
  readonly orchestrators: readonly Orchestrator[];
  readonly startedAt: number;
  readonly #db: DatabaseSync;
  readonly #lock: DataDirLock | undefined;
  /** A `:memory:` runtime's blob folder, removed on stop. */
  readonly #scratch: string | undefined;
  readonly #crons: Cron[] = [];
  readonly #tracing: EmbeddedTracing;
  readonly #spanRetention: SpanRetention;
  /** The queues' limits on this machine (queue-limits.ts), read once at start-up. */
  readonly #queueLimits: QueueLimitSettings;
  #sweeper: NodeJS.Timeout | undefined;
  #started = false;
  /** The database file, when on disk: its WAL is checkpointed by a worker while the runtime runs. */
  readonly #dbFile: string | undefined;
  #checkpointer: WalCheckpointer | undefined;

  constructor(opts: EmbeddedRuntimeOptions) {
    const clock = opts.clock ?? systemClock;
    const ids = opts.ids ?? createUlids(() => clock.now());
    const logger = opts.logger ?? createLogger({ fields: { runtime: 'embedded' } });
    // Before the data folder is touched: a bad setting stops start-up with nothing to undo.
    this.#queueLimits = queueLimitSettings(opts.env ?? process.env);
    this.orchestrators = opts.orchestrators;
    this.startedAt = clock.now();
    const memory = opts.dataDir === ':memory:';
    this.#lock = memory ? undefined : acquireDataDirLock(opts.dataDir);
    try {
      const usedBefore = memory ? undefined : priorUse(opts.dataDir);
      this.#dbFile = memory ? undefined : join(opts.dataDir, 'seraphim.db');
      this.#db = openDatabase({
        file: this.#dbFile ?? ':memory:',
        ...(usedBefore === undefined ? {} : { usedBefore }),
      });
    } catch (error) {
      this.#lock?.release();
      throw error;
    }
    this.#tracing = createEmbeddedTracing(this.#db, { now: () => clock.now(), logger });
    this.#spanRetention = opts.spanRetention ?? DEFAULT_SPAN_RETENTION;
    this.queue = new EmbeddedTaskQueue(this.#db, { clock, ids, logger });
    this.bus = new EmbeddedEventBus(this.#db, this.queue, { clock, ids, logger });
    this.documents = new SqliteDocumentStore(this.#db, { now: () => clock.now(), recorder: this.bus });
    this.#scratch = memory ? mkdtempSync(join(tmpdir(), 'seraphim-blobs-')) : undefined;
    try {
      this.blobs = new EmbeddedBlobStore(this.#db, {
        dir: this.#scratch ?? join(opts.dataDir, 'blobs'),
        clock,
      });
    } catch (error) {
      this.#db.close();
      if (this.#scratch) rmSync(this.#scratch, { recursive: true, force: true });
      this.#lock?.release();
      throw error;
    }
    const kv = opts.kv ?? new MemoryKv({ clock });
    const mode = opts.auth ?? 'local';
    this.people = new LocalDirectory({ mode, documents: this.documents, clock, ids });
    this.sessions = new EmbeddedSessions({ directory: this.people, documents: this.documents, kv, clock });
    this.people.sessions = this.sessions;
    this.cliToken = randomBytes(32).toString('base64url');
    if (!memory) writeCliToken(opts.dataDir, this.cliToken);
    const ports: Ports = {
      runtime: 'embedded',
      documents: this.documents,
      events: this.bus,
      tasks: this.queue,
      kv,
      blobs: this.blobs,
      clock,
      ids,
      config: envConfig(opts.env ?? process.env),
      logger,
      people: this.people,
      deployment: async () => opts.orchestrators.map(summarize),
      tracer: this.#tracing.tracer,
    };
    // Every enqueue gets its queue's declared fairness (flow-control.ts).
    this.ports = {
      ...ports,
      tasks: withDeclaredFairness(ports, this.queue, declaredFlows(opts.orchestrators)),
    };
    this.rawHandlers = [this.blobs.uploadHandler(this.ports)];
    for (const o of opts.orchestrators) this.#mount(o);
    const version = opts.version;
    this.api = createApiHandler(opts.orchestrators, {
      ports: this.ports,
      // On loopback without sign-in everyone is the owner: a token (maybe another runtime's) changes nothing.
      resolvers:
        mode === 'local'
          ? [async () => LOCAL_OWNER]
          : [cliTokenResolver(this.cliToken), this.sessions.resolver()],
      openApi: async () => buildOpenApi(opts.orchestrators, { version }),
    });
  }

  /** The WAL checkpointer while the runtime runs on disk (tests). */
  get checkpointer(): WalCheckpointer | undefined {
    return this.#checkpointer;
  }

  /** The one SQLite connection everything writes through: for diagnostics, and fault tests (a full disk). */
  get database(): DatabaseSync {
    return this.#db;
  }

  #context(correlationId: string, fields: Record<string, unknown>): Context {
    return { ...this.ports, correlationId, logger: this.ports.logger.child({ correlationId, ...fields }) };
  }

  #register(name: string, config: Omit<QueueConfig, 'name'>, handler: TaskHandler): void {
    this.queue.register({ name, ...config }, handler);
  }

  #mount(o: Orchestrator): void {
    for (const [key, task] of Object.entries(o.tasks)) {
      const name = functionName(o.name, key);
      const timeoutMs = (task.timeoutSeconds ?? DEFAULT_TASK_TIMEOUT_SECONDS) * 1000;
      // The machine's limits, not the declared Cloud Tasks settings; the pool's auto-scaling scales these.
      const limits = machineRateLimits(rateLimits(task.rateLimits), this.#queueLimits);
      const onThisMachine = { ...task, rateLimits: limits };
      this.#register(
        name,
        {
          retry: retryPolicy(task.retry),
          rateLimits: limits,
          timeoutMs,
          priority: PRIORITY_CLASSES.indexOf(task.priority ?? 'normal'),
        },
        async (payload, info) => {
          await traceTaskAttempt(this.ports.tracer, info, async () => {
            const parsed = task.payload.safeParse(payload);
            if (!parsed.success)
              throw new PermanentError(`Task payload for ${name} is invalid: ${parsed.error.message}`);
            await runTask(
              onThisMachine,
              { raw: payload, parsed: parsed.data },
              this.#context(info.id, { queue: name, attempt: info.attempt }),
              info,
              timeoutMs,
            );
          });
        },
      );
    }
    for (const [key, sub] of Object.entries(o.events)) {
      const name = functionName(o.name, key);
      this.#register(name, this.#deliveryConfig(sub.retry), async (payload, info) => {
        const envelope = this.bus.envelope((payload as DeliveryPayload).offset, info.attempt);
        const delivery = {
          source: name,
          id: envelope.id,
          attempt: info.attempt,
          traceparent: envelope.attributes[TRACEPARENT_ATTRIBUTE],
        };
        await traceDelivery(this.ports.tracer, delivery, async () => {
          const data = sub.data.safeParse(envelope.data);
          if (!data.success)
            throw new PermanentError(
              `Event ${envelope.id} on ${sub.topic} is invalid: ${data.error.message}`,
            );
          await sub.handler(
            { ...envelope, data: data.data },
            this.#context(envelope.id, { subscription: name }),
          );
        });
      });
      this.bus.subscribe({ name, topic: sub.topic });
    }
    for (const [key, trigger] of Object.entries(o.documents)) {
      const name = functionName(o.name, key);
      this.#register(name, this.#deliveryConfig(trigger.retry), async (payload, info) => {
        const event = this.bus.event((payload as DeliveryPayload).offset);
        const traceparent = event.attributes[TRACEPARENT_ATTRIBUTE];
        const record = event.data as DocumentChangeRecord;
        const params = matchDocumentPattern(trigger.document, record.path) ?? {};
        const change: DocumentChange = {
          eventId: event.id,
          path: record.path,
          params,
          before: record.before as StoredDocument | null,
          after: record.after as StoredDocument | null,
        };
        await traceDelivery(
          this.ports.tracer,
          { source: name, id: event.id, attempt: info.attempt, traceparent },
          () => trigger.handler(change, this.#context(event.id, { trigger: name, path: record.path })),
        );
      });
      this.bus.subscribe({
        name,
        topic: DOCUMENTS_TOPIC,
        accepts: (attributes) => matchDocumentPattern(trigger.document, attributes.path ?? '') !== null,
      });
    }
    for (const [key, schedule] of Object.entries(o.schedules)) {
      const name = functionName(o.name, key);
      this.#register(
        name,
        {
          retry: retryPolicy({ maxAttempts: SCHEDULE_ATTEMPTS }),
          rateLimits: rateLimits({ maxConcurrentDispatches: 1 }),
          timeoutMs: SCHEDULE_TIMEOUT_SECONDS * 1000,
        },
        async (payload, info) => {
          const { scheduledTime } = payload as { scheduledTime: number };
          await traceTaskAttempt(this.ports.tracer, info, () =>
            schedule.handler(this.#context(info.id, { schedule: name }), { scheduledTime }),
          );
        },
      );
      this.#crons.push(
        new Cron(
          schedule.cron,
          { timezone: schedule.timeZone ?? 'UTC', paused: true, catch: true },
          (cron: Cron) => {
            this.fireSchedule(name, cron.currentRun()?.getTime() ?? this.ports.clock.now()).catch(
              (error: unknown) =>
                this.ports.logger.error('Could not enqueue schedule', { name, error: errorMessage(error) }),
            );
          },
        ),
      );
    }
  }

  /**
   * Turns one firing of a schedule into a task keyed on its time, so a firing
   * runs once however often the timer (or an operator) fires it.
   */
  async fireSchedule(name: string, scheduledTime: number): Promise<{ id: string; deduped: boolean }> {
    return this.queue.enqueue(name, { scheduledTime }, { id: `${name}-${scheduledTime}` });
  }

  #deliveryConfig(retry: Orchestrator['events'][string]['retry']): Omit<QueueConfig, 'name'> {
    return {
      retry: deliveryRetry(retry),
      rateLimits: machineRateLimits(
        rateLimits({ maxConcurrentDispatches: 16, maxDispatchesPerSecond: 1000 }),
        this.#queueLimits,
      ),
      timeoutMs: DELIVERY_TIMEOUT_SECONDS * 1000,
    };
  }

  /** Starts the queue, the bus pump, the timers and the sweeper. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    if (this.#dbFile)
      this.#checkpointer = new WalCheckpointer(this.#db, { file: this.#dbFile, logger: this.ports.logger });
    this.queue.start();
    this.bus.start();
    for (const cron of this.#crons) cron.resume();
    this.#sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.#sweeper.unref();
  }

  sweep(): void {
    try {
      this.queue.sweep();
      this.bus.pump();
      this.bus.sweep();
      this.#tracing.table.prune(this.#spanRetention, this.ports.clock.now());
    } catch (error) {
      this.ports.logger.error('Sweep failed', { error: errorMessage(error) });
    }
  }

  /** Resolves once every queue is idle and every event has been pumped. */
  async whenIdle(): Promise<void> {
    for (;;) {
      await this.queue.whenIdle();
      if (this.bus.pump() === 0) return;
    }
  }

  /** Graceful stop: no new work, in-flight work finishes or hands its lease back, the file is closed. */
  async stop(opts: { graceMs?: number } = {}): Promise<{ finished: number; released: number }> {
    for (const cron of this.#crons) cron.stop();
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.bus.stop();
    const result = await this.queue.stop(opts);
    await this.#tracing.shutdown();
    await this.#checkpointer?.stop();
    this.#db.close();
    if (this.#scratch) rmSync(this.#scratch, { recursive: true, force: true });
    this.#lock?.release();
    return result;
  }
}

/**
 * What shows that a runtime has opened this folder's database before: each start writes the
 * CLI token, and the blob store makes its folder, only once the database is open.
 */
function priorUse(dataDir: string): string | undefined {
  const found = [CLI_TOKEN_FILE, 'blobs'].filter((name) => existsSync(join(dataDir, name)));
  return found.length > 0 ? `it holds ${found.join(' and ')}` : undefined;
}

/** Readable by this user only: whoever can read it is the machine's owner to the API. */
function writeCliToken(dataDir: string, token: string): void {
  const file = join(dataDir, CLI_TOKEN_FILE);
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600); // an older file keeps its mode through writeFileSync
}

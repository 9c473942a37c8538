/**
 * The ports: the only ways an orchestrator reaches the world. They are shaped
 * after what the platform needs, not after the whole Firestore API, so both
 * runtimes can honour them exactly and one contract suite can check both.
 */

import type { Readable } from 'node:stream';
import type { Clock } from './clock.js';
import type { RateLimits } from './delivery.js';
import type { Ids } from './ids.js';
import type { KvOperation } from './kv-operations.js';
import type { Logger } from './logger.js';
import type { UseCaseSecrets } from './secrets.js';
import type { Tracer } from './tracing.js';

// ---------------------------------------------------------------- documents

export type DocumentData = Record<string, unknown>;

export interface StoredDocument<T extends DocumentData = DocumentData> {
  /** Full slash path, e.g. `workspaces/w1/runs/r1`. */
  path: string;
  id: string;
  data: T;
  /** Starts at 1 on create and grows by one on every write: the optimistic-concurrency token. */
  version: number;
  createTime: number;
  updateTime: number;
}

export type FilterOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'array-contains';
export interface Filter {
  field: string;
  op: FilterOp;
  value: unknown;
}
export interface Order {
  field: string;
  direction?: 'asc' | 'desc';
}
export interface Query {
  where?: Filter[];
  orderBy?: Order[];
  /** Required upper bound: every query is bounded. */
  limit: number;
  /** Opaque cursor returned as `nextCursor` by the previous page. */
  cursor?: string;
}
export interface QueryPage<T extends DocumentData = DocumentData> {
  docs: StoredDocument<T>[];
  nextCursor: string | undefined;
}

export interface WriteOptions {
  /** Reject with ConflictError unless the stored version equals this. */
  ifVersion?: number;
}

/** Reads and writes inside one transaction. Do all reads before the first write, as Firestore requires. */
export interface DocumentTransaction {
  /** Untyped on purpose: parse what you read with its document kind (platform/stored.ts). */
  get(path: string): Promise<StoredDocument | null>;
  create(path: string, data: DocumentData): void;
  set(path: string, data: DocumentData): void;
  update(path: string, patch: DocumentData, opts?: WriteOptions): void;
  delete(path: string, opts?: WriteOptions): void;
}

export interface DocumentStore {
  /** Untyped on purpose: parse what you read with its document kind (platform/stored.ts). */
  get(path: string): Promise<StoredDocument | null>;
  /** Fails with ConflictError (`already-exists`) if the document exists. */
  create<T extends DocumentData>(path: string, data: T): Promise<StoredDocument<T>>;
  /** Creates or replaces. */
  set<T extends DocumentData>(path: string, data: T, opts?: WriteOptions): Promise<StoredDocument<T>>;
  /** Shallow-merges top-level fields; NotFoundError when absent, ConflictError on a stale `ifVersion`. */
  update(path: string, patch: DocumentData, opts?: WriteOptions): Promise<StoredDocument>;
  /** Returns whether a document was deleted. */
  delete(path: string, opts?: WriteOptions): Promise<boolean>;
  /** Bounded query over the direct children of a collection path. */
  query(collection: string, query: Query): Promise<QueryPage>;
  /**
   * Bounded query over every collection whose last segment is `collectionId`,
   * whatever its parent (Firestore's collection group query). Ties are broken
   * by the full path, not the id, since ids repeat across parents. On Firestore,
   * each filtered or ordered field needs a collection-group index.
   */
  queryGroup(collectionId: string, query: Query): Promise<QueryPage>;
  /** How many direct children of a collection match `where` (an aggregation: no document is read). */
  count(collection: string, where?: Filter[]): Promise<number>;
  /** Runs `fn` atomically; retried on contention, so `fn` must not have side effects outside `tx`. */
  transaction<R>(fn: (tx: DocumentTransaction) => Promise<R>): Promise<R>;
}

/** What a document trigger receives. */
export interface DocumentChange {
  /** Unique per change: key idempotent effects on it. */
  eventId: string;
  path: string;
  /** Values of the `{wildcards}` in the trigger's path pattern. */
  params: Record<string, string>;
  before: StoredDocument | null;
  after: StoredDocument | null;
}

// ---------------------------------------------------------------- events

export interface PublishOptions {
  attributes?: Record<string, string>;
  /** Events with the same ordering key are delivered in publish order. */
  orderingKey?: string;
}

export interface EventEnvelope<T = unknown> {
  /** Unique per published event; stays the same across redeliveries. */
  id: string;
  topic: string;
  data: T;
  attributes: Record<string, string>;
  orderingKey: string | undefined;
  publishTime: number;
  /** 1 on the first delivery. */
  deliveryAttempt: number;
}

export interface EventBus {
  publish(topic: string, data: unknown, opts?: PublishOptions): Promise<string>;
}

// ---------------------------------------------------------------- tasks

export interface EnqueueOptions {
  /** Dedupe key: a second enqueue with the same id in the same queue is a no-op. */
  id?: string;
  /** Earliest dispatch time, ms since epoch. */
  scheduleTime?: number;
  /**
   * Among tasks already due, a lower order goes first (ms since epoch; default:
   * when it became due). The engine orders a step by its execution's start, so
   * executions under way finish before newer ones start, and a backlog drains
   * depth-first. The embedded queue honours it; Cloud Tasks has no such control
   * (it dispatches due tasks in schedule order), so there it changes nothing.
   */
  order?: number;
  /**
   * Fair queuing within the queue: tasks with different keys (a workspace,
   * say) take turns at dispatch in proportion to their weights, so one key's
   * backlog does not hold up another's task. The embedded queue claims by it.
   * Cloud Tasks dispatches a queue in schedule order, so there each key's
   * tasks are paced instead: spaced `1 / (queue rate × share)` apart through
   * their schedule time, so a backlog waits in the future, not in front of
   * other keys' work.
   */
  fairness?: {
    key: string;
    /** @default 1 */
    weight?: number;
    /** This key's part of the queue now: its weight over the weights of every key with work. @default 1 */
    share?: number;
  };
}

export interface EnqueueResult {
  id: string;
  /** True when a task with this id already existed and nothing was added. */
  deduped: boolean;
}

export interface QueueStats {
  queue: string;
  /** Waiting to be dispatched, scheduled and deferred ones included. */
  depth: number;
  inFlight: number;
  /** Age of the oldest waiting task in ms, or 0 when none waits. */
  oldestAgeMs: number;
  deadLettered: number;
}

export interface TaskQueue {
  /**
   * `queue` is the fully qualified name `<orchestrator>-<task>`. Payloads must stay under 100 KB.
   * The active trace goes with the task (beside the payload, not in it), and its attempts continue it.
   */
  enqueue(queue: string, payload: unknown, opts?: EnqueueOptions): Promise<EnqueueResult>;
  stats(queue: string): Promise<QueueStats>;
  /** Stats of every queue this runtime drains, for monitoring and backpressure. */
  list(): Promise<QueueStats[]>;
  /**
   * Changes a queue's dispatch limits while it runs: the pool's auto-scaling.
   * Embedded: at once, in this process. Firebase: Cloud Tasks `updateQueue`.
   * A later deploy sets the declared limits again.
   */
  setRateLimits(queue: string, limits: Required<RateLimits>): Promise<void>;
  /**
   * Makes up to `count` tasks deferred on `gate` (see DeferError) ready now,
   * the highest priority class first, then the longest waiting. Returns how
   * many woke. Cloud Tasks cannot move a scheduled task: there it returns 0
   * and deferred tasks wait out their delay.
   */
  wake(gate: string, count: number): Promise<number>;
  /**
   * How this queue waits out a DeferError. `park`: it keeps the task and
   * `wake(gate)` makes it ready (embedded). `requeue`: the attempt ends and the
   * task goes back as a new task, `<id>-d<n>` (Cloud Tasks, which cannot move
   * a scheduled task); the flow-control wrapper then keeps the waiter in kv
   * and whoever frees a slot enqueues it (flow-control.ts).
   */
  readonly deferral: 'park' | 'requeue';
}

/** What a task handler receives besides its payload. */
export interface TaskInfo {
  queue: string;
  id: string;
  /** 1 on the first attempt. */
  attempt: number;
  maxAttempts: number;
  /** The W3C trace context of the work that enqueued the task, which its attempts continue. */
  traceparent?: string | undefined;
  /**
   * Set for a task that declares flow control: the handler says what the
   * upstream it called did (latency, a 429), and the adaptive limits learn from
   * it when the slots are freed. Not called, or called with null (a cache hit,
   * a wait): the attempt says nothing about the upstream.
   */
  reportUpstream?: (seen: UpstreamObservation | null) => void;
}

/** What one call to an upstream (an LLM provider, an HTTP API) showed. */
export interface UpstreamObservation {
  latencyMs: number;
  /** The upstream answered 429 (or said to retry after a while). */
  rateLimited: boolean;
}

// ---------------------------------------------------------------- kv

export interface KvSetOptions {
  ttlMs?: number;
  /** Only set when the key is absent (SET NX). Returns false when it existed. */
  ifAbsent?: boolean;
}

/** The Redis subset the cache, sessions, rate limits and quotas need. Every call is atomic. */
export interface KeyValueStore {
  get(key: string): Promise<string | null>;
  mget(keys: string[]): Promise<Array<string | null>>;
  set(key: string, value: string, opts?: KvSetOptions): Promise<boolean>;
  del(key: string): Promise<boolean>;
  /**
   * Deletes the key only if it holds exactly `value` (atomic); returns whether it deleted.
   * How a lease holder frees its lease without freeing one that expired and was re-taken.
   */
  delIfEquals(key: string, value: string): Promise<boolean>;
  /** Atomic increment; a new key starts at 0 and gets `ttlMs` if given (fixed-window counters). */
  incr(key: string, by?: number, opts?: { ttlMs?: number }): Promise<number>;
  expire(key: string, ttlMs: number): Promise<boolean>;
  /** Remaining time to live in ms; null when the key is missing or has no expiry. */
  ttl(key: string): Promise<number | null>;
  /**
   * Runs one named atomic operation (`platform/kv-operations.ts`): a decision
   * that reads, decides and writes in one step, one round trip on Upstash.
   * @example await kv.run(acquireSlots, { dimensions, holder, ttlMs, now })
   */
  run<A, R>(op: KvOperation<A, R>, args: A): Promise<R>;
}

// ---------------------------------------------------------------- blobs

/** What the platform knows about a stored blob; the same fields on both runtimes. */
export interface BlobMeta {
  /** The blob's path, e.g. `workspaces/w1/uploads/claims.csv` (see `blobPath` for the allowed subset). */
  path: string;
  /** Bytes. */
  size: number;
  contentType: string;
  /** SHA-256 of the content, lowercase hex. */
  sha256: string;
  /** When this content was stored, ms since epoch. */
  createdAt: number;
}

/** A body to store: streamed as it is read, never buffered whole. */
export type BlobBody = Readable | Uint8Array | string;

export interface BlobPutOptions {
  contentType: string;
  /** Refuse the body with PayloadTooLargeError as soon as it passes this many bytes; nothing is stored. */
  maxBytes?: number;
  /** Store only if nothing is at the path yet; ConflictError otherwise. */
  ifAbsent?: boolean;
}

export interface BlobListOptions {
  /** Required upper bound: every listing is bounded. */
  limit: number;
  /** Opaque cursor returned as `nextCursor` by the previous page. */
  cursor?: string;
}

export interface BlobPage {
  /** In path order. */
  blobs: BlobMeta[];
  nextCursor: string | undefined;
}

export interface BlobUploadOptions {
  /** The upload must send exactly this `content-type`. */
  contentType: string;
  /** A bigger body is refused (413 on the embedded runtime, 400 from Cloud Storage). */
  maxBytes: number;
  /** At most 7 days, Cloud Storage's limit for V4 signed URLs. */
  expiresInSeconds: number;
}

/** Where and how a browser uploads one blob without passing through a JSON route. */
export interface BlobUploadUrl {
  /**
   * Firebase: an absolute V4 signed URL on Cloud Storage. Embedded: a path on
   * the runtime's own API (`/api/blobs/upload/<token>`), relative to the page
   * that serves the API; resolve it with `new URL(url, apiOrigin)` outside a browser.
   */
  url: string;
  method: 'PUT';
  /** Send exactly these headers with the body (the signature covers them). */
  headers: Record<string, string>;
  expiresAt: number;
}

/**
 * Files: uploads, content-addressed chunks, large step outputs. Writes are
 * atomic (a reader sees the old blob or the new one, never part of one) and a
 * put to an existing path replaces it, the last writer winning.
 */
export interface BlobStore {
  /** Streams `body` in, hashing as it goes. InvalidInputError for a bad path. */
  put(path: string, body: BlobBody, opts: BlobPutOptions): Promise<BlobMeta>;
  /** The content as a stream (consume or destroy it), with its meta; null when absent. */
  get(path: string): Promise<{ stream: Readable; meta: BlobMeta } | null>;
  head(path: string): Promise<BlobMeta | null>;
  /** Returns whether a blob was deleted. */
  delete(path: string): Promise<boolean>;
  /** Blobs whose path starts with `prefix` (`''` for all), in path order, one bounded page at a time. */
  list(prefix: string, opts: BlobListOptions): Promise<BlobPage>;
  /** A short-lived URL a browser can PUT one blob to (replacing what is at `path`). */
  createUploadUrl(path: string, opts: BlobUploadOptions): Promise<BlobUploadUrl>;
}

// ---------------------------------------------------------------- config

export interface ConfigSource {
  /** A plain setting, or `fallback` when unset. */
  get(name: string, fallback?: string): string | undefined;
  /**
   * One of the platform's own secrets (the kv token, an llm provider's key), read at call time;
   * throws PermanentError when it is not configured. Never a use case's: see `useCaseSecrets`.
   */
  secret(name: string): string;
  /** The declared secrets use cases may name, each scoped to workspaces (platform/secrets.ts). */
  useCaseSecrets: UseCaseSecrets;
}

// ---------------------------------------------------------------- people

/** How people sign in: nobody (the person at the machine), cookie sessions, or Firebase Auth. */
export type SignInMode = 'local' | 'session' | 'firebase';

export interface Person {
  uid: string;
  email: string | null;
  displayName: string | null;
  platformAdmin: boolean;
}

/** A one-time sign-in link the admin passes on (Seraphim sends no email). */
export interface Invitation {
  url: string;
  expiresAt: number;
}

/** A new session: the cookie value to hand the browser, and how long it lives. */
export interface SessionGrant {
  uid: string;
  token: string;
  maxAgeSeconds: number;
}

/** Password sign-in, one-time links and sessions: the embedded runtime's own. */
export interface SessionAuthority {
  /** The same UnauthenticatedError for an unknown email and a wrong password; RateLimitedError past the limit. */
  signIn(email: string, password: string): Promise<SessionGrant>;
  /** Redeems an owner link or an invitation; `password` is required when the person has none yet. */
  redeemLink(token: string, password: string | undefined): Promise<SessionGrant>;
  signOut(sessionId: string): Promise<void>;
}

/**
 * The directory of people: Firebase Auth on the firebase runtime, documents
 * under `people/{uid}` on the embedded one.
 */
export interface PeopleDirectory {
  readonly mode: SignInMode;
  findOrCreateByEmail(email: string): Promise<{ uid: string; email: string; new: boolean }>;
  get(uid: string): Promise<Person | null>;
  /** The first `limit` people. */
  list(limit: number): Promise<Person[]>;
  /** Removes the person (their memberships are the caller's to remove). */
  remove(uid: string): Promise<boolean>;
  /** A sign-in link for someone who has never signed in; null when none is needed or the runtime sends its own. */
  invitation(uid: string): Promise<Invitation | null>;
  /** Null where another service signs people in (Firebase Auth). */
  readonly sessions: SessionAuthority | null;
}

// ---------------------------------------------------------------- the bundle

export type RuntimeName = 'embedded' | 'firebase';

/** What one orchestrator of the deployment runs, as plain data (`GET /api/system/info`). */
export interface OrchestratorSummary {
  name: string;
  description: string;
  /** `METHOD /api/<orchestrator>/<path>` */
  routes: string[];
  tasks: string[];
  /** `<key> ← <topic>` */
  events: string[];
  /** `<key> ← <document pattern>` */
  documents: string[];
  /** `<key> @ <cron>` */
  schedules: string[];
}

export interface Ports {
  runtime: RuntimeName;
  documents: DocumentStore;
  events: EventBus;
  tasks: TaskQueue;
  kv: KeyValueStore;
  blobs: BlobStore;
  clock: Clock;
  ids: Ids;
  config: ConfigSource;
  logger: Logger;
  people: PeopleDirectory;
  /**
   * The orchestrators this deployment runs. The runtime knows them; an
   * orchestrator asking here need not import the registry (which imports it).
   */
  deployment(): Promise<readonly OrchestratorSummary[]>;
  /** Spans through OpenTelemetry; the trace runs from the request through tasks and events (tracing.ts). */
  tracer: Tracer;
}

/** Firestore's limit: the stores refuse bigger documents so that both runtimes behave alike. */
export const MAX_DOCUMENT_BYTES = 1024 * 1024;
/** Cloud Tasks' limit on a task body: pass references for anything bigger. */
export const MAX_TASK_PAYLOAD_BYTES = 100 * 1024;

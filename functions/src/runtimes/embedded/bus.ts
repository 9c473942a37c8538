/**
 * The events port on SQLite: a durable topic log with subscriber cursors.
 *
 * Publishing appends to the log. A pump moves each subscription's cursor
 * forward and turns every new event into a delivery task on the
 * subscription's own queue, in one SQLite transaction, so retries with
 * backoff, dead-lettering after N attempts, ordering keys and stats all come
 * from the task queue rather than a second mechanism. Replay rewinds a cursor.
 *
 * Document changes travel the same road: the document store appends them to
 * the `$documents` topic inside the writing transaction (a durable outbox).
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { Clock } from '../../platform/clock.js';
import {
  errorMessage,
  InvalidInputError,
  NotFoundError,
  PayloadTooLargeError,
} from '../../platform/errors.js';
import type { Ids } from '../../platform/ids.js';
import type { Logger } from '../../platform/logger.js';
import type { EventBus, EventEnvelope, PublishOptions } from '../../platform/ports.js';
import { detachedFromTrace, withTraceAttribute } from '../../platform/tracing.js';
import type { ChangeRecorder, DocumentChangeRecord } from './documents.js';
import type { EmbeddedTaskQueue } from './queue.js';
import { inTransaction, storageError } from './sqlite.js';

export const DOCUMENTS_TOPIC = '$documents';
const MAX_EVENT_BYTES = 1024 * 1024;
const PUMP_BATCH = 500;

export interface StoredEvent {
  offset: number;
  id: string;
  topic: string;
  data: unknown;
  attributes: Record<string, string>;
  orderingKey: string | undefined;
  publishTime: number;
}

export interface SubscriptionSpec {
  /** Also the name of the queue its deliveries go through. */
  name: string;
  topic: string;
  /** Decides from the attributes whether an event concerns this subscription (document path patterns). */
  accepts?: (attributes: Record<string, string>) => boolean;
}

/** The task payload of one delivery: a reference, never the event itself. */
export interface DeliveryPayload {
  offset: number;
}

interface EventRow {
  offset: number;
  id: string;
  topic: string;
  data: string;
  attributes: string;
  ordering_key: string | null;
  publish_time: number;
}

function toEvent(row: EventRow): StoredEvent {
  return {
    offset: row.offset,
    id: row.id,
    topic: row.topic,
    data: JSON.parse(row.data) as unknown,
    attributes: JSON.parse(row.attributes) as Record<string, string>,
    orderingKey: row.ordering_key ?? undefined,
    publishTime: row.publish_time,
  };
}

export class EmbeddedEventBus implements EventBus, ChangeRecorder {
  readonly #db: DatabaseSync;
  readonly #queue: EmbeddedTaskQueue;
  readonly #clock: Clock;
  readonly #ids: Ids;
  readonly #subscriptions = new Map<string, SubscriptionSpec>();
  readonly #insert: StatementSync;
  readonly #byOffset: StatementSync;
  readonly #logger: Logger | undefined;
  #pumpScheduled = false;
  #running = false;

  constructor(db: DatabaseSync, queue: EmbeddedTaskQueue, opts: { clock: Clock; ids: Ids; logger?: Logger }) {
    this.#db = db;
    this.#logger = opts.logger;
    this.#queue = queue;
    this.#clock = opts.clock;
    this.#ids = opts.ids;
    this.#insert = db.prepare(
      `INSERT INTO events (id, topic, data, attributes, ordering_key, publish_time) VALUES (?, ?, ?, ?, ?, ?) RETURNING "offset"`,
    );
    this.#byOffset = db.prepare(
      `SELECT "offset", id, topic, data, attributes, ordering_key, publish_time FROM events WHERE "offset" = ?`,
    );
  }

  async publish(topic: string, data: unknown, opts: PublishOptions = {}): Promise<string> {
    if (topic.startsWith('$')) throw new InvalidInputError(`Topic ${topic} is reserved`);
    let id: string;
    try {
      id = this.#append(topic, data, opts.attributes ?? {}, opts.orderingKey);
    } catch (error) {
      throw storageError(error);
    }
    this.#schedulePump();
    return id;
  }

  #append(
    topic: string,
    data: unknown,
    attributes: Record<string, string>,
    orderingKey: string | undefined,
  ): string {
    const json = JSON.stringify(data ?? null);
    if (Buffer.byteLength(json) > MAX_EVENT_BYTES) {
      throw new PayloadTooLargeError(
        `Event on ${topic} is over ${MAX_EVENT_BYTES} bytes; publish a reference instead`,
      );
    }
    const id = this.#ids.next();
    // The publisher's trace travels as an attribute, as it does on Pub/Sub; its deliveries continue it.
    const carried = JSON.stringify(withTraceAttribute(attributes));
    this.#insert.get(id, topic, json, carried, orderingKey ?? null, this.#clock.now());
    return id;
  }

  // The document store calls these inside its committing transaction.
  wants(path: string): boolean {
    for (const sub of this.#subscriptions.values()) {
      if (sub.topic === DOCUMENTS_TOPIC && (sub.accepts?.({ path }) ?? true)) return true;
    }
    return false;
  }

  record(change: DocumentChangeRecord): void {
    this.#append(DOCUMENTS_TOPIC, change, { path: change.path }, undefined);
    this.#schedulePump();
  }

  /** Declares a subscription. A new one starts at the end of the log, as a new Pub/Sub subscription does. */
  subscribe(spec: SubscriptionSpec): void {
    if (this.#subscriptions.has(spec.name)) throw new Error(`Subscription ${spec.name} is declared twice`);
    this.#subscriptions.set(spec.name, spec);
    this.#db
      .prepare(
        `INSERT INTO subscriptions (name, topic, cursor) VALUES (?, ?, (SELECT coalesce(max("offset"), 0) FROM events))
         ON CONFLICT (name) DO UPDATE SET topic = excluded.topic`,
      )
      .run(spec.name, spec.topic);
    this.#schedulePump();
  }

  start(): void {
    this.#running = true;
    this.pump();
  }

  stop(): void {
    this.#running = false;
  }

  #schedulePump(): void {
    if (this.#pumpScheduled || !this.#running) return;
    this.#pumpScheduled = true;
    // One pump serves every publisher: it runs in none's trace (deliveries carry their event's).
    detachedFromTrace(() =>
      setImmediate(() => {
        this.#pumpScheduled = false;
        try {
          this.pump();
        } catch (error) {
          // From a timer, a throw would end the process. The events stay in the log behind their
          // cursors; the runtime's sweep pumps again every few seconds.
          this.#logger?.error('Could not pump events; the sweep tries again', {
            error: errorMessage(storageError(error)),
          });
        }
      }),
    );
  }

  /** Moves every subscription's cursor forward, turning new events into delivery tasks. Returns how many. */
  pump(): number {
    let delivered = 0;
    for (const sub of this.#subscriptions.values()) {
      for (;;) {
        const moved = this.#pumpOne(sub);
        delivered += moved.enqueued;
        if (moved.scanned < PUMP_BATCH) break;
      }
    }
    return delivered;
  }

  #pumpOne(sub: SubscriptionSpec): { scanned: number; enqueued: number } {
    const tasks: Array<{ id: string; offset: number; orderingKey: string | undefined }> = [];
    const scanned = inTransaction(this.#db, () => {
      const state = this.#db
        .prepare('SELECT cursor, generation FROM subscriptions WHERE name = ?')
        .get(sub.name) as { cursor: number; generation: number };
      const rows = this.#db
        .prepare(
          `SELECT "offset", id, attributes, ordering_key FROM events WHERE topic = ? AND "offset" > ? ORDER BY "offset" LIMIT ?`,
        )
        .all(sub.topic, state.cursor, PUMP_BATCH) as Array<{
        offset: number;
        id: string;
        attributes: string;
        ordering_key: string | null;
      }>;
      for (const row of rows) {
        if (sub.accepts && !sub.accepts(JSON.parse(row.attributes) as Record<string, string>)) continue;
        const id = state.generation === 0 ? row.id : `${row.id}-r${state.generation}`;
        const payload: DeliveryPayload = { offset: row.offset };
        this.#queue.enqueueNow(sub.name, payload, { id, orderingKey: row.ordering_key ?? undefined });
        tasks.push({ id, offset: row.offset, orderingKey: row.ordering_key ?? undefined });
      }
      const last = rows.at(-1);
      if (last)
        this.#db.prepare('UPDATE subscriptions SET cursor = ? WHERE name = ?').run(last.offset, sub.name);
      return rows.length;
    });
    if (tasks.length > 0) this.#queue.nudge(sub.name);
    return { scanned, enqueued: tasks.length };
  }

  /** The event a delivery task refers to. */
  event(offset: number): StoredEvent {
    const row = this.#byOffset.get(offset) as EventRow | undefined;
    if (!row) throw new NotFoundError(`Event at offset ${offset} is no longer in the log`);
    return toEvent(row);
  }

  envelope(offset: number, deliveryAttempt: number): EventEnvelope {
    const e = this.event(offset);
    return { ...e, deliveryAttempt };
  }

  /** A page of a topic's log after `afterOffset`. */
  log(topic: string, afterOffset = 0, limit = 100): StoredEvent[] {
    const rows = this.#db
      .prepare(
        `SELECT "offset", id, topic, data, attributes, ordering_key, publish_time FROM events
         WHERE topic = ? AND "offset" > ? ORDER BY "offset" LIMIT ?`,
      )
      .all(topic, afterOffset, Math.min(Math.max(limit, 1), 1000)) as unknown as EventRow[];
    return rows.map(toEvent);
  }

  cursor(subscription: string): number {
    const row = this.#db.prepare('SELECT cursor FROM subscriptions WHERE name = ?').get(subscription) as
      | { cursor: number }
      | undefined;
    if (!row) throw new NotFoundError(`No subscription "${subscription}"`);
    return row.cursor;
  }

  /**
   * Redelivers every event from `fromOffset` on to one subscription. Deliveries
   * get fresh task ids (a new generation), so finished ones run again; handlers
   * stay idempotent on the event id.
   */
  replay(subscription: string, fromOffset: number): void {
    const info = this.#db
      .prepare('UPDATE subscriptions SET cursor = ?, generation = generation + 1 WHERE name = ?')
      .run(Math.max(fromOffset - 1, 0), subscription);
    if (Number(info.changes) === 0) throw new NotFoundError(`No subscription "${subscription}"`);
    this.#schedulePump();
  }

  /**
   * Deletes events older than `retentionMs` that every subscription on their
   * topic has already passed. Pub/Sub keeps 7 days by default; so do we.
   */
  sweep(retentionMs = 7 * 24 * 60 * 60 * 1000): number {
    const cutoff = this.#clock.now() - retentionMs;
    const info = this.#db
      .prepare(
        `DELETE FROM events WHERE "offset" IN (
           SELECT e."offset" FROM events e WHERE e.publish_time < ?
           AND e."offset" <= coalesce((SELECT min(s.cursor) FROM subscriptions s WHERE s.topic = e.topic), e."offset")
           LIMIT 5000)`,
      )
      .run(cutoff);
    return Number(info.changes);
  }
}

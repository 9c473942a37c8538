import { NotFoundError } from '../../platform/errors.js';
import type { DocumentStore } from '../../platform/ports.js';
import { readDocument } from '../../platform/stored.js';
import { type Ping, PingDocument, pingPath } from './model.js';

export async function createPing(documents: DocumentStore, ping: Ping): Promise<Ping> {
  await documents.create(pingPath(ping.id), PingDocument.stamp(ping));
  return ping;
}

export async function getPing(documents: DocumentStore, id: string): Promise<Ping> {
  const doc = await readDocument(documents, PingDocument, pingPath(id));
  if (!doc) throw new NotFoundError(`Ping ${id} not found`);
  return doc.data;
}

/**
 * Records the event's arrival once, however many times it is delivered: the
 * first delivery sets the time, later ones only count.
 */
export async function recordPingEvent(documents: DocumentStore, id: string, at: number): Promise<void> {
  await documents.transaction(async (tx) => {
    const doc = await readDocument(tx, PingDocument, pingPath(id));
    if (!doc) return; // expired or never existed: nothing to record
    tx.update(
      doc.path,
      { eventReceivedAt: doc.data.eventReceivedAt ?? at, eventDeliveries: doc.data.eventDeliveries + 1 },
      { ifVersion: doc.version },
    );
  });
}

export async function recordPingTask(documents: DocumentStore, id: string, at: number): Promise<void> {
  await documents.transaction(async (tx) => {
    const doc = await readDocument(tx, PingDocument, pingPath(id));
    if (!doc || doc.data.taskReceivedAt !== null) return;
    tx.update(doc.path, { taskReceivedAt: at }, { ifVersion: doc.version });
  });
}

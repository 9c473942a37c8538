/**
 * The WAL checkpointer's thread (wal-checkpointer.ts): its own connection to the runtime's database,
 * a passive checkpoint every `everyMs` until told to stop. Node built-ins only.
 */
import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';

export interface CheckpointerData {
  file: string;
  everyMs: number;
}

export type CheckpointerMessage =
  | { type: 'checkpointed'; walPages: number; copied: number }
  | { type: 'failed'; message: string };

const { file, everyMs } = workerData as CheckpointerData;
const port = parentPort;
if (!port) throw new Error('wal-checkpointer-worker runs as a worker thread');

// timeout 0: a checkpoint that meets a lock gives up at once and the next one tries again.
const db = new DatabaseSync(file, { timeout: 0 });
// The checkpoint syncs the WAL before copying and the database after, as the main connection's would.
db.exec('PRAGMA synchronous = NORMAL');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
let timer: NodeJS.Timeout | undefined;
let busyTries = 0;
const MAX_BUSY_TRIES = 20;

/**
 * One checkpoint, reported; the next waits for the main thread's 'go', so the main connection's own
 * checkpoint (which starts the WAL again) never runs beside this one.
 */
function tick(): void {
  timer = undefined;
  try {
    const row = checkpoint.get() as { busy: number; log: number; checkpointed: number } | undefined;
    // Busy: the writer was changing the WAL's header as this began. Another go in a moment, not a report.
    if (row?.busy && busyTries++ < MAX_BUSY_TRIES) {
      timer = setTimeout(tick, 1);
      return;
    }
    busyTries = 0;
    port?.postMessage({
      type: 'checkpointed',
      walPages: Math.max(0, row?.log ?? 0),
      copied: Math.max(0, row?.checkpointed ?? 0),
    } satisfies CheckpointerMessage);
  } catch (error) {
    port?.postMessage({
      type: 'failed',
      message: error instanceof Error ? error.message : String(error),
    } satisfies CheckpointerMessage);
  }
}

port.on('message', (message: unknown) => {
  if (message === 'go') {
    if (!timer) timer = setTimeout(tick, everyMs);
    return;
  }
  if (message !== 'stop') return;
  if (timer) clearTimeout(timer);
  db.close();
  port.close();
});
tick();

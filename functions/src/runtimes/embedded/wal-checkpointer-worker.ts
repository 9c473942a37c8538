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
let last = '';

function tick(): void {
  try {
    const row = checkpoint.get() as { busy: number; log: number; checkpointed: number } | undefined;
    const walPages = row?.log ?? 0;
    const copied = row?.checkpointed ?? 0;
    // Only news: an idle database's checkpoints say the same thing ten times a second.
    if (`${walPages}/${copied}` !== last) {
      last = `${walPages}/${copied}`;
      port?.postMessage({ type: 'checkpointed', walPages, copied } satisfies CheckpointerMessage);
    }
  } catch (error) {
    last = '';
    port?.postMessage({
      type: 'failed',
      message: error instanceof Error ? error.message : String(error),
    } satisfies CheckpointerMessage);
  }
  timer = setTimeout(tick, everyMs);
}

port.on('message', (message: unknown) => {
  if (message !== 'stop') return;
  if (timer) clearTimeout(timer);
  db.close();
  port.close();
});
tick();

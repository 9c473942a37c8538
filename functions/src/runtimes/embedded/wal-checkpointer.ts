/**
 * WAL checkpoints off the event loop.
 *
 * In WAL mode each commit appends its pages to seraphim.db-wal, and a checkpoint copies them back into
 * seraphim.db, syncing both files. By default SQLite runs that checkpoint inside the commit that takes
 * the WAL past 1,000 pages, on the connection that committed: here the one thread that serves requests
 * and dispatches steps. Under a flood the WAL fills every few hundred milliseconds, and whichever
 * commit crosses the mark (a quiet workspace's start as likely as any) stalls for milliseconds: the
 * 5–6 ms tail of issue 9, item 6.
 *
 * So a worker thread, with its own connection, runs a passive checkpoint every `everyMs`: it copies
 * what has been committed without waiting for the writer or blocking it. The main connection keeps its
 * automatic checkpoint as a backstop at a higher mark (BACKSTOP_PAGES). When that one runs, the worker
 * has already copied nearly everything, so it is short; and because the main connection is the only
 * writer, the commit after it starts the WAL again from the beginning, so the file stays bounded even
 * when the worker never finds a gap between commits. If the worker fails to start or dies, the mark
 * goes back to SQLite's default and the runtime carries on as before.
 */
import type { DatabaseSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../platform/logger.js';
import { siblingModule } from '../../platform/sibling-module.js';
import type { CheckpointerData, CheckpointerMessage } from './wal-checkpointer-worker.js';

/** SQLite's own automatic checkpoint mark (pages), restored when the worker is gone. */
const SQLITE_DEFAULT_PAGES = 1000;
/** The main connection's mark while the worker runs: about 40 MB of 4 KiB pages. */
export const BACKSTOP_PAGES = 10_000;
const DEFAULT_EVERY_MS = 100;
/** A failing checkpoint (a full disk) is logged at most this often. */
const FAILURE_LOG_EVERY_MS = 60_000;

export class WalCheckpointer {
  readonly #db: DatabaseSync;
  readonly #logger: Logger;
  readonly #worker: Worker;
  readonly #exited: Promise<void>;
  #stopping = false;
  #loggedFailureAt = Number.NEGATIVE_INFINITY;
  /** Checkpoints that had news (pages in the WAL or copied changed): for tests and diagnostics. */
  checkpoints = 0;
  /** Pages in the WAL at the last checkpoint that reported. */
  walPages = 0;

  constructor(
    db: DatabaseSync,
    opts: { file: string; logger: Logger; everyMs?: number; backstopPages?: number },
  ) {
    this.#db = db;
    this.#logger = opts.logger;
    this.#worker = new Worker(siblingModule(import.meta.url, 'wal-checkpointer-worker'), {
      workerData: { file: opts.file, everyMs: opts.everyMs ?? DEFAULT_EVERY_MS } satisfies CheckpointerData,
    });
    // It must not keep a finished process alive; stop() waits for it to close its connection.
    this.#worker.unref();
    this.#worker.on('message', (message: CheckpointerMessage) => this.#onMessage(message));
    this.#worker.on('error', (error) => {
      this.#logger.warn('WAL checkpointer failed; checkpoints run on commit again', {
        error: error.message,
      });
    });
    this.#exited = new Promise((resolve) => {
      this.#worker.once('exit', () => {
        if (!this.#stopping) this.#backToDefault();
        resolve();
      });
    });
    db.exec(`PRAGMA wal_autocheckpoint = ${opts.backstopPages ?? BACKSTOP_PAGES}`);
  }

  #onMessage(message: CheckpointerMessage): void {
    if (message.type === 'checkpointed') {
      this.checkpoints++;
      this.walPages = message.walPages;
      return;
    }
    const now = Date.now();
    if (now - this.#loggedFailureAt < FAILURE_LOG_EVERY_MS) return;
    this.#loggedFailureAt = now;
    this.#logger.warn('WAL checkpoint failed; it is tried again shortly', { error: message.message });
  }

  #backToDefault(): void {
    if (this.#db.isOpen) this.#db.exec(`PRAGMA wal_autocheckpoint = ${SQLITE_DEFAULT_PAGES}`);
  }

  /** Closes the worker's connection (before the main one closes, which then checkpoints the rest). */
  async stop(): Promise<void> {
    if (this.#stopping) return this.#exited;
    this.#stopping = true;
    this.#backToDefault();
    this.#worker.postMessage('stop');
    const killed = setTimeout(() => void this.#worker.terminate(), 5_000);
    await this.#exited;
    clearTimeout(killed);
  }
}

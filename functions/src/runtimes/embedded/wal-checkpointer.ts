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
 * So a worker thread, with its own connection, runs a passive checkpoint `everyMs` after the last: it copies
 * what has been committed without waiting for the writer or blocking it. What it cannot do is start
 * the WAL again from the beginning: only a writer does that, at its next commit after a checkpoint
 * that left nothing behind, and under steady writes the worker's checkpoints always leave the frames
 * committed while they ran. So once the worker reports a WAL of RESTART_PAGES or more copied back, the
 * main connection runs one passive checkpoint itself, between transactions and while the worker
 * waits for it: only the frames since are left to copy, it is complete (nothing else writes or
 * checkpoints), and the next commit starts the WAL again from the beginning, truncating the file to
 * `journal_size_limit`. The main connection's automatic
 * checkpoint stays as a backstop at BACKSTOP_PAGES. If the worker fails to start or dies, the mark
 * goes back to SQLite's default and the runtime carries on as before.
 */
import type { DatabaseSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../platform/logger.js';
import { siblingModule } from '../../platform/sibling-module.js';
import type { CheckpointerData, CheckpointerMessage } from './wal-checkpointer-worker.js';

/** SQLite's own automatic checkpoint mark (pages), restored when the worker is gone. */
const SQLITE_DEFAULT_PAGES = 1000;
/** The main connection’s mark while the worker runs: about 40 MB of 4 KiB pages. */
export const BACKSTOP_PAGES = 10_000;
/**
 * A WAL this long (pages, ~32 MB), copied back, is started again by the main connection. Each restart
 * costs the main thread two syncs: at 2,000 pages they took 8% of a step chain's throughput.
 */
const RESTART_PAGES = 8_000;
const PAGE_BYTES = 4096;
const DEFAULT_EVERY_MS = 100;
/** A failing checkpoint (a full disk) is logged at most this often. */
const FAILURE_LOG_EVERY_MS = 60_000;

export class WalCheckpointer {
  readonly #db: DatabaseSync;
  readonly #logger: Logger;
  readonly #worker: Worker;
  readonly #exited: Promise<void>;
  #stopping = false;
  readonly #restartPages: number;
  #loggedFailureAt = Number.NEGATIVE_INFINITY;
  /** Checkpoints that had news (pages in the WAL or copied changed): for tests and diagnostics. */
  checkpoints = 0;
  /** Pages in the WAL at the last checkpoint that reported. */
  walPages = 0;
  /** Checkpoints the main connection ran to start the WAL again. */
  restarts = 0;

  constructor(
    db: DatabaseSync,
    opts: { file: string; logger: Logger; everyMs?: number; backstopPages?: number; restartPages?: number },
  ) {
    this.#db = db;
    this.#restartPages = opts.restartPages ?? RESTART_PAGES;
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
    db.exec(`PRAGMA journal_size_limit = ${this.#restartPages * PAGE_BYTES}`);
  }

  #onMessage(message: CheckpointerMessage): void {
    if (message.type === 'checkpointed') {
      this.checkpoints++;
      this.walPages = message.walPages;
      // Restarted once the WAL is long and all of it was copied: otherwise the worker goes on.
      if (message.walPages >= this.#restartPages && message.copied >= message.walPages) this.#restart();
      else this.#go();
      return;
    }
    this.#go();
    const now = Date.now();
    if (now - this.#loggedFailureAt < FAILURE_LOG_EVERY_MS) return;
    this.#loggedFailureAt = now;
    this.#logger.warn('WAL checkpoint failed; it is tried again shortly', { error: message.message });
  }

  #go(): void {
    if (!this.#stopping) this.#worker.postMessage('go');
  }

  /**
   * Between transactions, while the worker waits: a checkpoint of the frames committed since the
   * worker's. It is complete (nothing else writes or checkpoints), so the next commit starts the WAL
   * again from the beginning. Its two syncs (the WAL before, the database after) are the stall a
   * commit used to take every 1,000 pages; now it comes every RESTART_PAGES, between transactions.
   */
  #restart(): void {
    setImmediate(() => {
      if (this.#stopping || !this.#db.isOpen) return;
      if (!this.#db.isTransaction) {
        try {
          this.#db.exec('PRAGMA wal_checkpoint(PASSIVE)');
          this.restarts++;
        } catch (error) {
          // A full disk, say: the worker's next report tries again.
          this.#logger.debug('WAL restart checkpoint did not run', {
            error: error instanceof Error ? error.message : String(error),
          });
        }
      }
      this.#go();
    });
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

import { open, type FileHandle } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';

/**
 * Makes commits survive power loss, for a caller about to tell someone they are saved.
 * `durable()` resolves once every commit made before the call is on disk.
 */
export type Durability = {
  durable(): Promise<void>;
  /** fdatasync calls made so far (0 where commits are durable by themselves). */
  readonly syncs: number;
  /** A sync failed: no write can be reported as saved until the server restarts. */
  readonly failed: boolean;
  close(): Promise<void>;
};

/** PostgreSQL (a commit returns once flushed), in-memory SQLite, or SQLite with synchronous NORMAL by choice. */
export const durableOnCommit: Durability = { durable: () => Promise.resolve(), syncs: 0, failed: false, close: () => Promise.resolve() };

/**
 * Durable SQLite commits with no fsync on the event loop. The connection runs synchronous NORMAL
 * in WAL mode: a commit appends to the write-ahead log and returns, consistent and safe against a
 * process crash. `durable()` then fdatasyncs the log in libuv's thread pool, so the event loop goes
 * on serving other requests meanwhile, and callers arriving while a sync is in flight share the
 * next one (group fsync): throughput is not bound to one fsync per write.
 *
 * `written` counts statements that may have changed the file (every `run()`, COMMIT included, and
 * every non-read-only `all()`); a sync covers what was written before it started. A caller whose
 * writes an earlier sync already covers does not wait at all, and a request that wrote nothing
 * costs no sync.
 *
 * A failed fdatasync leaves the file's state on disk unknown, and the kernel may not report the
 * failure twice: from then on every `durable()` rejects, and the server must be restarted
 * (recovery replays the log).
 */
/** The write-ahead log beside an SQLite database file. */
export const walFileOf = (databaseFile: string): string => `${databaseFile}-wal`;

/** The error every later write gets once an fdatasync of the log failed (here, or in the event writer thread). */
export function walSyncFailure(walFile: string, cause: unknown): Error {
  const detail = cause instanceof Error ? ` (${cause.message})` : '';
  return new Error(`fdatasync of ${walFile} failed; commits since the last sync may not be on disk: restart the server${detail}`, { cause });
}

export function createWalDurability(databaseFile: string, counter: WriteCounter): Durability {
  const walFile = walFileOf(databaseFile);
  let synced = 0;
  let syncs = 0;
  let running: Promise<void> | null = null;
  let queued: Promise<void> | null = null;
  let failure: Error | null = null;

  // Opened at the first sync and kept: the log is never replaced while this connection is open
  // (SQLite removes it only when the last connection closes, and truncates it in place).
  let log: FileHandle | null = null;

  async function syncOnce(): Promise<void> {
    const target = counter.written;
    try {
      if (!log) {
        log = await open(walFile, 'r');
        // The log's directory entry too, once: the file was created when the connection opened.
        const directory = await open(dirname(walFile), 'r');
        try {
          await directory.datasync();
        } finally {
          await directory.close();
        }
      }
      await log.datasync();
    } catch (err) {
      failure ??= walSyncFailure(walFile, err);
      throw failure;
    }
    syncs++;
    synced = Math.max(synced, target);
  }

  function start(): Promise<void> {
    const sync: Promise<void> = syncOnce().finally(() => {
      if (running === sync) running = null;
    });
    running = sync;
    return sync;
  }

  return {
    durable(): Promise<void> {
      if (failure) return Promise.reject(failure);
      if (synced >= counter.written) return Promise.resolve();
      if (!running) return start();
      // The sync in flight may have started before this caller's commit: wait for the next one,
      // shared with everyone else who arrives before it starts.
      queued ??= running.catch(() => undefined).then(() => {
        queued = null;
        return failure ? Promise.reject(failure) : synced >= counter.written ? undefined : start();
      });
      return queued;
    },
    get syncs() {
      return syncs;
    },
    get failed() {
      return failure !== null;
    },
    async close(): Promise<void> {
      await Promise.allSettled([running, queued]);
      await log?.close();
      log = null;
    },
  };
}

/** Statements that may have written, counted by the connection (sqlite-dialect.ts), so a sync knows what it covers. */
export type WriteCounter = { written: number };

/**
 * Checkpoints (copying the log back into the database file, with an fsync of each) run in a worker
 * thread on its own connection, every `intervalMs`, so they never stall the event loop either. The
 * serving connection keeps an automatic checkpoint only as a safety valve for a log the worker
 * cannot keep small. Plain JavaScript, evaluated: the worker needs nothing but the driver.
 */
export function startCheckpointer(databaseFile: string, intervalMs: number, onError: (message: string) => void): { stop(): Promise<void> } {
  const worker = new Worker(CHECKPOINTER, {
    eval: true,
    workerData: { driver: createRequire(import.meta.url).resolve('better-sqlite3'), file: databaseFile, intervalMs },
  });
  worker.on('message', (message: { error?: string }) => {
    if (message.error) onError(message.error);
  });
  worker.on('error', (err) => onError(err.message));
  worker.unref();
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    /** Lets a checkpoint in progress finish and closes the worker's connection. */
    async stop(): Promise<void> {
      worker.postMessage('stop');
      const force = setTimeout(() => void worker.terminate(), 5000);
      await exited;
      clearTimeout(force);
    },
  };
}

const CHECKPOINTER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    parentPort.postMessage({ error: 'checkpoint failed: ' + (err && err.message) });
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

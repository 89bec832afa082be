import SQLite, { type Database } from 'better-sqlite3';

/** How long a write waits for another connection's write lock before it fails (SQLITE_BUSY). */
export const LOCK_WAIT_MS = 5000;

/** A writing connection's own automatic checkpoint, a safety valve only (the checkpoint worker keeps the log small): 16 MB of log. */
export const SAFETY_CHECKPOINT_PAGES = 4000;

/**
 * What every connection to a Latchkey SQLite file is set to: the serving one (connect.ts) and the
 * event writer thread's (event-writer-thread.ts), so both enforce the same constraints and wait for
 * each other's locks alike. Asks for WAL mode (a file keeps it once set).
 */
export function configureConnection(sqlite: Database): Database {
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma(`busy_timeout = ${LOCK_WAIT_MS}`);
  // After a checkpoint the write-ahead log is cut back to this size, so a burst leaves no huge file.
  sqlite.pragma('journal_size_limit = 67108864');
  // 64 MiB of page cache (SQLite's default is 2 MiB): the indexes that take random keys (dedup
  // claims, open incidents by dedup key) stay in memory instead of being read back for every write.
  sqlite.pragma('cache_size = -65536');
  return sqlite;
}

/**
 * SQLite could not take the lock (another connection held it) within the wait: retrying the items
 * of a failed batch one by one would make each wait as long again, for the same answer.
 */
export const isLockTimeout = (err: unknown): boolean => err instanceof SQLite.SqliteError && err.code.startsWith('SQLITE_BUSY');

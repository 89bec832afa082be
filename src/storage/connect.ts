import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { DEFAULT_CLAIM_CAPACITY } from './claim-index.js';
import { createWalDurability, durableOnCommit, startCheckpointer, type Durability } from './durability.js';
import type { Database } from './schema.js';
import type { EventWriter } from './event-writes.js';
import { sqliteDialect } from './sqlite-dialect.js';
import { configureConnection, SAFETY_CHECKPOINT_PAGES } from './sqlite-settings.js';
import { createThreadEventWriter } from './thread-event-writer.js';

export type Db = Kysely<Database>;
export type DatabaseKind = 'sqlite' | 'postgres';

export type Connection = {
  readonly db: Db;
  readonly kind: DatabaseKind;
  /** Resolves once every commit made so far survives power loss (see durability.ts). */
  readonly durability: Durability;
  /**
   * Event writes committed by a thread of their own (an SQLite file in WAL mode), or null: they go
   * through the group committer on `db` (event-writes.ts).
   */
  readonly eventWriter: EventWriter | null;
  close(): Promise<void>;
};

const INT8_OID = 20;

/**
 * `sqlite:<file>` (or `sqlite::memory:`) for the embedded default, `postgres://…` otherwise.
 * `schema` puts a PostgreSQL connection in its own schema (tests use one each).
 */
export type ConnectOptions = {
  schema?: string;
  /** How long a write on an SQLite file waits for the write lock (LOCK_WAIT_MS; tests shorten it). */
  lockWaitMs?: number;
  sqliteSynchronous?: 'full' | 'normal';
  /** The most Events API deduplication claims the writer thread holds in memory (SQLite files in WAL mode). */
  dedupMaxClaims?: number;
  /** Where a failure in a background thread (checkpoints, event writes: SQLite files only) is reported. */
  onBackgroundError?: (message: string) => void;
  /**
   * Where an idle PostgreSQL connection that broke is reported (a server restart or failover, a
   * proxy's idle timeout): the pool drops it and opens another when one is needed.
   */
  onConnectionLost?: (message: string) => void;
};

/** How often the checkpoint worker copies the write-ahead log back into the database file. */
const CHECKPOINT_INTERVAL_MS = 500;

export function connect(url: string, options: ConnectOptions = {}): Connection {
  if (url.startsWith('sqlite:')) return connectSqlite(url.slice('sqlite:'.length), options);
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return connectPostgres(url, options);
  throw new Error(`unsupported database URL (use sqlite:<file> or postgres://…): ${url.split(':')[0]}:…`);
}

function connectSqlite(file: string, options: ConnectOptions): Connection {
  const synchronous = options.sqliteSynchronous ?? 'full';
  const onBackgroundError = options.onBackgroundError ?? ((_message: string) => {});
  if (file === ':memory:') {
    const db = new Kysely<Database>({ dialect: sqliteDialect(configureConnection(new SQLite(file)), { written: 0 }) });
    return { db, kind: 'sqlite', durability: durableOnCommit, eventWriter: null, close: () => db.destroy() };
  }
  mkdirSync(dirname(file), { recursive: true });
  const sqlite = configureConnection(new SQLite(file));
  if (sqlite.pragma('journal_mode', { simple: true }) !== 'wal') {
    // A file system without the shared memory WAL needs: every commit fsyncs, on the event loop.
    sqlite.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    const db = new Kysely<Database>({ dialect: sqliteDialect(sqlite, { written: 0 }) });
    return { db, kind: 'sqlite', durability: durableOnCommit, eventWriter: null, close: () => db.destroy() };
  }
  // Commits append to the write-ahead log without an fsync (consistent, and safe against a process
  // crash). With `full` (the default), whoever reports a write as saved first awaits durable(),
  // which fdatasyncs the log off the event loop, shared by every commit before it: the guarantee of
  // SQLite's own FULL (a saved write survives power loss) without blocking unrelated requests on
  // each commit's fsync. With `normal`, the last commits before a power loss may be lost.
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma(`wal_autocheckpoint = ${SAFETY_CHECKPOINT_PAGES}`);
  // The writer thread takes the write lock for each batch: a write here waits for it without
  // sleeping on the event loop (the driver retries, sqlite-dialect.ts), so SQLite must not sleep.
  sqlite.pragma('busy_timeout = 0');
  const counter = { written: 0 };
  const durability = synchronous === 'full' ? createWalDurability(file, counter) : durableOnCommit;
  const db = new Kysely<Database>({ dialect: sqliteDialect(sqlite, counter, options.lockWaitMs === undefined ? {} : { lockWaitMs: options.lockWaitMs }) });
  const checkpointer = startCheckpointer(file, CHECKPOINT_INTERVAL_MS, onBackgroundError);
  // Events API writes, the busiest, commit and sync on a thread of their own: see event-writer-thread.ts.
  const eventWriter = createThreadEventWriter({
    file, durable: synchronous === 'full', claimCapacity: options.dedupMaxClaims ?? DEFAULT_CLAIM_CAPACITY, onError: onBackgroundError,
  });
  return {
    db,
    kind: 'sqlite',
    durability,
    eventWriter,
    async close() {
      await eventWriter.close();
      await checkpointer.stop();
      await durability.durable().catch(() => undefined);
      await durability.close();
      // The last connection to close checkpoints the log into the file and removes it.
      await db.destroy();
    },
  };
}

function connectPostgres(url: string, options: ConnectOptions): Connection {
  const { schema } = options;
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    // Times are epoch milliseconds in BIGINT columns; they fit a double exactly.
    types: { getTypeParser: (oid, format) => (oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format)) } as pg.CustomTypesConfig,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  // A pooled connection that breaks while idle is emitted here; with no listener, Node would end
  // the process over what the next query recovers from by itself.
  pool.on('error', (err: Error) => options.onConnectionLost?.(err.message));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, kind: 'postgres', durability: durableOnCommit, eventWriter: null, close: () => db.destroy() };
}

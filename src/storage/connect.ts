import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;
export type DatabaseKind = 'sqlite' | 'postgres';

export type Connection = {
  readonly db: Db;
  readonly kind: DatabaseKind;
  close(): Promise<void>;
};

const INT8_OID = 20;

/**
 * `sqlite:<file>` (or `sqlite::memory:`) for the embedded default, `postgres://…` otherwise.
 * `schema` puts a PostgreSQL connection in its own schema (tests use one each).
 */
export type ConnectOptions = { schema?: string; sqliteSynchronous?: 'full' | 'normal' };

export function connect(url: string, options: ConnectOptions = {}): Connection {
  if (url.startsWith('sqlite:')) return connectSqlite(url.slice('sqlite:'.length), options.sqliteSynchronous ?? 'full');
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return connectPostgres(url, options.schema);
  throw new Error(`unsupported database URL (use sqlite:<file> or postgres://…): ${url.split(':')[0]}:…`);
}

function connectSqlite(file: string, synchronous: 'full' | 'normal'): Connection {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  // FULL (default): every commit is fsynced, so a committed revocation or event survives power
  // loss. NORMAL: commits survive a process crash; the last ones may be lost on power loss.
  sqlite.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  // After a checkpoint the write-ahead log is cut back to this size, so a burst leaves no huge file.
  sqlite.pragma('journal_size_limit = 67108864');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  return { db, kind: 'sqlite', close: () => db.destroy() };
}

function connectPostgres(url: string, schema: string | undefined): Connection {
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    // Times are epoch milliseconds in BIGINT columns; they fit a double exactly.
    types: { getTypeParser: (oid, format) => (oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format)) } as pg.CustomTypesConfig,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, kind: 'postgres', close: () => db.destroy() };
}

import pg from 'pg';
import { ulid } from 'ulid';
import { connect, type Connection } from '../../src/storage/connect.js';
import { migrateToLatest } from '../../src/storage/migrate.js';

/** `sqlite-file`: a new file per app (startTestApp); the URL is only its scheme. */
export type TestDatabase = { name: 'sqlite' | 'sqlite-file' | 'postgres'; url: string };

/** SQLite in memory always; PostgreSQL too when TEST_DATABASE_URL is set. */
export function testDatabases(): TestDatabase[] {
  const dbs: TestDatabase[] = [{ name: 'sqlite', url: 'sqlite::memory:' }];
  if (process.env.TEST_DATABASE_URL) dbs.push({ name: 'postgres', url: process.env.TEST_DATABASE_URL });
  return dbs;
}

async function onServer(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/**
 * An empty place for one suite: SQLite in memory, or a new PostgreSQL schema dropped on cleanup,
 * so suites run side by side without seeing each other's rows.
 */
export async function isolatedDatabase(database: TestDatabase): Promise<{ schema?: string; drop(): Promise<void> }> {
  if (database.name !== 'postgres') return { drop: async () => {} };
  const schema = `t_${ulid().toLowerCase()}`;
  await onServer(database.url, `CREATE SCHEMA ${schema}`);
  return { schema, drop: () => onServer(database.url, `DROP SCHEMA ${schema} CASCADE`) };
}

/** A migrated connection in its own place, for store-level tests. */
export async function openTestConnection(database: TestDatabase): Promise<Connection & { dispose(): Promise<void> }> {
  const place = await isolatedDatabase(database);
  const connection = connect(database.url, place.schema ? { schema: place.schema } : {});
  await migrateToLatest(connection.db);
  return {
    ...connection,
    async dispose() {
      await connection.close();
      await place.drop();
    },
  };
}

import pg from 'pg';
import type { TestDatabase } from './database.js';
import { startTestApp, type TestApp } from './harness.js';

/**
 * An app on PostgreSQL beside a connection of its own (`side`, its search path the app's schema),
 * to force races: `changedWhile` runs `UPDATE table SET set WHERE id = rowId` in a transaction of
 * that connection (as another request committing a moment sooner would), starts `request`, and
 * commits once `request` waits for that transaction. `request` then finds the row as the update left it.
 */
export type RaceApp = {
  readonly t: TestApp;
  readonly side: pg.Client;
  changedWhile<T>(table: string, rowId: string, set: string, request: () => Promise<T>): Promise<T>;
  /** Resolves once some other connection waits for a lock the side connection holds. */
  blocking(): Promise<void>;
  close(): Promise<void>;
};

export async function startRaceApp(database: TestDatabase): Promise<RaceApp> {
  const t = await startTestApp(database);
  const side = new pg.Client({ connectionString: database.url, options: `-c search_path=${t.schema!}` });
  await side.connect();
  const pid = (await side.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
  const blocking = async (): Promise<void> => {
    // Waiting for this connection, not for anyone's lock on a table of that name (suites run side by side).
    for (const end = Date.now() + 10_000; ;) {
      // A request that never waits for the row cannot have decided on it: a test of that race fails here.
      if (Date.now() > end) throw new Error('nothing waited for the side connection\'s lock within 10 s');
      // Inside a transaction the list of connections is read once unless cleared.
      await side.query('select pg_stat_clear_snapshot()');
      if ((await side.query('select 1 from pg_stat_activity where $1 = any(pg_blocking_pids(pid))', [pid])).rowCount) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return {
    t,
    side,
    blocking,
    async changedWhile(table, rowId, set, request) {
      await side.query('begin');
      let answer: ReturnType<typeof request>;
      try {
        await side.query(`update "${table}" set ${set} where id = $1`, [rowId]);
        answer = request();
        await blocking();
      } finally {
        await side.query('commit');
      }
      return answer;
    },
    async close() {
      await side.end();
      await t.close();
    },
  };
}

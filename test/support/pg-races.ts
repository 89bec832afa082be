import pg from 'pg';
import type { TestDatabase } from './database.js';
import { startTestApp, type TestApp } from './harness.js';

/**
 * An app on PostgreSQL beside a connection of its own, to force races: `changedWhile` runs
 * `UPDATE table SET set WHERE id = rowId` in a transaction of that connection (as another request
 * committing a moment sooner would), starts `request`, and commits once `request` waits for a
 * lock on `table`. `request` then finds the row as the update left it.
 */
export type RaceApp = {
  readonly t: TestApp;
  changedWhile<T>(table: string, rowId: string, set: string, request: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
};

export async function startRaceApp(database: TestDatabase): Promise<RaceApp> {
  const t = await startTestApp(database);
  const admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  return {
    t,
    async changedWhile(table, rowId, set, request) {
      await admin.query('begin');
      let answer: ReturnType<typeof request>;
      try {
        await admin.query(`update "${t.schema!}"."${table}" set ${set} where id = $1`, [rowId]);
        answer = request();
        for (;;) {
          // Statistics are read once per transaction unless cleared.
          await admin.query('select pg_stat_clear_snapshot()');
          const waiting = await admin.query(`select 1 from pg_stat_activity where wait_event_type = 'Lock' and query ilike $1`, [`%"${table}"%`]);
          if (waiting.rowCount) break;
          await new Promise((resolve) => setImmediate(resolve));
        }
      } finally {
        await admin.query('commit');
      }
      return answer;
    },
    async close() {
      await admin.end();
      await t.close();
    },
  };
}

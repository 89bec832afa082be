import type pg from 'pg';

/**
 * Forces a race on PostgreSQL: runs `change` (an UPDATE of one row, as another request committing
 * a moment sooner would) in a transaction of `admin`'s, starts `request`, and commits once
 * `request` waits for a lock on `table`. `request` then finds the row as `change` left it.
 */
export async function changedWhile<T>(admin: pg.Client, table: string, change: { sql: string; params: unknown[] }, request: () => Promise<T>): Promise<T> {
  await admin.query('begin');
  let answer: Promise<T>;
  try {
    await admin.query(change.sql, change.params);
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
}

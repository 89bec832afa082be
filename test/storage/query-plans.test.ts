import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql, type CompiledQuery, type KyselyPlugin, type RootOperationNode } from 'kysely';
import { createIncidentStore } from '../../src/storage/incident-store.js';
import { connect, type Connection } from '../../src/storage/connect.js';
import { migrateToLatest } from '../../src/storage/migrate.js';

/**
 * The lookups every Events API event makes must use an index, or ingest slows down as incidents
 * pile up (each event would read every incident ever opened). SQLite's plan says which it does.
 */
describe('query plans of the per-event lookups on SQLite', () => {
  let conn: Connection;
  const seen: RootOperationNode[] = [];
  const capture: KyselyPlugin = {
    transformQuery: ({ node }) => {
      seen.push(node);
      return node;
    },
    transformResult: async ({ result }) => result,
  };

  before(async () => {
    conn = connect('sqlite::memory:');
    await migrateToLatest(conn.db);
  });
  after(() => conn.close());

  async function planOf(run: (store: ReturnType<typeof createIncidentStore>) => Promise<unknown>): Promise<string> {
    seen.length = 0;
    await run(createIncidentStore(conn.db.withPlugin(capture)));
    assert.equal(seen.length, 1, 'one query');
    const compiled: CompiledQuery = conn.db.getExecutor().compileQuery(seen[0]!, { queryId: 'plan' });
    const rows = (await sql.raw<{ detail: string }>(`explain query plan ${compiled.sql.replace(/\?/g, "'x'")}`).execute(conn.db)).rows;
    return rows.map((r) => r.detail).join('; ');
  }

  test('the open incident for a service and dedup key (trigger) is found through the partial index', async () => {
    const plan = await planOf((s) => s.findOpen('SERVICE', 'disk-full'));
    assert.match(plan, /USING INDEX incidents_open_by_dedup_key_service_idx \(dedup_key=\? AND service_id=\?\)/);
    assert.doesNotMatch(plan, /SCAN incidents/);
  });

  test('open incidents by dedup key in a global reach (acknowledge, resolve) are found through an index', async () => {
    const plan = await planOf((s) => s.findOpenInReach('disk-full', { global: true }));
    assert.match(plan, /USING INDEX incidents_open_by_dedup_key_service_idx \(dedup_key=\?\)/);
    assert.doesNotMatch(plan, /SCAN incidents/);
  });
});

/**
 * A bound LIMIT makes SQLite parse and plan the statement again on every run (its planner reads
 * the bound value), which made the per-event open-incident lookup five times dearer than it is.
 */
describe('LIMIT and OFFSET on SQLite', () => {
  let conn: Connection;

  before(async () => {
    conn = connect('sqlite::memory:');
    await migrateToLatest(conn.db);
    await conn.db.insertInto('meta').values(['a', 'b', 'c', 'd'].map((key) => ({ key, value: key }))).execute();
  });
  after(() => conn.close());

  test('integers are written into the SQL, not bound, and still select the right rows', async () => {
    const query = conn.db.selectFrom('meta').select('key').where('key', '!=', 'z').orderBy('key').limit(2).offset(1);
    const compiled = query.compile();
    assert.match(compiled.sql, /limit 2 offset 1$/);
    assert.deepEqual(compiled.parameters, ['z']);
    assert.deepEqual((await query.execute()).map((r) => r.key), ['b', 'c']);
  });

  test('a limit that is not a plain integer is still bound', () => {
    const compiled = conn.db.selectFrom('meta').select('key').limit(sql<number>`${3}`).compile();
    assert.match(compiled.sql, /limit \?$/);
    assert.deepEqual(compiled.parameters, [3]);
  });
});

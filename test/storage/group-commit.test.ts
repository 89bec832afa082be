import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createGroupCommitter } from '../../src/storage/group-commit.js';
import { openTestConnection, testDatabases } from '../support/database.js';

for (const database of testDatabases()) {
  describe(`group commit on ${database.name}`, () => {
    let conn: Awaited<ReturnType<typeof openTestConnection>>;
    before(async () => {
      conn = await openTestConnection(database);
    });
    after(() => conn.dispose());

    const rows = async () => (await conn.db.selectFrom('meta').select('key').where('key', 'like', 'gc-%').execute()).map((r) => r.key).sort();

    test('writers arriving together share transactions, and each learns its own result after commit', async () => {
      const committer = createGroupCommitter(conn.db, { maxBatch: 64 });
      let transactions = 0;
      const seen = new Set<unknown>();
      const results = await Promise.all(Array.from({ length: 100 }, (_, i) => committer.run(async (trx) => {
        // Each distinct transaction object is one commit.
        if (!seen.has(trx)) {
          seen.add(trx);
          transactions++;
        }
        await trx.insertInto('meta').values({ key: `gc-${String(i).padStart(3, '0')}`, value: String(i) }).execute();
        return i * 2;
      })));
      assert.deepEqual(results, Array.from({ length: 100 }, (_, i) => i * 2));
      assert.equal((await rows()).length, 100);
      assert.ok(transactions < 100, `100 writes took ${transactions} commits`);
      assert.ok(transactions >= 2, 'batches are capped at maxBatch');
    });

    test('one failing writer does not sink the others sharing its batch', async () => {
      const committer = createGroupCommitter(conn.db, { maxBatch: 64 });
      const outcomes = await Promise.allSettled(['a', 'b', 'boom', 'c'].map((name) => committer.run(async (trx) => {
        if (name === 'boom') throw new Error('bad event');
        await trx.insertInto('meta').values({ key: `gc-x-${name}`, value: name }).execute();
        return name;
      })));
      assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
      const written = (await rows()).filter((k) => k.startsWith('gc-x-'));
      assert.deepEqual(written, ['gc-x-a', 'gc-x-b', 'gc-x-c']);
    });
  });
}

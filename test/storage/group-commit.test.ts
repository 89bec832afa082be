import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import { connect } from '../../src/storage/connect.js';
import { migrateToLatest } from '../../src/storage/migrate.js';
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

describe('group commit on an SQLite file while another connection holds the write lock', () => {
  test('a batch that cannot get the lock within the wait fails every item at once, not one by one; then commits resume', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-group-commit-'));
    // Short, so the test is quick: each item retried alone would wait this long again.
    const conn = connect(`sqlite:${join(dir, 'latchkey.db')}`, { lockWaitMs: 300 });
    const holder = new SQLite(join(dir, 'latchkey.db'));
    try {
      await migrateToLatest(conn.db);
      const committer = createGroupCommitter(conn.db, { maxBatch: 64 });
      const write = (key: string) => committer.run((trx) => trx.insertInto('meta').values({ key, value: 'x' }).execute());
      holder.exec('begin immediate');
      const started = performance.now();
      const outcomes = await Promise.allSettled(['l-1', 'l-2', 'l-3', 'l-4', 'l-5', 'l-6'].map(write));
      const elapsedMs = performance.now() - started;
      holder.exec('rollback');
      assert.deepEqual(outcomes.map((o) => o.status), Array(6).fill('rejected'));
      assert.match(String((outcomes[0] as PromiseRejectedResult).reason), /locked|busy/i);
      // One wait for the batch; one by one would be seven of them (2.1 s).
      assert.ok(elapsedMs < 1500, `the locked batch took ${Math.round(elapsedMs)} ms to fail`);
      await write('after');
      assert.ok(await conn.db.selectFrom('meta').select('key').where('key', '=', 'after').executeTakeFirst());
    } finally {
      holder.close();
      await conn.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a write waiting for another connection\'s lock leaves the event loop free, and commits once the lock is let go', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-group-commit-'));
    const conn = connect(`sqlite:${join(dir, 'latchkey.db')}`);
    const holder = new SQLite(join(dir, 'latchkey.db'));
    try {
      await migrateToLatest(conn.db);
      const committer = createGroupCommitter(conn.db, { maxBatch: 64 });
      holder.exec('begin immediate');
      // A timer ticking every millisecond: SQLite's own busy wait would stop it for the whole hold.
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 1);
      const written = committer.run((trx) => trx.insertInto('meta').values({ key: 'waited', value: 'x' }).execute());
      const held = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 200));
      holder.exec('commit');
      await written;
      clearInterval(ticker);
      assert.ok(ticks >= 50, `the event loop ran ${ticks} timer ticks in the ${Date.now() - held} ms the write waited`);
      assert.ok(await conn.db.selectFrom('meta').select('key').where('key', '=', 'waited').executeTakeFirst());
      // A statement outside a transaction waits the same way.
      holder.exec('begin immediate');
      const single = conn.db.insertInto('meta').values({ key: 'single', value: 'x' }).execute();
      await new Promise((resolve) => setTimeout(resolve, 50));
      holder.exec('commit');
      await single;
      assert.ok(await conn.db.selectFrom('meta').select('key').where('key', '=', 'single').executeTakeFirst());
    } finally {
      holder.close();
      await conn.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

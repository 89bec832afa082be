import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createDedupService } from '../../src/services/dedup.js';
import { connect, type Connection } from '../../src/storage/connect.js';
import { createDedupStore } from '../../src/storage/dedup-store.js';
import { createGroupCommitter } from '../../src/storage/group-commit.js';
import { migrateToLatest } from '../../src/storage/migrate.js';
import { NO_REQUEST } from '../../src/domain/audit/audit-event.js';
import { OPERATOR } from '../../src/services/setup.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { openTestConnection, testDatabases } from '../support/database.js';

/** Durable commits on an on-disk SQLite file: these tests need a real file and its write-ahead log. */
describe('durable commits on an SQLite file', () => {
  let dir: string;
  let conn: Connection;
  let n = 0;
  const write = () => conn.db.insertInto('meta').values({ key: `d-${n++}`, value: 'x' }).execute();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-durability-'));
    conn = connect(`sqlite:${join(dir, 'latchkey.db')}`);
    await migrateToLatest(conn.db);
    await conn.durability.durable();
  });
  after(async () => {
    await conn.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a write is made durable by one fdatasync; with nothing written since, durable() syncs nothing', async () => {
    const before = conn.durability.syncs;
    await write();
    await conn.durability.durable();
    assert.equal(conn.durability.syncs, before + 1);
    await conn.durability.durable();
    await conn.db.selectFrom('meta').selectAll().execute();
    await conn.durability.durable();
    assert.equal(conn.durability.syncs, before + 1, 'reads and repeated calls cost no sync');
  });

  test('writers waiting together share syncs: 50 commits, at most 2 fdatasyncs', async () => {
    const before = conn.durability.syncs;
    await Promise.all(Array.from({ length: 50 }, async () => {
      await write();
      await conn.durability.durable();
    }));
    const syncs = conn.durability.syncs - before;
    assert.ok(syncs >= 1 && syncs <= 2, `50 commits took ${syncs} syncs`);
  });

  test('a commit made while a sync is in flight waits for the next sync, not the one already running', async () => {
    const before = conn.durability.syncs;
    await write();
    const first = conn.durability.durable();
    await write();
    const second = conn.durability.durable();
    await first;
    await second;
    assert.equal(conn.durability.syncs, before + 2, 'the second commit was not counted as covered by the first sync');
  });

  test('the checkpoint worker copies the log into the database file in the background', async () => {
    const file = join(dir, 'latchkey.db');
    const sizeBefore = statSync(file).size;
    await conn.db.insertInto('meta').values(Array.from({ length: 400 }, (_, i) => ({ key: `bulk-${i}`, value: 'y'.repeat(500) }))).execute();
    await conn.durability.durable();
    const deadline = Date.now() + 5000;
    while (statSync(file).size <= sizeBefore + 100_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(statSync(file).size > sizeBefore + 100_000, `the database file grew from ${sizeBefore} to ${statSync(file).size} bytes`);
  });
});

/**
 * The log vanishing under the server is one way its sync can fail. It is left a link to nowhere,
 * not just removed: the checkpoint worker opens its own connection in the background, and one that
 * opens after the removal would create a fresh, empty log, which then syncs without complaint.
 */
function loseTheLog(dir: string): void {
  const log = join(dir, 'latchkey.db-wal');
  unlinkSync(log);
  symlinkSync(join(dir, 'no-such-folder', 'log'), log);
}

describe('a failed fdatasync', () => {
  test('fails every later durable() too: the server must not report writes as saved once the disk failed one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-durability-'));
    const conn = connect(`sqlite:${join(dir, 'latchkey.db')}`);
    try {
      await migrateToLatest(conn.db);
      await conn.db.insertInto('meta').values({ key: 'k', value: 'v' }).execute();
      loseTheLog(dir);
      await assert.rejects(conn.durability.durable(), /fdatasync .* failed.*restart the server/);
      await assert.rejects(conn.durability.durable(), /restart the server/, 'still refused, with nothing new written');
    } finally {
      await conn.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('answers a write 500, never 2xx, and readiness fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-durability-'));
    const t = await startTestApp({ name: 'sqlite', url: `sqlite:${join(dir, 'latchkey.db')}` });
    try {
      // Straight through the services: no answer is sent, so no sync has opened the log yet.
      const { token: routingKey } = await t.services.apiKeys.create(OPERATOR, { name: 'events', kind: 'events', scope: 'global' }, NO_REQUEST);
      // Before the first sync, which is when the log is opened for syncing.
      loseTheLog(dir);
      const answer = await t.request({ method: 'POST', url: '/api/v1/teams', token: t.ownerToken, payload: { name: 'after the failure' } });
      assert.equal(answer.statusCode, 500, answer.body);
      assert.equal(answer.json().error.code, 'internal_error', answer.body);
      const read = await t.request({ method: 'GET', url: '/api/v1/teams', token: t.ownerToken });
      assert.equal(read.statusCode, 200, 'reads still answer');
      const ready = await t.request({ method: 'GET', url: '/readyz' });
      assert.equal(ready.statusCode, 503, 'a load balancer takes the instance out');
      const event = await t.request({
        method: 'POST', url: '/v2/enqueue', payload: { routing_key: routingKey, event_action: 'trigger', payload: { summary: 'disk full', source: 'db-1', severity: 'critical' } },
      });
      assert.equal(event.statusCode, 500, event.body);
      assert.equal(event.json().status, 'error', 'the Events API answers in its own shape');
      assert.match(event.json().message, /send it again/);
    } finally {
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('an event the writer thread cannot commit', () => {
  test('is answered 500 in the Events API\'s shape, never 202, and nothing of it is stored', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-durability-'));
    const t = await startTestApp({ name: 'sqlite', url: `sqlite:${join(dir, 'latchkey.db')}` });
    try {
      const { token: routingKey } = await t.services.apiKeys.create(OPERATOR, { name: 'events', kind: 'events', scope: 'global' }, NO_REQUEST);
      // The thread starts at the first event and opens its own connection: the log it needs is gone.
      loseTheLog(dir);
      for (const dedupKey of ['first', 'second']) {
        const event = await t.request({
          method: 'POST', url: '/v2/enqueue', payload: { routing_key: routingKey, event_action: 'trigger', dedup_key: dedupKey, payload: { summary: 'disk full', source: 'db-1', severity: 'critical' } },
        });
        assert.equal(event.statusCode, 500, event.body);
        assert.equal(event.json().status, 'error');
        assert.match(event.json().message, /send it again/);
      }
      const listed = await t.request({ method: 'GET', url: '/api/v1/incidents', token: t.ownerToken });
      assert.deepEqual(listed.json().incidents, []);
    } finally {
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('answers wait for durability on an SQLite file', () => {
  let dir: string;
  let t: TestApp;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-durability-'));
    t = await startTestApp({ name: 'sqlite', url: `sqlite:${join(dir, 'latchkey.db')}` });
  });
  after(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a write is answered after its sync; a read syncs nothing', async () => {
    const syncs = () => t.services.durability.syncs;
    await t.services.durability.durable();
    const before = syncs();
    const created = await t.request({ method: 'POST', url: '/api/v1/teams', token: t.ownerToken, payload: { name: 'durable' } });
    assert.equal(created.statusCode, 201);
    assert.equal(syncs(), before + 1, 'the 201 was sent after an fdatasync');
    const read = await t.request({ method: 'GET', url: '/api/v1/teams', token: t.ownerToken });
    assert.equal(read.statusCode, 200);
    assert.equal(syncs(), before + 1);
  });
});

for (const database of testDatabases()) {
  describe(`a deduplication claim inside a transaction on ${database.name}`, () => {
    let conn: Awaited<ReturnType<typeof openTestConnection>>;
    before(async () => {
      conn = await openTestConnection(database);
    });
    after(() => conn.dispose());

    test('rolls back with the work it admitted, so the retry is processed', async () => {
      const clock = { now: () => new Date('2026-11-23T10:00:00Z') };
      const dedup = createDedupService({
        store: createDedupStore(conn.db, conn.kind), committer: createGroupCommitter(conn.db, { maxBatch: 8 }), clock, purgeIntervalMs: 60_000, logger: console,
      });
      const key = { id: 'K-rollback', dedupWindowSeconds: 600 };
      await assert.rejects(conn.db.transaction().execute(async (trx) => {
        const first = await dedup.claimWithin(trx, key, '/v2/enqueue', { a: 1 });
        assert.equal(first.duplicate, false);
        throw new Error('the work failed');
      }), /the work failed/);
      const retry = await dedup.claim(key, '/v2/enqueue', { a: 1 });
      assert.equal(retry.duplicate, false, 'nothing was left claimed by the failed transaction');
      const again = await dedup.claim(key, '/v2/enqueue', { a: 1 });
      assert.equal(again.duplicate, true);
    });
  });
}

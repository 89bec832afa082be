import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { Incident } from '../../src/domain/incidents/incident.js';
import { connect, type Connection } from '../../src/storage/connect.js';
import { createDedupStore } from '../../src/storage/dedup-store.js';
import { migrateTo, migrateToLatest } from '../../src/storage/migrate.js';
import { isolatedDatabase, testDatabases } from '../support/database.js';

for (const database of testDatabases()) {
  describe(`upgrading a database with live deduplication claims on ${database.name}`, () => {
    let conn: Connection;
    let place: Awaited<ReturnType<typeof isolatedDatabase>>;
    const at = (s: number) => new Date(Date.UTC(2026, 10, 23, 10, 0, s));
    const rows = async () => (await conn.db.selectFrom('dedup_claims').select(['api_key_id', 'fingerprint']).orderBy('fingerprint').execute());

    before(async () => {
      place = await isolatedDatabase(database);
      conn = connect(database.url, place.schema ? { schema: place.schema } : {});
      await migrateTo(conn.db, '0008_open_incidents_by_dedup_key');
      await conn.db.insertInto('dedup_claims').values([
        { api_key_id: 'K', fingerprint: 'f-live', first_seen_at: at(0).getTime(), expires_at: at(600).getTime() },
        { api_key_id: 'K', fingerprint: 'f-old', first_seen_at: at(0).getTime(), expires_at: at(10).getTime() },
      ]).execute();
      await migrateToLatest(conn.db);
    });
    after(async () => {
      await conn.close();
      await place.drop();
    });

    test('claims made before the upgrade still hold: a repeat within the window is still a duplicate', async () => {
      assert.deepEqual((await rows()).map((r) => r.fingerprint), ['f-live', 'f-old']);
      const store = createDedupStore(conn.db, conn.kind);
      const repeat = await store.claim('K', 'f-live', at(60), at(660));
      assert.deepEqual(repeat, { claimed: false, firstSeenAt: at(0) });
      assert.equal(await store.purgeExpired(at(60)), 1, 'the expired one is purged');
      assert.deepEqual((await rows()).map((r) => r.fingerprint), ['f-live']);
    });

    if (database.name === 'sqlite') {
      test('the claims table is its own primary key (WITHOUT ROWID), and going back down keeps the claims', async () => {
        const ddl = async () => (await sql<{ sql: string }>`select sql from sqlite_master where name = 'dedup_claims'`.execute(conn.db)).rows[0]!.sql;
        assert.match(await ddl(), /without rowid/i);
        await migrateTo(conn.db, '0008_open_incidents_by_dedup_key');
        assert.doesNotMatch(await ddl(), /without rowid/i);
        assert.deepEqual((await rows()).map((r) => r.fingerprint), ['f-live']);
        await migrateToLatest(conn.db);
        assert.match(await ddl(), /without rowid/i);
        assert.deepEqual((await rows()).map((r) => r.fingerprint), ['f-live']);
      });
    }
  });
}

for (const database of testDatabases()) {
  describe(`upgrading a database with open incidents to one open-incident index on ${database.name}`, () => {
    let conn: Connection;
    let place: Awaited<ReturnType<typeof isolatedDatabase>>;
    const incident = (id: string, serviceId: string, dedupKey: string, status: string) => ({
      id, service_id: serviceId, team_id: 'T', title: id, description: '', severity: 'critical', status, dedup_key: dedupKey, source: 'events',
      created_by: 'api_key:K:bench', created_at: 0, updated_at: 0, acknowledged_at: null, acknowledged_by: null, resolved_at: null,
      resolved_by: null, alert_count: 1, last_payload: '{}',
    });
    const openIds = async (dedupKey: string) => (await conn.db.selectFrom('incidents').select('id')
      .where('dedup_key', '=', dedupKey).where('status', '!=', 'resolved').orderBy('id').execute()).map((r) => r.id);

    before(async () => {
      place = await isolatedDatabase(database);
      conn = connect(database.url, place.schema ? { schema: place.schema } : {});
      await migrateTo(conn.db, '0009_dedup_claims_without_rowid');
      await conn.db.insertInto('teams').values({ id: 'T', name: 'team', description: '', created_at: 0, updated_at: 0 }).execute();
      await conn.db.insertInto('services').values(['S1', 'S2'].map((id) => ({
        id, team_id: 'T', name: id, description: '', api_filter: null, created_at: 0, updated_at: 0, resolve_filter: null, field_mapping: null, deleted_at: null,
      }))).execute();
      await conn.db.insertInto('incidents').values([
        incident('I1', 'S1', 'disk-full', 'triggered'), incident('I2', 'S2', 'disk-full', 'acknowledged'), incident('I0', 'S1', 'disk-full', 'resolved'),
      ]).execute();
      await migrateToLatest(conn.db);
    });
    after(async () => {
      await conn.close();
      await place.drop();
    });

    test('the open incidents are still found by dedup key, and a second open one on a service and key is still refused', async () => {
      assert.deepEqual(await openIds('disk-full'), ['I1', 'I2']);
      await assert.rejects(conn.db.insertInto('incidents').values(incident('I3', 'S1', 'disk-full', 'triggered')).execute(), /unique|UNIQUE/);
      // Resolved incidents are outside the index: any number of them.
      await conn.db.insertInto('incidents').values(incident('I4', 'S1', 'disk-full', 'resolved')).execute();
    });

    test('going back down restores both indexes and keeps the incidents; up again works', async () => {
      await migrateTo(conn.db, '0009_dedup_claims_without_rowid');
      assert.deepEqual(await openIds('disk-full'), ['I1', 'I2']);
      await assert.rejects(conn.db.insertInto('incidents').values(incident('I5', 'S2', 'disk-full', 'triggered')).execute(), /unique|UNIQUE/);
      await migrateToLatest(conn.db);
      assert.deepEqual(await openIds('disk-full'), ['I1', 'I2']);
    });
  });
}

for (const database of testDatabases()) {
  describe(`upgrading a database with deleted users: they get status deleted and their emails are set free on ${database.name}`, () => {
    let conn: Connection;
    let place: Awaited<ReturnType<typeof isolatedDatabase>>;
    const user = (id: string, email: string) => ({ id, email, name: id, password_hash: 'x', role: 'member', status: 'deactivated', created_at: 0, updated_at: 0 });
    const users = async () => (await conn.db.selectFrom('users').select(['id', 'email', 'status']).orderBy('id').execute());

    before(async () => {
      place = await isolatedDatabase(database);
      conn = connect(database.url, place.schema ? { schema: place.schema } : {});
      await migrateTo(conn.db, '0011_dedup_claim_log');
      await conn.db.insertInto('users').values([user('U1', 'gone@example.com'), user('U2', 'paused@example.com')]).execute();
      await conn.db.insertInto('audit_events').values({
        id: 'A1', at: 0, action: 'user.deleted', actor: 'system', actor_id: null, target_type: 'user', target_id: 'U1',
        team_id: null, service_id: null, ip: null, request_id: null, details: '{"email":"gone@example.com"}',
      }).execute();
      await migrateToLatest(conn.db);
    });
    after(async () => {
      await conn.close();
      await place.drop();
    });

    test('the user with a user.deleted event is deleted, with its email suffixed; a deactivated one is untouched; down and up again', async () => {
      const upgraded = [
        { id: 'U1', email: 'gone@example.com (deleted U1)', status: 'deleted' },
        { id: 'U2', email: 'paused@example.com', status: 'deactivated' },
      ];
      assert.deepEqual(await users(), upgraded);
      await conn.db.insertInto('users').values({ ...user('U3', 'gone@example.com'), status: 'active' }).execute();
      await migrateTo(conn.db, '0011_dedup_claim_log');
      assert.deepEqual((await users()).map((u) => u.status), ['deactivated', 'deactivated', 'active'], 'down: deleted looks deactivated again, as it did');
      await migrateToLatest(conn.db);
      assert.deepEqual((await users()).slice(0, 2), upgraded, 'up again: the email is suffixed once');
    });
  });
}

describe("upgrading an SQLite file whose writer thread made claims in dedup_claims: they move to the thread's claim log", () => {
  let dir: string;
  let conn: Connection;
  const now = Date.now();
  const logged = async () => (await conn.db.selectFrom('dedup_claim_log').select(['fingerprint', 'first_seen_at']).orderBy('id').execute());

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-migrate-'));
    conn = connect(`sqlite:${join(dir, 'latchkey.db')}`);
    await migrateTo(conn.db, '0010_one_open_incident_index');
    await conn.db.insertInto('dedup_claims').values([
      { api_key_id: 'K', fingerprint: 'f-live', first_seen_at: now - 60_000, expires_at: now + 540_000 },
      { api_key_id: 'K', fingerprint: 'f-old', first_seen_at: now - 700_000, expires_at: now - 100_000 },
    ]).execute();
    await migrateToLatest(conn.db);
    await conn.db.insertInto('teams').values({ id: 'T', name: 'team', description: '', created_at: 0, updated_at: 0 }).execute();
    await conn.db.insertInto('services').values({
      id: 'S1', team_id: 'T', name: 'S1', description: '', api_filter: null, created_at: 0, updated_at: 0, resolve_filter: null, field_mapping: null, deleted_at: null,
    }).execute();
  });
  after(async () => {
    await conn.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the live claim is logged and the thread discards a repeat of it; the expired one is not carried over', async () => {
    assert.deepEqual(await logged(), [{ fingerprint: 'f-live', first_seen_at: now - 60_000 }]);
    const incident: Incident = {
      id: '01KMIGRATEDCLAIM0000000001', serviceId: 'S1', teamId: 'T', title: 'repeat', description: '', severity: 'critical', status: 'triggered',
      dedupKey: 'repeat', source: 'events', createdBy: { type: 'api_key', id: 'K', name: 'monitor' }, createdAt: new Date(now), updatedAt: new Date(now),
      acknowledgedAt: null, acknowledgedBy: null, resolvedAt: null, resolvedBy: null, alertCount: 1, lastPayload: {},
    };
    const repeat = await conn.eventWriter!.write({
      kind: 'trigger', reopens: false, claim: { keyId: 'K', fingerprint: 'f-live', at: new Date(now), until: new Date(now + 600_000) }, incidents: [incident],
    });
    assert.deepEqual(repeat, { discarded: true, firstSeenAt: new Date(now - 60_000) });
  });

  test('going back down puts the logged claims where the thread looked for them before', async () => {
    await conn.eventWriter!.close();
    await migrateTo(conn.db, '0010_one_open_incident_index');
    const rows = await conn.db.selectFrom('dedup_claims').select(['fingerprint', 'expires_at']).orderBy('fingerprint').execute();
    assert.deepEqual(rows, [{ fingerprint: 'f-live', expires_at: now + 540_000 }, { fingerprint: 'f-old', expires_at: now - 100_000 }]);
    const tables = await sql<{ name: string }>`select name from sqlite_master where name = 'dedup_claim_log'`.execute(conn.db);
    assert.equal(tables.rows.length, 0);
    await migrateToLatest(conn.db);
    assert.deepEqual(await logged(), [{ fingerprint: 'f-live', first_seen_at: now - 60_000 }]);
  });
});

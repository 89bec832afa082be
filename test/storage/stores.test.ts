import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { monotonicFactory, ulid } from 'ulid';
import type { Scope } from '../../src/domain/access/scope.js';
import type { ApiKey } from '../../src/domain/api-keys/api-key.js';
import { createApiKeyStore, type NewApiKey } from '../../src/storage/api-key-store.js';
import { createAuditStore } from '../../src/storage/audit-store.js';
import { createCatalogStore } from '../../src/storage/catalog-store.js';
import { createDedupStore } from '../../src/storage/dedup-store.js';
import { migrateToLatest } from '../../src/storage/migrate.js';
import { createUsageStore } from '../../src/storage/usage-store.js';
import { openTestConnection, testDatabases } from '../support/database.js';

const T0 = new Date('2026-11-22T12:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const nextId = monotonicFactory();
const OPERATOR = { type: 'system' as const, id: null, name: 'test' };

function newKey(scope: Scope, overrides: Partial<NewApiKey> = {}): NewApiKey {
  return {
    id: ulid(), name: 'key', description: '', kind: 'rest', scope, ownerUserId: null, roles: ['viewer'], readOnly: false,
    state: 'active', expiresAt: null, createdAt: T0, createdBy: OPERATOR, updatedAt: T0, tokenLastIssuedAt: T0,
    debugEnabledAt: null, debugUntil: null, dedupWindowSeconds: 600, rateLimitPerMinute: null, allowedCidrs: [],
    ...overrides,
  };
}

for (const database of testDatabases()) {
  describe(`stores on ${database.name}`, () => {
    let conn: Awaited<ReturnType<typeof openTestConnection>>;
    let keys: ReturnType<typeof createApiKeyStore>;
    const teamA = { id: ulid(), name: 'alpha', description: '', createdAt: T0, updatedAt: T0 };
    const teamB = { id: ulid(), name: 'beta', description: '', createdAt: T0, updatedAt: T0 };
    const serviceA = { id: ulid(), teamId: teamA.id, name: 'db', description: '', apiFilter: null, resolveFilter: null, fieldMapping: {}, createdAt: T0, updatedAt: T0 };

    async function insert(key: NewApiKey, digest = ulid()): Promise<ApiKey> {
      await conn.db.transaction().execute((trx) => keys.insert(trx, key, { digest, hint: `lkg_…${digest.slice(-4)}`, issuedAt: key.createdAt }));
      return (await keys.findById(key.id))!;
    }

    before(async () => {
      conn = await openTestConnection(database);
      keys = createApiKeyStore(conn.db, conn.kind);
      const catalog = createCatalogStore(conn.db, conn.kind);
      await conn.db.transaction().execute(async (trx) => {
        await catalog.insertTeam(trx, teamA);
        await catalog.insertTeam(trx, teamB);
        await catalog.insertService(trx, serviceA);
      });
    });
    after(() => conn.dispose());

    test('migrations are idempotent: a second run applies nothing', async () => {
      assert.deepEqual(await migrateToLatest(conn.db), []);
    });

    test('a key round-trips with every field', async () => {
      const stored = await insert(newKey({ type: 'service', teamId: teamA.id, serviceId: serviceA.id }, {
        name: 'pager', description: 'from monitoring', roles: ['incident_creator', 'viewer'], readOnly: true,
        expiresAt: at(3600), debugEnabledAt: T0, debugUntil: at(48 * 3600), dedupWindowSeconds: 0, rateLimitPerMinute: 120,
        allowedCidrs: ['10.0.0.0/8', '2001:db8::/32'],
      }), 'digest-roundtrip');
      assert.deepEqual(stored.scope, { type: 'service', teamId: teamA.id, serviceId: serviceA.id });
      assert.deepEqual(stored.roles, ['incident_creator', 'viewer']);
      assert.equal(stored.readOnly, true);
      assert.deepEqual(stored.expiresAt, at(3600));
      assert.deepEqual(stored.debugUntil, at(48 * 3600));
      assert.equal(stored.dedupWindowSeconds, 0);
      assert.equal(stored.rateLimitPerMinute, 120);
      assert.deepEqual(stored.allowedCidrs, ['10.0.0.0/8', '2001:db8::/32']);
      assert.deepEqual(stored.createdBy, OPERATOR);
      assert.equal(stored.tokenHint, 'lkg_…trip');
      assert.equal(stored.previousToken, null);
      const match = await keys.findByDigest('digest-roundtrip');
      assert.equal(match?.key.id, stored.id);
      assert.deepEqual(match?.token, { retiredAt: null, validUntil: null });
      assert.equal(await keys.findByDigest('no-such-digest'), undefined);
    });

    test('rotation retires the old token with a grace, and a second rotation ends the first grace', async () => {
      const key = await insert(newKey({ type: 'global' }), 'rot-1');
      await conn.db.transaction().execute((trx) => keys.replaceToken(trx, key.id, { digest: 'rot-2', hint: 'h2', issuedAt: at(10) }, at(70)));
      assert.deepEqual((await keys.findByDigest('rot-1'))?.token, { retiredAt: at(10), validUntil: at(70) });
      const afterFirst = (await keys.findById(key.id))!;
      assert.equal(afterFirst.tokenHint, 'h2');
      assert.deepEqual(afterFirst.previousToken, { hint: 'lkg_…ot-1', validUntil: at(70), lastUsedAt: null });

      const live = await conn.db.transaction().execute((trx) => keys.replaceToken(trx, key.id, { digest: 'rot-3', hint: 'h3', issuedAt: at(20) }, at(50)));
      assert.deepEqual(live.sort(), ['rot-1', 'rot-2']);
      assert.deepEqual((await keys.findByDigest('rot-1'))?.token.validUntil, at(20), 'the older grace ends at the new rotation');
      assert.deepEqual((await keys.findByDigest('rot-2'))?.token, { retiredAt: at(20), validUntil: at(50) });
      assert.equal((await keys.findById(key.id))!.previousToken?.hint, 'h2');
    });

    test('listing honours reach, filters and the cursor', async () => {
      const teamKey = await insert(newKey({ type: 'team', teamId: teamB.id }, { name: 'b-team' }));
      const teamKey2 = await insert(newKey({ type: 'team', teamId: teamB.id }, { name: 'b-team-2', state: 'disabled' }));
      await insert(newKey({ type: 'global' }, { name: 'global' }));
      const reachB = { global: false as const, teamIds: new Set([teamB.id]), serviceIds: new Set<string>() };
      const seenByB = await keys.list({ reach: reachB, limit: 100 });
      assert.deepEqual(seenByB.map((k) => k.id).sort(), [teamKey.id, teamKey2.id].sort());
      const nothing = await keys.list({ reach: { global: false, teamIds: new Set(), serviceIds: new Set() }, limit: 100 });
      assert.deepEqual(nothing, []);
      assert.deepEqual((await keys.list({ reach: reachB, state: 'disabled', limit: 100 })).map((k) => k.id), [teamKey2.id]);
      const first = await keys.list({ reach: { global: true }, limit: 1 });
      const rest = await keys.list({ reach: { global: true }, limit: 100, before: first[0]!.id });
      const all = await keys.list({ reach: { global: true }, limit: 100 });
      assert.deepEqual([...first, ...rest].map((k) => k.id), all.map((k) => k.id));
    });

    test('usage batches add up and last use only moves forward', async () => {
      const usage = createUsageStore(conn.db);
      const key = await insert(newKey({ type: 'global' }), 'usage-1');
      const batch = (when: Date, ip: string, count: number) => ({
        lastUse: new Map([[key.id, { at: when, ip }]]),
        tokenLastUse: new Map<string, Date>(),
        counts: new Map([['x', { keyId: key.id, day: '2026-11-22', outcome: 'ok', count }]]),
      });
      await usage.apply(batch(at(100), '192.0.2.1', 3));
      await usage.apply(batch(at(50), '192.0.2.9', 4));
      assert.deepEqual(await usage.daysOf(key.id, '2026-11-01'), [{ day: '2026-11-22', outcome: 'ok', count: 7 }]);
      const stored = (await keys.findById(key.id))!;
      assert.deepEqual(stored.lastUsedAt, at(100));
      assert.equal(stored.lastUsedIp, '192.0.2.1');
    });

    test('audit events list newest first and by reach', async () => {
      const audit = createAuditStore(conn.db);
      const event = (teamId: string | null) => ({
        id: nextId(), at: T0, action: 'api_key.created' as const, actor: OPERATOR, targetType: 'api_key' as const, targetId: 'k',
        teamId, serviceId: null, ip: '192.0.2.1', requestId: 'r', details: { roles: ['viewer'] },
      });
      const a = event(teamA.id);
      const b = event(teamB.id);
      await conn.db.transaction().execute(async (trx) => {
        await audit.append(trx, a);
        await audit.append(trx, b);
      });
      const onlyA = await audit.list({ reach: { global: false, teamIds: new Set([teamA.id]), serviceIds: new Set() }, limit: 10 });
      assert.deepEqual(onlyA, [a]);
      const all = await audit.list({ reach: { global: true }, targetId: 'k', limit: 10 });
      assert.deepEqual(all.map((e) => e.id), [b.id, a.id]);
    });

    test('dedup claims: one winner, expiry takes over, purge bounds the table', async () => {
      const dedup = createDedupStore(conn.db, conn.kind);
      assert.deepEqual(await dedup.claim('K', 'f1', at(0), at(60)), { claimed: true });
      assert.deepEqual(await dedup.claim('K', 'f1', at(10), at(70)), { claimed: false, firstSeenAt: at(0) });
      assert.deepEqual(await dedup.claim('K2', 'f1', at(10), at(70)), { claimed: true }, 'claims are per key');
      assert.deepEqual(await dedup.claim('K', 'f1', at(60), at(120)), { claimed: true }, 'an expired claim is taken over');
      await dedup.claim('K', 'f2', at(0), at(30));
      assert.equal(await dedup.purgeExpired(at(100)), 2, 'f2 and K2/f1 had expired');
      assert.deepEqual(await dedup.peek('K', 'f1', at(100), at(160)), at(60));
      await dedup.release('K', 'f1', at(0));
      assert.deepEqual(await dedup.peek('K', 'f1', at(100), at(160)), at(60), 'the claim made at 0 was taken over at 60: not that request\'s to give back');
      await dedup.release('K', 'f1', at(60));
      assert.equal(await dedup.peek('K', 'f1', at(100), at(160)), undefined);
    });

    test('dedup claims follow the key\'s window as it is now: a shortened window lets an older claim go at once', async () => {
      const dedup = createDedupStore(conn.db, conn.kind);
      assert.deepEqual(await dedup.claim('S', 'f', at(0), at(86_400)), { claimed: true });
      assert.deepEqual(await dedup.peek('S', 'f', at(100), at(86_500)), at(0), 'live under the long window');
      assert.equal(await dedup.peek('S', 'f', at(100), at(160)), undefined, 'made more than 60 s ago: not live under a 60 s window');
      assert.deepEqual(await dedup.claim('S', 'f', at(50), at(110)), { claimed: false, firstSeenAt: at(0) }, 'within the 60 s window still');
      assert.deepEqual(await dedup.claim('S', 'f', at(100), at(160)), { claimed: true }, 'taken over');
      assert.deepEqual(await dedup.claim('S', 'f', at(130), at(190)), { claimed: false, firstSeenAt: at(100) });
    });

    test('a purge larger than one chunk deletes every expired claim and keeps the live ones', async () => {
      const dedup = createDedupStore(conn.db, conn.kind);
      for (let chunk = 0; chunk < 12; chunk++) {
        await conn.db.insertInto('dedup_claims').values(Array.from({ length: 1000 }, (_, i) => ({
          api_key_id: 'P', fingerprint: `old-${chunk}-${i}`, first_seen_at: at(0).getTime(), expires_at: at(10).getTime(),
        }))).execute();
      }
      await dedup.claim('P', 'live', at(0), at(1000));
      assert.equal(await dedup.purgeExpired(at(20)), 12_000);
      const left = await conn.db.selectFrom('dedup_claims').select('fingerprint').where('api_key_id', '=', 'P').execute();
      assert.deepEqual(left.map((r) => r.fingerprint), ['live']);
    });

    test('a failed transaction leaves nothing behind', async () => {
      const key = newKey({ type: 'global' });
      await assert.rejects(conn.db.transaction().execute(async (trx) => {
        await keys.insert(trx, key, { digest: 'half-written', hint: 'h', issuedAt: T0 });
        throw new Error('boom');
      }));
      assert.equal(await keys.findById(key.id), undefined);
      assert.equal(await keys.findByDigest('half-written'), undefined);
    });
  });
}

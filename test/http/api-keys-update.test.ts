import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, testDatabases, type TestApp } from '../support/harness.js';
import { assertError, createKeyViaApi, DAY, json, showKey, statusOf, unique, type Json } from '../support/fixtures.js';

const GHOST = '01J00000000000000000000000';

for (const db of testDatabases()) {
  describe(`PATCH /api/v1/api_keys/:id on ${db.name}`, () => {
    let t: TestApp;

    before(async () => {
      t = await startTestApp(db);
    });
    after(() => t.close());

    const patch = (id: string, payload: unknown, token = t.ownerToken) =>
      t.request({ method: 'PATCH', url: `/api/v1/api_keys/${id}`, token, payload: payload as object });

    async function lastAuditOf(id: string): Promise<Json> {
      const res = await t.request({ method: 'GET', url: `/api/v1/audit_events?target_id=${id}&limit=1`, token: t.ownerToken });
      assert.equal(res.statusCode, 200, res.body);
      return json(res).audit_events[0];
    }

    test('each field changes, shows in the key, and the audit event records it from → to', async () => {
      const { api_key: key } = await createKeyViaApi(t, { name: 'before', description: 'old', scope: 'global', roles: ['viewer'] });
      const later = new Date(t.clock.now().getTime() + 30 * DAY).toISOString();
      const cases: Array<[string, unknown, unknown]> = [
        ['name', 'after', 'before'],
        ['description', 'new', 'old'],
        ['roles', ['incident_editor'], ['viewer']],
        ['read_only', true, false],
        ['expires_at', later, null],
        ['dedup_window_seconds', 0, 600],
        ['rate_limit_per_minute', 60, 960],
        ['rate_limit_per_minute', null, 60],
        ['allowed_cidrs', ['192.0.2.0/24', '127.0.0.1'], []],
      ];
      for (const [field, to, from] of cases) {
        t.clock.advance(1000);
        const res = await patch(key.id, { [field]: to });
        assert.equal(res.statusCode, 200, `${field}: ${res.body}`);
        const updated = json(res).api_key;
        assert.deepEqual(updated[field], to, field);
        assert.equal(updated.updated_at, t.clock.now().toISOString());
        assert.deepEqual(await showKey(t, key.id), updated, `${field} is stored`);

        const event = await lastAuditOf(key.id);
        assert.equal(event.action, 'api_key.updated');
        assert.deepEqual(event.details.changes, { [field]: { from, to } }, `${field}: only what changed, named as in the API`);
      }
      const final = await showKey(t, key.id);
      assert.ok(final.permissions.includes('incidents:write'), 'permissions follow the roles');
    });

    test('several fields at once, in one audit event', async () => {
      const { api_key: key } = await createKeyViaApi(t, { scope: 'global' });
      const res = await patch(key.id, { name: 'both', description: 'at once' });
      assert.equal(res.statusCode, 200, res.body);
      const event = await lastAuditOf(key.id);
      assert.deepEqual(event.details.changes, { name: { from: key.name, to: 'both' }, description: { from: '', to: 'at once' } });
    });

    test('read_only takes effect on the very next request', async () => {
      const { api_key: key, token } = await createKeyViaApi(t, { scope: 'global', roles: ['services_editor'] });
      const write = () => t.request({ method: 'POST', url: '/api/v1/teams', token, payload: { name: unique('team') } });
      assertError(await write(), 403, 'insufficient_permissions');
      await patch(key.id, { read_only: true });
      assertError(await write(), 403, 'read_only_token');
      assert.equal(await statusOf(t, token), 200, 'reads still work');
    });

    test('allowed_cidrs: requests from elsewhere get 403 ip_not_allowed; an empty list allows any address', async () => {
      const { api_key: key, token } = await createKeyViaApi(t, { scope: 'global' });
      const from = (remoteAddress: string) => t.app.inject({ method: 'GET', url: '/api/v1/identity', remoteAddress, headers: { authorization: `Bearer ${token}` } });
      assert.equal((await from('203.0.113.9')).statusCode, 200);
      await patch(key.id, { allowed_cidrs: ['10.0.0.0/8', '2001:db8::/32'] });
      assertError(await from('203.0.113.9'), 403, 'ip_not_allowed');
      assertError(await from('127.0.0.1'), 403, 'ip_not_allowed');
      assert.equal((await from('10.20.30.40')).statusCode, 200);
      assert.equal((await from('::ffff:10.1.1.1')).statusCode, 200);
      assert.equal((await from('2001:db8::1')).statusCode, 200);
      await patch(key.id, { allowed_cidrs: [] });
      assert.equal((await from('203.0.113.9')).statusCode, 200);
    });

    test('expires_at: the key answers token_expired and shows as expired once it passes; null removes it', async () => {
      const { api_key: key, token } = await createKeyViaApi(t, { scope: 'global' });
      const at = new Date(t.clock.now().getTime() + 60_000).toISOString();
      await patch(key.id, { expires_at: at });
      assert.equal(await statusOf(t, token), 200);
      t.clock.advance(60_000);
      assertError(await t.request({ method: 'GET', url: '/api/v1/identity', token }), 401, 'token_expired');
      assert.equal((await showKey(t, key.id)).status, 'expired');
      const revived = json(await patch(key.id, { expires_at: null })).api_key;
      assert.equal(revived.status, 'active');
      assert.equal(revived.expires_at, null);
      assert.equal(await statusOf(t, token), 200);
    });

    test('debug: on for 48 hours from the moment it is switched on, then off by itself; false switches it off', async () => {
      const { api_key: key } = await createKeyViaApi(t, { scope: 'global' });
      const on = json(await patch(key.id, { debug: true })).api_key;
      const until = new Date(t.clock.now().getTime() + 2 * DAY).toISOString();
      assert.deepEqual(on.debug, { enabled: true, until });
      t.clock.advance(2 * DAY - 1000);
      assert.deepEqual((await showKey(t, key.id)).debug, { enabled: true, until });
      t.clock.advance(1000);
      assert.deepEqual((await showKey(t, key.id)).debug, { enabled: false, until: null });

      await patch(key.id, { debug: true });
      const off = json(await patch(key.id, { debug: false })).api_key;
      assert.deepEqual(off.debug, { enabled: false, until: null });
    });

    test('invalid patches: 400 validation_failed, the key unchanged', async () => {
      const { api_key: key } = await createKeyViaApi(t, { scope: 'global' });
      const past = new Date(t.clock.now().getTime() - 1000).toISOString();
      for (const body of [
        {},
        { scope: 'team' },
        { token_hint: 'lkg_…abcd' },
        { name: '' },
        { name: null },
        { roles: ['root'] },
        { roles: ['viewer', 'viewer'] },
        { read_only: 'yes' },
        { expires_at: past },
        { dedup_window_seconds: 86_401 },
        { rate_limit_per_minute: 0 },
        { allowed_cidrs: ['not-an-address'] },
      ]) {
        assertError(await patch(key.id, body), 400, 'validation_failed');
      }
      assert.deepEqual(await showKey(t, key.id), key);
    });

    test('an unknown id: 404 not_found', async () => {
      assertError(await patch(GHOST, { name: 'x' }), 404, 'not_found');
    });
  });
}

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, testDatabases, type TestApp } from '../support/harness.js';
import {
  assertError, createKeyViaApi, createWorld, DAY, json, showKey, statusOf, unique, type Json, type World,
} from '../support/fixtures.js';

const GHOST = '01J00000000000000000000000';
const INCIDENT_CREATOR = ['incidents:read', 'incidents:create', 'requests:read', 'requests:create', 'services:read', 'teams:read', 'users:read', 'workflows:read'];

for (const db of testDatabases()) {
  describe(`API key lifecycle on ${db.name}`, () => {
    let t: TestApp;
    let world: World;
    let owner: Json;

    before(async () => {
      t = await startTestApp(db);
      world = await createWorld(t);
      owner = json(await t.request({ method: 'GET', url: '/api/v1/identity', token: t.ownerToken })).api_key;
    });
    after(() => t.close());

    const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, token = t.ownerToken) =>
      t.request({ method, url: `/api/v1${url}`, token, ...(payload !== undefined && { payload: payload as object }) });
    const now = () => t.clock.now().toISOString();
    const ownerRef = () => ({ type: 'api_key', id: owner.id, name: owner.name });

    describe('create', () => {
      test('201 shows the token once; show and list never return it', async () => {
        const res = await call('POST', '/api_keys', { name: 'pager bridge', description: 'forwards alerts', scope: 'team', team_id: world.teamA, roles: ['incident_creator'] });
        assert.equal(res.statusCode, 201, res.body);
        const { api_key: key, token } = json(res);
        assert.match(token, /^lkt_[0-9A-Za-z]{36}$/);
        assert.equal(key.token_hint, `lkt_…${token.slice(-4)}`);
        assert.deepEqual(
          { ...key, id: undefined, updated_at: undefined },
          {
            id: undefined, name: 'pager bridge', description: 'forwards alerts', kind: 'rest', scope: 'team', team_id: world.teamA, service_id: null,
            owner_user_id: null, roles: ['incident_creator'], permissions: INCIDENT_CREATOR, read_only: false, status: 'active', expires_at: null,
            created_at: now(), created_by: ownerRef(), updated_at: undefined, disabled_at: null, disabled_by: null, revoked_at: null, revoked_by: null,
            token_hint: key.token_hint, token_last_issued_at: now(), last_used_at: null, last_used_ip: null, debug: { enabled: false, until: null },
            dedup_window_seconds: 600, rate_limit_per_minute: 960, allowed_cidrs: [], previous_token: null,
          },
        );
        const shown = await call('GET', `/api_keys/${key.id}`);
        const listed = await call('GET', `/api_keys?team_id=${world.teamA}`);
        for (const r of [shown, listed]) {
          assert.equal(r.statusCode, 200, r.body);
          assert.ok(!r.body.includes(token), 'the plain token never appears again');
          assert.ok(!r.body.includes(token.slice(4, -4)), 'not even its middle');
        }
        assert.equal(json(shown).api_key.token_hint, key.token_hint);
        assert.ok(json(listed).api_keys.some((k: Json) => k.id === key.id));
        const identity = json(await call('GET', '/identity', undefined, token));
        assert.equal(identity.api_key.id, key.id);
        assert.deepEqual(identity.permissions, INCIDENT_CREATOR);
      });

      test('each kind and scope gets its own token format; a service key carries its team', async () => {
        const global = await createKeyViaApi(t, { scope: 'global' });
        assert.match(global.token, /^lkg_[0-9A-Za-z]{36}$/);
        assert.deepEqual(global.api_key.roles, ['viewer'], 'viewer when no roles are given');
        const service = await createKeyViaApi(t, { scope: 'service', service_id: world.serviceA });
        assert.match(service.token, /^lks_[0-9A-Za-z]{36}$/);
        assert.equal(service.api_key.team_id, world.teamA);
        assert.equal(service.api_key.service_id, world.serviceA);
        const events = await createKeyViaApi(t, { kind: 'events', scope: 'service', service_id: world.serviceA });
        assert.match(events.token, /^lke[0-9a-z]{29}$/);
        assert.equal(events.api_key.token_hint, `lke…${events.token.slice(-4)}`);
        assert.deepEqual(events.api_key.roles, []);
      });

      test('optional settings are stored as given', async () => {
        const expires = new Date(t.clock.now().getTime() + 7 * DAY).toISOString();
        const { api_key: key } = await createKeyViaApi(t, {
          scope: 'global', roles: ['viewer', 'services_editor'], read_only: true, expires_at: expires, debug: true,
          dedup_window_seconds: 0, rate_limit_per_minute: 120, allowed_cidrs: ['10.0.0.0/8', '2001:db8::/32'],
        });
        assert.equal(key.read_only, true);
        assert.equal(key.expires_at, expires);
        assert.deepEqual(key.debug, { enabled: true, until: new Date(t.clock.now().getTime() + 2 * DAY).toISOString() });
        assert.equal(key.dedup_window_seconds, 0);
        assert.equal(key.rate_limit_per_minute, 120);
        assert.deepEqual(key.allowed_cidrs, ['10.0.0.0/8', '2001:db8::/32']);
        assert.deepEqual(await showKey(t, key.id), key);
      });

      test('invalid bodies: 400 validation_failed, nothing created', async () => {
        const before = json(await call('GET', '/api_keys?limit=200')).api_keys.length;
        const past = new Date(t.clock.now().getTime() - 1000).toISOString();
        for (const body of [
          { scope: 'global' },
          { name: '', scope: 'global' },
          { name: 'x', scope: 'everywhere' },
          { name: 'x', scope: 'global', colour: 'blue' },
          { name: 'x', scope: 'global', roles: ['superuser'] },
          { name: 'x', scope: 'team' },
          { name: 'x', scope: 'global', team_id: world.teamA },
          { name: 'x', scope: 'team', team_id: world.teamA, service_id: world.serviceA },
          { name: 'x', scope: 'service' },
          { name: 'x', scope: 'global', expires_at: past },
          { name: 'x', scope: 'global', expires_at: 'next tuesday' },
          { name: 'x', scope: 'global', allowed_cidrs: ['10.0.0.0/33'] },
          { name: 'x', scope: 'global', dedup_window_seconds: -1 },
          { name: 'x', kind: 'events', scope: 'global', roles: ['viewer'] },
          { name: 'x', kind: 'events', scope: 'team', team_id: world.teamA },
        ]) {
          assertError(await call('POST', '/api_keys', body), 400, 'validation_failed');
        }
        assert.equal(json(await call('GET', '/api_keys?limit=200')).api_keys.length, before);
      });

      test('an unknown team or service: 404 not_found', async () => {
        assertError(await call('POST', '/api_keys', { name: 'x', scope: 'team', team_id: GHOST }), 404, 'not_found');
        assertError(await call('POST', '/api_keys', { name: 'x', scope: 'service', service_id: GHOST }), 404, 'not_found');
        assertError(await call('GET', `/api_keys/${GHOST}`), 404, 'not_found');
      });
    });

    describe('rotate', () => {
      test('with a grace period: both tokens work, previous_token shows the old one, then it dies', async () => {
        const { api_key: key, token: old } = await createKeyViaApi(t, { scope: 'global' });
        t.clock.advance(60_000);
        const res = await call('POST', `/api_keys/${key.id}/rotate`, { grace_period_seconds: 300 });
        assert.equal(res.statusCode, 200, res.body);
        const rotated = json(res);
        assert.match(rotated.token, /^lkg_/);
        assert.notEqual(rotated.token, old);
        assert.equal(rotated.api_key.token_hint, `lkg_…${rotated.token.slice(-4)}`);
        assert.equal(rotated.api_key.token_last_issued_at, now());
        const validUntil = new Date(t.clock.now().getTime() + 300_000).toISOString();
        assert.deepEqual(rotated.api_key.previous_token, { token_hint: key.token_hint, valid_until: validUntil, last_used_at: null });

        assert.equal(await statusOf(t, old), 200);
        assert.equal(await statusOf(t, rotated.token), 200);
        const usedAt = now();
        await t.services.recorder.flush();
        const during = await showKey(t, key.id);
        assert.deepEqual(during.previous_token, { token_hint: key.token_hint, valid_until: validUntil, last_used_at: usedAt });
        assert.ok(!JSON.stringify(during).includes(rotated.token));

        t.clock.advance(300_000);
        assertError(await call('GET', '/identity', undefined, old), 401, 'token_rotated');
        assert.equal(await statusOf(t, rotated.token), 200);
        assert.equal((await showKey(t, key.id)).previous_token, null);
      });

      test('grace 0, or no body at all: the old token stops at once', async () => {
        for (const payload of [{ grace_period_seconds: 0 }, {}, undefined]) {
          const { api_key: key, token: old } = await createKeyViaApi(t, { scope: 'global' });
          assert.equal(await statusOf(t, old), 200);
          const res = await call('POST', `/api_keys/${key.id}/rotate`, payload);
          assert.equal(res.statusCode, 200, `${JSON.stringify(payload)}: ${res.body}`);
          assertError(await call('GET', '/identity', undefined, old), 401, 'token_rotated');
          assert.equal(await statusOf(t, json(res).token), 200);
          assert.equal(json(res).api_key.previous_token, null);
        }
      });

      test('rotating again during a grace ends the first grace at once', async () => {
        const { api_key: key, token: first } = await createKeyViaApi(t, { scope: 'global' });
        const second = json(await call('POST', `/api_keys/${key.id}/rotate`, { grace_period_seconds: 600 })).token;
        const third = json(await call('POST', `/api_keys/${key.id}/rotate`, { grace_period_seconds: 600 })).token;
        assertError(await call('GET', '/identity', undefined, first), 401, 'token_rotated');
        assert.equal(await statusOf(t, second), 200);
        assert.equal(await statusOf(t, third), 200);
        assert.equal((await showKey(t, key.id)).previous_token.token_hint, `lkg_…${second.slice(-4)}`);
      });

      test('a grace outside 0..3600 seconds: 400, and the token is unchanged', async () => {
        const { api_key: key, token } = await createKeyViaApi(t, { scope: 'global' });
        for (const grace of [-1, 3601, 1.5, '60']) {
          assertError(await call('POST', `/api_keys/${key.id}/rotate`, { grace_period_seconds: grace }), 400, 'validation_failed');
        }
        assert.equal(await statusOf(t, token), 200);
        assert.equal((await showKey(t, key.id)).token_hint, key.token_hint);
      });
    });

    describe('disable and enable', () => {
      test('disable records who and when and refuses the token; enable clears both and restores it', async () => {
        const { api_key: key, token } = await createKeyViaApi(t, { scope: 'global' });
        assert.equal(await statusOf(t, token), 200);
        t.clock.advance(1000);
        const disabledAt = now();
        const disabled = json(await call('POST', `/api_keys/${key.id}/disable`));
        assert.equal(disabled.api_key.status, 'disabled');
        assert.equal(disabled.api_key.disabled_at, disabledAt);
        assert.deepEqual(disabled.api_key.disabled_by, ownerRef());
        assertError(await call('GET', '/identity', undefined, token), 401, 'token_disabled');
        assert.equal(json(await call('POST', `/api_keys/${key.id}/disable`)).api_key.disabled_at, disabledAt, 'disabling twice changes nothing');

        t.clock.advance(1000);
        const enabled = json(await call('POST', `/api_keys/${key.id}/enable`));
        assert.equal(enabled.api_key.status, 'active');
        assert.equal(enabled.api_key.disabled_at, null);
        assert.equal(enabled.api_key.disabled_by, null);
        assert.deepEqual(await showKey(t, key.id), enabled.api_key);
        assert.equal(await statusOf(t, token), 200);
      });
    });

    describe('delete', () => {
      test('204, and the very next request with the token is token_revoked', async () => {
        const { api_key: key, token } = await createKeyViaApi(t, { scope: 'global' });
        assert.equal(await statusOf(t, token), 200, 'known, so it sits in the verification cache');
        const res = await call('DELETE', `/api_keys/${key.id}`);
        assert.equal(res.statusCode, 204);
        assert.equal(res.body, '');
        assertError(await call('GET', '/identity', undefined, token), 401, 'token_revoked');
        const shown = await showKey(t, key.id);
        assert.equal(shown.status, 'revoked');
        assert.equal(shown.revoked_at, now());
        assert.deepEqual(shown.revoked_by, ownerRef());
        assert.equal((await call('DELETE', `/api_keys/${key.id}`)).statusCode, 204, 'deleting again is harmless');
      });

      test('a revoked key cannot be changed, rotated or re-enabled: 409 conflict', async () => {
        const { api_key: key, token } = await createKeyViaApi(t, { scope: 'global' });
        await call('DELETE', `/api_keys/${key.id}`);
        assertError(await call('PATCH', `/api_keys/${key.id}`, { name: unique('revived') }), 409, 'conflict');
        assertError(await call('POST', `/api_keys/${key.id}/rotate`, { grace_period_seconds: 0 }), 409, 'conflict');
        assertError(await call('POST', `/api_keys/${key.id}/enable`), 409, 'conflict');
        assertError(await call('POST', `/api_keys/${key.id}/disable`), 409, 'conflict');
        assertError(await call('GET', '/identity', undefined, token), 401, 'token_revoked');
        assert.equal((await showKey(t, key.id)).name, key.name);
      });
    });
  });
}

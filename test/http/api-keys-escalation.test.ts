import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, testDatabases, type TestApp } from '../support/harness.js';
import {
  assertError, createService, createWorld, DAY, HOUR, json, operator, operatorKey, showKey, statusOf, unique, type Issued, type World,
} from '../support/fixtures.js';

const ALL_PERMISSIONS = [
  'incidents:read', 'incidents:create', 'incidents:write', 'requests:read', 'requests:create', 'services:read', 'services:write',
  'teams:read', 'teams:write', 'users:read', 'users:write', 'workflows:read', 'workflows:write',
  'api_keys:read', 'api_keys:write', 'api_logs:read', 'audit:read',
];

for (const db of testDatabases()) {
  describe(`API key management rules (contract §3) on ${db.name}`, () => {
    let t: TestApp;
    let world: World;
    /** Manages team A's keys and holds incident_creator there. */
    let teamManager: Issued;

    before(async () => {
      t = await startTestApp(db);
      world = await createWorld(t);
      teamManager = await operatorKey(t, { scope: 'team', team_id: world.teamA, roles: ['api_keys_manage', 'incident_creator'] });
    });
    after(() => t.close());

    const create = (token: string, payload: Record<string, unknown>) =>
      t.request({ method: 'POST', url: '/api/v1/api_keys', token, payload: { name: unique('key'), ...payload } });
    const act = (token: string, method: 'GET' | 'PATCH' | 'POST' | 'DELETE', id: string, suffix = '', payload?: object) =>
      t.request({ method, url: `/api/v1/api_keys/${id}${suffix}`, token, ...(payload && { payload }) });
    const inA = (roles: string[]) => operatorKey(t, { scope: 'team', team_id: world.teamA, roles: roles as never });
    const later = (ms: number) => new Date(t.clock.now().getTime() + ms).toISOString();

    describe('rule 1–2: scope', () => {
      test('a team key creates keys for its team and the team\'s services, nowhere else', async () => {
        assert.equal((await create(teamManager.token, { scope: 'team', team_id: world.teamA })).statusCode, 201);
        assert.equal((await create(teamManager.token, { scope: 'service', service_id: world.serviceA })).statusCode, 201);
        assertError(await create(teamManager.token, { scope: 'team', team_id: world.teamB }), 403, 'out_of_scope');
        assertError(await create(teamManager.token, { scope: 'service', service_id: world.serviceB }), 403, 'out_of_scope');
        assertError(await create(teamManager.token, { scope: 'global' }), 403, 'out_of_scope');
      });

      test('a team key cannot see or touch another team\'s keys, nor global ones: 404 as if absent', async () => {
        const other = await operatorKey(t, { scope: 'team', team_id: world.teamB, roles: ['viewer'] });
        const global = await operatorKey(t, { scope: 'global', roles: ['viewer'] });
        for (const target of [other, global]) {
          const before = await showKey(t, target.id);
          assertError(await act(teamManager.token, 'GET', target.id), 404, 'not_found');
          assertError(await act(teamManager.token, 'PATCH', target.id, '', { name: 'mine now' }), 404, 'not_found');
          assertError(await act(teamManager.token, 'POST', target.id, '/rotate', { grace_period_seconds: 0 }), 404, 'not_found');
          assertError(await act(teamManager.token, 'POST', target.id, '/disable'), 404, 'not_found');
          assertError(await act(teamManager.token, 'DELETE', target.id), 404, 'not_found');
          assert.deepEqual(await showKey(t, target.id), before);
          assert.equal(await statusOf(t, target.token), 200);
        }
      });

      test('a service key manages keys of its own service only', async () => {
        const otherServiceInA = await createService(t, world.teamA);
        const serviceManager = await operatorKey(t, { scope: 'service', service_id: world.serviceA, roles: ['api_keys_manage', 'viewer'] });
        const made = await create(serviceManager.token, { scope: 'service', service_id: world.serviceA });
        assert.equal(made.statusCode, 201, made.body);
        assertError(await create(serviceManager.token, { scope: 'service', service_id: otherServiceInA }), 403, 'out_of_scope');
        assertError(await create(serviceManager.token, { scope: 'team', team_id: world.teamA }), 403, 'out_of_scope');
        const teamKey = await inA(['viewer']);
        assertError(await act(serviceManager.token, 'GET', teamKey.id), 404, 'not_found');
        assertError(await act(serviceManager.token, 'DELETE', teamKey.id), 404, 'not_found');
        assert.equal(await statusOf(t, teamKey.token), 200);
      });

      test('a global caller manages global keys', async () => {
        const globalManager = await operatorKey(t, { scope: 'global', roles: ['api_keys_manage', 'viewer'] });
        const made = await create(globalManager.token, { scope: 'global', roles: ['viewer'] });
        assert.equal(made.statusCode, 201, made.body);
        const id = json(made).api_key.id;
        assert.equal((await act(globalManager.token, 'PATCH', id, '', { name: 'renamed' })).statusCode, 200);
        assert.equal((await act(globalManager.token, 'POST', id, '/rotate', { grace_period_seconds: 0 })).statusCode, 200);
        assert.equal((await act(globalManager.token, 'DELETE', id)).statusCode, 204);
      });
    });

    describe('rule 2: permissions a subset of the caller\'s', () => {
      test('granting a permission the caller lacks: 403 escalation_denied naming it, nothing created or changed', async () => {
        const denied = assertError(await create(teamManager.token, { scope: 'team', team_id: world.teamA, roles: ['incident_editor'] }), 403, 'escalation_denied');
        assert.match(denied.message, /incidents:write/);
        const services = assertError(await create(teamManager.token, { scope: 'team', team_id: world.teamA, roles: ['services_editor'] }), 403, 'escalation_denied');
        assert.match(services.message, /services:write/);

        const target = await inA(['viewer']);
        assertError(await act(teamManager.token, 'PATCH', target.id, '', { roles: ['incident_editor'] }), 403, 'escalation_denied');
        assert.deepEqual((await showKey(t, target.id)).roles, ['viewer']);
        const patched = await act(teamManager.token, 'PATCH', target.id, '', { roles: ['incident_creator'] });
        assert.equal(patched.statusCode, 200, 'a subset may be granted');
        assert.equal((await create(teamManager.token, { scope: 'team', team_id: world.teamA, roles: ['viewer', 'incident_creator'] })).statusCode, 201);
      });

      test('a manager holding only viewer permissions cannot grant incident_creator', async () => {
        const globalViewerManager = await operatorKey(t, { scope: 'global', roles: ['api_keys_manage', 'viewer'] });
        const error = assertError(await create(globalViewerManager.token, { scope: 'team', team_id: world.teamA, roles: ['incident_creator'] }), 403, 'escalation_denied');
        assert.match(error.message, /incidents:create/);
      });
    });

    describe('rule 3: api_keys_manage and admin are not granted with an API key', () => {
      test('not even the owner\'s admin key may grant them, on create or update', async () => {
        for (const role of ['api_keys_manage', 'admin']) {
          const error = assertError(await create(t.ownerToken, { scope: 'global', roles: [role] }), 403, 'escalation_denied');
          assert.ok(error.message.includes(role), error.message);
          assertError(await create(teamManager.token, { scope: 'team', team_id: world.teamA, roles: [role] }), 403, 'escalation_denied');
        }
        const target = await operatorKey(t, { scope: 'global', roles: ['viewer'] });
        assertError(await act(t.ownerToken, 'PATCH', target.id, '', { roles: ['viewer', 'api_keys_manage'] }), 403, 'escalation_denied');
        assert.deepEqual((await showKey(t, target.id)).roles, ['viewer']);
      });

      test('the operator (CLI) grants them, and the key then holds every permission', async () => {
        const admin = await operatorKey(t, { scope: 'global', roles: ['admin'] });
        const identity = json(await t.request({ method: 'GET', url: '/api/v1/identity', token: admin.token }));
        assert.deepEqual(identity.permissions, ALL_PERMISSIONS);
        const manager = await operatorKey(t, { scope: 'team', team_id: world.teamB, roles: ['api_keys_manage'] });
        assert.deepEqual(json(await t.request({ method: 'GET', url: '/api/v1/identity', token: manager.token })).api_key.roles, ['api_keys_manage']);
      });
    });

    describe('rule 4: a caller that expires cannot make a key outlive it', () => {
      test('create: no expiry or a later one is escalation_denied; up to the caller\'s own moment is fine', async () => {
        const callerExpiry = later(DAY);
        const caller = await operatorKey(t, { scope: 'global', roles: ['api_keys_manage', 'viewer'], expires_at: callerExpiry });
        const noExpiry = assertError(await create(caller.token, { scope: 'global' }), 403, 'escalation_denied');
        assert.ok(noExpiry.message.includes(callerExpiry), noExpiry.message);
        assertError(await create(caller.token, { scope: 'global', expires_at: later(DAY + 1000) }), 403, 'escalation_denied');
        assert.equal((await create(caller.token, { scope: 'global', expires_at: callerExpiry })).statusCode, 201);
        assert.equal((await create(caller.token, { scope: 'global', expires_at: later(HOUR) })).statusCode, 201);
      });

      test('update: removing or pushing back a target\'s expiry past the caller\'s is escalation_denied', async () => {
        const caller = await operatorKey(t, { scope: 'global', roles: ['api_keys_manage', 'viewer'], expires_at: later(DAY) });
        const target = await operatorKey(t, { scope: 'global', roles: ['viewer'], expires_at: later(HOUR) });
        assertError(await act(caller.token, 'PATCH', target.id, '', { expires_at: null }), 403, 'escalation_denied');
        assertError(await act(caller.token, 'PATCH', target.id, '', { expires_at: later(2 * DAY) }), 403, 'escalation_denied');
        assert.equal((await showKey(t, target.id)).expires_at, later(HOUR));
        const extended = await act(caller.token, 'PATCH', target.id, '', { expires_at: later(2 * HOUR) });
        assert.equal(extended.statusCode, 200, extended.body);
        const unlimited = await operatorKey(t, { scope: 'global', roles: ['viewer'] });
        assert.equal((await act(caller.token, 'PATCH', unlimited.id, '', { expires_at: later(HOUR) })).statusCode, 200, 'shortening is fine');
      });

      test('rotate: a caller cannot take a fresh token of a key that outlives it', async () => {
        const caller = await operatorKey(t, { scope: 'global', roles: ['api_keys_manage', 'viewer'], expires_at: later(DAY) });
        for (const expiresAt of [undefined, later(2 * DAY)]) {
          const target = await operatorKey(t, { scope: 'global', roles: ['viewer'], ...(expiresAt && { expires_at: expiresAt }) });
          assertError(await act(caller.token, 'POST', target.id, '/rotate', { grace_period_seconds: 0 }), 403, 'escalation_denied');
          assert.equal(await statusOf(t, target.token), 200, 'the old token was not replaced');
        }
        const shortLived = await operatorKey(t, { scope: 'global', roles: ['viewer'], expires_at: later(HOUR) });
        assert.equal((await act(caller.token, 'POST', shortLived.id, '/rotate', { grace_period_seconds: 0 })).statusCode, 200);
      });

      test('enable: a caller cannot bring back a key that outlives it, though it may disable one', async () => {
        const caller = await operatorKey(t, { scope: 'global', roles: ['api_keys_manage', 'viewer'], expires_at: later(DAY) });
        for (const expiresAt of [undefined, later(2 * DAY)]) {
          const target = await operatorKey(t, { scope: 'global', roles: ['viewer'], ...(expiresAt && { expires_at: expiresAt }) });
          assert.equal((await act(caller.token, 'POST', target.id, '/disable')).statusCode, 200, 'containing a key is always allowed');
          assertError(await act(caller.token, 'POST', target.id, '/enable'), 403, 'escalation_denied');
          assert.equal((await showKey(t, target.id)).status, 'disabled');
          assert.equal(await statusOf(t, target.token), 401, 'the token stays refused');
        }
        const shortLived = await operatorKey(t, { scope: 'global', roles: ['viewer'], expires_at: later(HOUR) });
        assert.equal((await act(caller.token, 'POST', shortLived.id, '/disable')).statusCode, 200);
        assert.equal((await act(caller.token, 'POST', shortLived.id, '/enable')).statusCode, 200);
      });
    });

    describe('rule 4 for addresses: a caller that works only from some addresses cannot make a key that works from others', () => {
      // Requests here come from 127.0.0.1.
      const restricted = () => operatorKey(t, { scope: 'global', roles: ['api_keys_manage', 'viewer'], allowed_cidrs: ['127.0.0.0/8'] });

      test('create: no allow-list, or one reaching beyond the caller\'s, is escalation_denied; one inside it is fine', async () => {
        const caller = await restricted();
        const anywhere = assertError(await create(caller.token, { scope: 'global' }), 403, 'escalation_denied');
        assert.match(anywhere.message, /127\.0\.0\.0\/8.*any address/);
        for (const beyond of [['10.0.0.0/8'], ['127.0.0.0/7'], ['127.0.0.1', '::1'], ['::ffff:127.0.0.1']]) {
          assertError(await create(caller.token, { scope: 'global', allowed_cidrs: beyond }), 403, 'escalation_denied');
        }
        const inside = await create(caller.token, { scope: 'global', allowed_cidrs: ['127.0.0.1', '127.1.0.0/16', '127.0.0.0/8'] });
        assert.equal(inside.statusCode, 201, inside.body);
        assertError(await create(caller.token, { scope: 'global', allowed_cidrs: ['not-a-cidr'] }), 400, 'validation_failed');
      });

      test('update: widening a target\'s allow-list past the caller\'s is escalation_denied; other changes and narrowing are fine', async () => {
        const caller = await restricted();
        const target = await operatorKey(t, { scope: 'global', roles: ['viewer'], allowed_cidrs: ['127.0.0.1'] });
        assertError(await act(caller.token, 'PATCH', target.id, '', { allowed_cidrs: [] }), 403, 'escalation_denied');
        assertError(await act(caller.token, 'PATCH', target.id, '', { allowed_cidrs: ['0.0.0.0/0'] }), 403, 'escalation_denied');
        assert.deepEqual((await showKey(t, target.id)).allowed_cidrs, ['127.0.0.1']);
        assert.equal((await act(caller.token, 'PATCH', target.id, '', { allowed_cidrs: ['127.0.0.0/24'] })).statusCode, 200);
        const wide = await operatorKey(t, { scope: 'global', roles: ['viewer'] });
        assert.equal((await act(caller.token, 'PATCH', wide.id, '', { name: 'renamed' })).statusCode, 200, 'a change that leaves the list alone');
        assert.equal((await act(caller.token, 'PATCH', wide.id, '', { allowed_cidrs: ['127.0.0.1'] })).statusCode, 200, 'narrowing');
      });

      test('rotate: a caller cannot take a fresh token of a key that works from more places', async () => {
        const caller = await restricted();
        const wide = await operatorKey(t, { scope: 'global', roles: ['viewer'] });
        assertError(await act(caller.token, 'POST', wide.id, '/rotate', { grace_period_seconds: 0 }), 403, 'escalation_denied');
        assert.equal(await statusOf(t, wide.token), 200, 'the old token was not replaced');
        const inside = await operatorKey(t, { scope: 'global', roles: ['viewer'], allowed_cidrs: ['127.0.0.1'] });
        assert.equal((await act(caller.token, 'POST', inside.id, '/rotate', { grace_period_seconds: 0 })).statusCode, 200);
      });

      test('enable: a caller cannot bring back a key that works from more places', async () => {
        const caller = await restricted();
        const wide = await operatorKey(t, { scope: 'global', roles: ['viewer'] });
        assert.equal((await act(caller.token, 'POST', wide.id, '/disable')).statusCode, 200);
        assertError(await act(caller.token, 'POST', wide.id, '/enable'), 403, 'escalation_denied');
        assert.equal((await showKey(t, wide.id)).status, 'disabled');
        const inside = await operatorKey(t, { scope: 'global', roles: ['viewer'], allowed_cidrs: ['127.0.0.1'] });
        assert.equal((await act(caller.token, 'POST', inside.id, '/disable')).statusCode, 200);
        assert.equal((await act(caller.token, 'POST', inside.id, '/enable')).statusCode, 200);
      });
    });

    describe('rule 5: delete compares no permissions, but the scope applies', () => {
      test('a key-manager with no other permission deletes a more powerful key of its team', async () => {
        const bareManager = await inA(['api_keys_manage']);
        for (const roles of [['incident_editor'], ['admin']]) {
          const target = await inA(roles);
          const res = await act(bareManager.token, 'DELETE', target.id);
          assert.equal(res.statusCode, 204, res.body);
          assertError(await t.request({ method: 'GET', url: '/api/v1/identity', token: target.token }), 401, 'token_revoked');
        }
        const elsewhere = await operatorKey(t, { scope: 'team', team_id: world.teamB, roles: ['viewer'] });
        assertError(await act(bareManager.token, 'DELETE', elsewhere.id), 404, 'not_found');
        assert.equal(await statusOf(t, elsewhere.token), 200);
      });

      test('a key without api_keys:write cannot delete: 403 insufficient_permissions', async () => {
        const viewer = await inA(['viewer']);
        const target = await inA(['viewer']);
        assertError(await act(viewer.token, 'DELETE', target.id), 403, 'insufficient_permissions');
        assert.equal(await statusOf(t, target.token), 200);
      });
    });

    describe('changing a more powerful key is refused', () => {
      test('rotate, patch (even just its name or lowering its roles) and enable: escalation_denied, nothing changes', async () => {
        const target = await inA(['incident_editor']);
        const before = await showKey(t, target.id);
        assertError(await act(teamManager.token, 'POST', target.id, '/rotate', { grace_period_seconds: 0 }), 403, 'escalation_denied');
        assertError(await act(teamManager.token, 'PATCH', target.id, '', { name: 'taken over' }), 403, 'escalation_denied');
        assertError(await act(teamManager.token, 'PATCH', target.id, '', { roles: ['viewer'] }), 403, 'escalation_denied');
        assert.deepEqual(await showKey(t, target.id), before);
        assert.equal(await statusOf(t, target.token), 200, 'the token still works: it was not rotated');

        await operator.disable(t, target.id);
        assertError(await act(teamManager.token, 'POST', target.id, '/enable'), 403, 'escalation_denied');
        assertError(await t.request({ method: 'GET', url: '/api/v1/identity', token: target.token }), 401, 'token_disabled');
      });

      test('the same changes on a key holding no more than the caller succeed', async () => {
        const target = await inA(['incident_creator']);
        assert.equal((await act(teamManager.token, 'PATCH', target.id, '', { name: 'fine' })).statusCode, 200);
        assert.equal((await act(teamManager.token, 'POST', target.id, '/disable')).statusCode, 200);
        assert.equal((await act(teamManager.token, 'POST', target.id, '/enable')).statusCode, 200);
        const rotated = await act(teamManager.token, 'POST', target.id, '/rotate', { grace_period_seconds: 0 });
        assert.equal(rotated.statusCode, 200, rotated.body);
        assert.equal(await statusOf(t, json(rotated).token), 200);
      });
    });
  });
}

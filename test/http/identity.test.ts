import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { permissionsOfRoles, sortPermissions, PERMISSIONS, type Permission, type RoleName } from '../../src/domain/access/permissions.js';
import { NO_REQUEST } from '../../src/domain/audit/audit-event.js';
import { sessionActor } from '../../src/domain/users/access.js';
import { OPERATOR } from '../../src/services/setup.js';
import { startTestApp, testDatabases, type TestApp } from '../support/harness.js';
import { asSession, createService, createTeam, createUser, expectError, expectStatus, signIn } from '../support/platform.js';

// Responses are read as loose JSON: tests check what a client would see.
type Json = any;

/**
 * GET /api/v1/identity on the cached path: the key, actor and presentation are remembered per key
 * object between requests, so these check that what depends on time or on the user stays live.
 */
for (const db of testDatabases()) {
  describe(`identity on ${db.name}`, () => {
    let t: TestApp;
    let n = 0;
    before(async () => {
      t = await startTestApp(db);
    });
    after(() => t.close());

    const identity = (token: string) => t.request({ method: 'GET', url: '/api/v1/identity', token });
    async function ok(token: string): Promise<Json> {
      const res = await identity(token);
      assert.equal(res.statusCode, 200, res.body);
      return res.json();
    }
    async function issue(spec: Record<string, unknown> = {}) {
      const issued = await t.services.apiKeys.create(OPERATOR, { name: `identity ${++n}`, scope: 'global', roles: ['viewer'], ...spec }, NO_REQUEST);
      return { id: issued.apiKey.id, token: issued.token };
    }

    test('repeated requests answer the same key and permissions, with the last use filled in from the one before', async () => {
      const key = await issue({ roles: ['incident_editor'] });
      const first = await ok(key.token);
      assert.equal(first.api_key.last_used_at, null);
      t.clock.advance(1500);
      const second = await ok(key.token);
      assert.equal(second.api_key.last_used_at, first.api_key.created_at, 'the first request, at the creation instant');
      assert.equal(typeof second.api_key.last_used_ip, 'string');
      const { last_used_at: _a, last_used_ip: _b, ...rest1 } = first.api_key;
      const { last_used_at: _c, last_used_ip: _d, ...rest2 } = second.api_key;
      assert.deepEqual(rest2, rest1);
      assert.deepEqual(second.permissions, sortPermissions(permissionsOfRoles(['incident_editor'])));
      assert.deepEqual(second.api_key.permissions, second.permissions);
      assert.equal(second.user, null);
    });

    test('a cached key stops working the moment the clock reaches its expiry', async () => {
      const expiresAt = new Date(t.clock.now().getTime() + 10_000);
      const key = await issue({ expires_at: expiresAt.toISOString() });
      assert.equal((await ok(key.token)).api_key.status, 'active');
      t.clock.set(new Date(expiresAt.getTime() - 1));
      const last = await ok(key.token);
      assert.deepEqual([last.api_key.status, last.api_key.expires_at], ['active', expiresAt.toISOString()]);
      t.clock.set(expiresAt);
      const refused = await identity(key.token);
      assert.deepEqual([refused.statusCode, refused.json().error.code], [401, 'token_expired']);
    });

    test('revoking and disabling take effect on the very next request', async () => {
      const revoked = await issue();
      await ok(revoked.token);
      await t.services.apiKeys.revoke(OPERATOR, revoked.id, NO_REQUEST);
      assert.equal((await identity(revoked.token)).json().error.code, 'token_revoked');

      const disabled = await issue();
      await ok(disabled.token);
      await t.services.apiKeys.setEnabled(OPERATOR, disabled.id, false, NO_REQUEST);
      assert.equal((await identity(disabled.token)).json().error.code, 'token_disabled');
      await t.services.apiKeys.setEnabled(OPERATOR, disabled.id, true, NO_REQUEST);
      await ok(disabled.token);
    });

    test("a personal token's permissions follow its user's demotion on the very next request", async () => {
      const user = await t.services.users.create(OPERATOR, { email: `identity-${++n}@example.com`, password: 'a long enough password', role: 'admin' }, NO_REQUEST);
      const { token } = await t.services.apiKeys.createOwn(sessionActor(user, []), { name: 'mine', roles: ['admin'] }, NO_REQUEST);
      const asAdmin = await ok(token);
      assert.deepEqual(asAdmin.permissions, sortPermissions(permissionsOfRoles(['admin'])));
      assert.deepEqual(asAdmin.user, { id: user.id, email: user.email, name: user.name, role: 'admin' });
      assert.deepEqual(asAdmin.api_key.roles, ['admin'], 'the key keeps its roles; what it may do is cut down');

      await t.services.users.update(OPERATOR, user.id, { role: 'viewer' }, NO_REQUEST);
      const asViewer = await ok(token);
      assert.deepEqual(asViewer.permissions, sortPermissions(permissionsOfRoles(['viewer'])));
      assert.equal(asViewer.user.role, 'viewer');
      const write = await t.request({ method: 'POST', url: '/api/v1/teams', token, payload: { name: `refused ${n}` } });
      assert.deepEqual([write.statusCode, write.json().error.code], [403, 'insufficient_permissions']);

      await t.services.users.update(OPERATOR, user.id, { role: 'admin' }, NO_REQUEST);
      assert.deepEqual((await ok(token)).permissions, sortPermissions(permissionsOfRoles(['admin'])));
    });

    const ofRoles = (...roles: RoleName[]) => sortPermissions(permissionsOfRoles(roles));

    test('grants say where each permission holds: everywhere for a global key, its team for a team key, its service for a service key', async () => {
      const team = await createTeam(t);
      const service = (await createService(t, team)).id as string;

      const global = await ok((await issue({ roles: ['viewer'] })).token);
      assert.deepEqual(global.grants, [{ scope: 'global', permissions: ofRoles('viewer') }]);

      const teamToken = (await issue({ scope: 'team', team_id: team, roles: ['incident_editor'] })).token;
      const teamKey = await ok(teamToken);
      assert.deepEqual(teamKey.grants, [{ scope: 'team', team_ids: [team], permissions: ofRoles('incident_editor') }]);
      assert.deepEqual(teamKey.permissions, ofRoles('incident_editor'), 'permissions stays the flat list it was');

      const serviceKey = await ok((await issue({ scope: 'service', service_id: service, roles: ['services_editor'] })).token);
      assert.deepEqual(serviceKey.grants, [{ scope: 'service', service_ids: [service], permissions: ofRoles('services_editor') }]);

      // Asked again, on the cached path (the key's actor and its grants are remembered): the same answer.
      assert.deepEqual((await ok(teamToken)).grants, teamKey.grants);
    });

    test("a signed-in viewer who manages one team: the account role's permissions everywhere, a manager's in that team only", async () => {
      const [teamA, teamB] = [await createTeam(t), await createTeam(t)];
      const user = await createUser(t, 'viewer');
      assert.equal((await t.request({ method: 'PUT', url: `/api/v1/teams/${teamA}/members/${user.id}`, token: t.ownerToken, payload: { role: 'manager' } })).statusCode, 204);
      const session = asSession(t, await signIn(t, user.email));
      const body = expectStatus(await session.get('/identity'), 200);
      const manager = sortPermissions([
        ...permissionsOfRoles(['incident_editor', 'services_editor']), 'teams:write', 'api_keys:read', 'api_keys:write', 'api_logs:read', 'audit:read',
      ] as Permission[]);
      assert.equal(body.api_key, null);
      assert.equal(body.user.id, user.id);
      assert.deepEqual(body.grants, [
        { scope: 'global', permissions: ofRoles('viewer') },
        { scope: 'team', team_ids: [teamA], permissions: manager },
      ]);
      assert.deepEqual(body.permissions, sortPermissions(new Set([...ofRoles('viewer'), ...manager])), 'the flat list is the union');
      // What the grants say is what the API decides: teams:write in team A, not in team B.
      expectStatus(await session.patch(`/teams/${teamA}`, { description: 'mine' }), 200);
      expectError(await session.patch(`/teams/${teamB}`, { description: 'not mine' }), 403, 'out_of_scope');

      // A personal token of theirs holds its roles only where the user does.
      const token = expectStatus(await session.post('/users/me/api_keys', { name: 'mine', roles: ['incident_editor'] }), 201).token as string;
      assert.deepEqual((await ok(token)).grants, [
        { scope: 'global', permissions: ofRoles('viewer') },
        { scope: 'team', team_ids: [teamA], permissions: ofRoles('incident_editor') },
      ]);

      const owner = expectStatus(await asSession(t, await signIn(t, 'owner@example.com', 'correct horse battery staple')).get('/identity'), 200);
      assert.deepEqual(owner.grants, [{ scope: 'global', permissions: sortPermissions(PERMISSIONS) }]);
    });

    test('GET /roles marks api_keys_manage and admin privileged, and no other role', async () => {
      const { roles } = expectStatus(await t.request({ method: 'GET', url: '/api/v1/roles', token: t.ownerToken }), 200);
      assert.deepEqual(roles.map((r: Json) => [r.name, r.privileged]), [
        ['viewer', false], ['incident_creator', false], ['incident_editor', false], ['services_editor', false],
        ['api_keys_manage', true], ['admin', true],
      ]);
    });

    test('may_grant_privileged_roles is true for a signed-in owner or admin only, and the API decides the same', async () => {
      const team = await createTeam(t);
      const grant = { name: `privileged ${++n}`, scope: 'team', team_id: team, roles: ['api_keys_manage'] };

      const owner = asSession(t, await signIn(t, 'owner@example.com', 'correct horse battery staple'));
      assert.equal(expectStatus(await owner.get('/identity'), 200).may_grant_privileged_roles, true);
      expectStatus(await owner.post('/api_keys', grant), 201);
      const admin = asSession(t, await signIn(t, (await createUser(t, 'admin')).email));
      assert.equal(expectStatus(await admin.get('/identity'), 200).may_grant_privileged_roles, true);

      // A member who manages the team holds every permission api_keys_manage gives there, but not the power to grant it.
      const member = await createUser(t, 'member');
      assert.equal((await t.request({ method: 'PUT', url: `/api/v1/teams/${team}/members/${member.id}`, token: t.ownerToken, payload: { role: 'manager' } })).statusCode, 204);
      const manager = asSession(t, await signIn(t, member.email));
      assert.equal(expectStatus(await manager.get('/identity'), 200).may_grant_privileged_roles, false);
      expectError(await manager.post('/api_keys', grant), 403, 'escalation_denied');
      expectStatus(await manager.post('/api_keys', { ...grant, roles: ['incident_editor'] }), 201);

      // Any API key, even the owner's global admin key or the owner's own personal token: false.
      assert.equal((await ok(t.ownerToken)).may_grant_privileged_roles, false);
      expectError(await t.request({ method: 'POST', url: '/api/v1/api_keys', token: t.ownerToken, payload: grant }), 403, 'escalation_denied');
      const personal = expectStatus(await owner.post('/users/me/api_keys', { name: 'mine', roles: ['admin'] }), 201).token as string;
      assert.equal((await ok(personal)).may_grant_privileged_roles, false);
    });

    test('/openapi.json documents grants and may_grant_privileged_roles in the identity response, privileged in the roles response', async () => {
      const spec = JSON.parse((await t.request({ method: 'GET', url: '/openapi.json' })).body);
      const schema = spec.paths['/api/v1/identity'].get.responses['200'].content['application/json'].schema;
      assert.ok(schema.required.includes('grants'));
      const item = schema.properties.grants.items;
      assert.deepEqual(Object.keys(item.properties), ['scope', 'team_ids', 'service_ids', 'permissions']);
      assert.deepEqual(item.properties.scope.enum, ['global', 'team', 'service']);
      assert.deepEqual([...item.required].sort(), ['permissions', 'scope']);
      assert.ok(schema.required.includes('may_grant_privileged_roles'));
      assert.equal(schema.properties.may_grant_privileged_roles.type, 'boolean');
      const role = spec.paths['/api/v1/roles'].get.responses['200'].content['application/json'].schema.properties.roles.items;
      assert.ok(role.required.includes('privileged'));
      assert.equal(role.properties.privileged.type, 'boolean');
    });

    test('authentication outcomes are counted in /metrics', async () => {
      const key = await issue();
      const count = async (outcome: string) => {
        const text = (await t.request({ method: 'GET', url: '/metrics' })).body;
        const line = text.split('\n').find((l) => l.startsWith(`latchkey_auth_outcomes_total{outcome="${outcome}"}`));
        return line ? Number(line.split(' ').at(-1)) : 0;
      };
      const [okBefore, invalidBefore] = [await count('ok'), await count('invalid_token')];
      for (let i = 0; i < 3; i++) await ok(key.token);
      // Its last character changed (to x, or to y for a token that ends in x): the checksum no longer holds.
      await identity(`${key.token.slice(0, -1)}${key.token.endsWith('x') ? 'y' : 'x'}`);
      assert.equal(await count('ok'), okBefore + 3);
      assert.equal(await count('invalid_token'), invalidBefore + 1);
      assert.equal(await count('ok'), okBefore + 3, 'reading the metrics twice counts nothing twice');
    });
  });
}

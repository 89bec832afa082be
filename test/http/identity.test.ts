import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { permissionsOfRoles, sortPermissions } from '../../src/domain/access/permissions.js';
import { NO_REQUEST } from '../../src/domain/audit/audit-event.js';
import { sessionActor } from '../../src/domain/users/access.js';
import { OPERATOR } from '../../src/services/setup.js';
import { startTestApp, testDatabases, type TestApp } from '../support/harness.js';

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

    test('authentication outcomes are counted in /metrics', async () => {
      const key = await issue();
      const count = async (outcome: string) => {
        const text = (await t.request({ method: 'GET', url: '/metrics' })).body;
        const line = text.split('\n').find((l) => l.startsWith(`latchkey_auth_outcomes_total{outcome="${outcome}"}`));
        return line ? Number(line.split(' ').at(-1)) : 0;
      };
      const [okBefore, invalidBefore] = [await count('ok'), await count('invalid_token')];
      for (let i = 0; i < 3; i++) await ok(key.token);
      await identity(`${key.token.slice(0, -1)}x`);
      assert.equal(await count('ok'), okBefore + 3);
      assert.equal(await count('invalid_token'), invalidBefore + 1);
      assert.equal(await count('ok'), okBefore + 3, 'reading the metrics twice counts nothing twice');
    });
  });
}

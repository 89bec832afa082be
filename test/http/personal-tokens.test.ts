import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ROLES } from '../../src/domain/access/permissions.js';
import type { AccountRole } from '../../src/domain/users/user.js';
import { startTestApp, testDatabases, type TestApp } from '../support/harness.js';
import { asSession, client, createUser, expectError, expectStatus, PASSWORD, signIn, type Json } from '../support/platform.js';

const OWNER = { email: 'owner@example.com', password: 'correct horse battery staple' };
const permissionsOf = (role: string) => [...ROLES.find((r) => r.name === role)!.permissions].sort();
const TOKEN = /^lku_[0-9A-Za-z]{36}$/;

for (const db of testDatabases()) {
  describe(`personal tokens on ${db.name}`, () => {
    let t: TestApp;
    let api: ReturnType<typeof client>;
    let owner: ReturnType<typeof asSession>;

    before(async () => {
      t = await startTestApp(db);
      api = client(t);
      owner = asSession(t, await signIn(t, OWNER.email, OWNER.password));
    });
    after(() => t.close());

    /** A user of that account role, signed in. */
    async function person(role: AccountRole = 'member') {
      const user = await createUser(t, role);
      return { ...user, session: asSession(t, await signIn(t, user.email)) };
    }
    async function mint(session: ReturnType<typeof asSession>, body: object = {}): Promise<{ api_key: Json; token: string }> {
      return expectStatus(await session.post('/users/me/api_keys', { name: 'my token', ...body }), 201);
    }
    const identity = async (token: string) => expectStatus(await api.get('/identity', token), 200);

    test('a personal token is an lku_ token whose default roles follow the account role', async () => {
      const member = await person('member');
      const issued = await mint(member.session);
      assert.match(issued.token, TOKEN);
      assert.equal(issued.api_key.owner_user_id, member.id);
      assert.equal(issued.api_key.scope, 'global');
      assert.deepEqual(issued.api_key.roles, ['incident_editor']);

      const me = await identity(issued.token);
      assert.deepEqual(me.user, { id: member.id, email: member.email, name: me.user.name, role: 'member' });
      assert.equal(me.api_key.id, issued.api_key.id);
      assert.deepEqual([...me.permissions].sort(), permissionsOf('incident_editor'));

      const viewer = await person('viewer');
      assert.deepEqual((await mint(viewer.session)).api_key.roles, ['viewer']);
      const ownerToken = await mint(owner);
      assert.deepEqual(ownerToken.api_key.roles, ['admin']);
      assert.deepEqual([...(await identity(ownerToken.token)).permissions].sort(), permissionsOf('admin'));
    });

    test('demoting the user cuts the token down on its very next request; promoting restores it', async () => {
      const member = await person('member');
      const { token } = await mint(member.session);
      expectStatus(await api.post('/incidents', { probe: 1 }, token), 200);

      expectStatus(await api.patch(`/users/${member.id}`, { role: 'viewer' }), 200);
      assert.deepEqual([...(await identity(token)).permissions].sort(), permissionsOf('viewer'));
      const refused = expectError(await api.post('/incidents', { probe: 2 }, token), 403, 'insufficient_permissions');
      assert.match(refused.message, /incidents:create/);

      expectStatus(await api.patch(`/users/${member.id}`, { role: 'member' }), 200);
      expectStatus(await api.post('/incidents', { probe: 3 }, token), 200);
    });

    test('deactivating the user: 401 user_deactivated on the next request', async () => {
      const member = await person('member');
      const { token } = await mint(member.session);
      await identity(token);
      expectStatus(await api.post(`/users/${member.id}/deactivate`), 200);
      expectError(await api.get('/identity', token), 401, 'user_deactivated');
      expectError(await api.post('/incidents', { after: 'deactivation' }, token), 401, 'user_deactivated');
    });

    test('no token beyond what its user holds: 403 escalation_denied', async () => {
      const member = await person('member');
      for (const roles of [['services_editor'], ['api_keys_manage'], ['admin'], ['viewer', 'services_editor']]) {
        expectError(await member.session.post('/users/me/api_keys', { name: 'too much', roles }), 403, 'escalation_denied');
      }
      assert.deepEqual((await mint(member.session, { roles: ['viewer'] })).api_key.roles, ['viewer']);

      const viewer = await person('viewer');
      expectError(await viewer.session.post('/users/me/api_keys', { name: 'x', roles: ['incident_creator'] }), 403, 'escalation_denied');

      // A token may mint its user another token, but never a privileged one: that takes a signed-in owner or admin.
      const { token: adminToken } = await mint(owner);
      expectError(await api.post('/users/me/api_keys', { name: 'from a token', roles: ['admin'] }, adminToken), 403, 'escalation_denied');
      const minted = expectStatus(await api.post('/users/me/api_keys', { name: 'from a token', roles: ['incident_editor'] }, adminToken), 201);
      assert.match(minted.token, TOKEN);
      const mine = expectStatus(await member.session.get('/users/me/api_keys'), 200).api_keys.map((k: Json) => k.roles);
      assert.deepEqual(mine, [['viewer']], 'refused requests created nothing');
    });

    test('a personal token cannot set its user’s password: that would open a session with all the account may do', async () => {
      // An owner's token cut down to viewer, and a member's: neither may turn itself into a console session.
      for (const who of [{ email: OWNER.email, session: owner }, await person('member')]) {
        const { token } = await mint(who.session, { roles: ['viewer'] });
        expectError(await api.patch('/users/me', { password: 'chosen by whoever holds the token' }, token), 403, 'escalation_denied');
        const attempt = await t.request({ method: 'POST', url: '/api/v1/session', payload: { email: who.email, password: 'chosen by whoever holds the token' } });
        expectError(attempt, 401, 'invalid_credentials');
        // Its own name stays the user's to change, from a token too.
        expectStatus(await api.patch('/users/me', { name: 'Renamed by token' }, token), 200);
      }
      const member = await person('member');
      expectStatus(await member.session.patch('/users/me', { password: 'changed while signed in', current_password: PASSWORD }), 200);
      await signIn(t, member.email, 'changed while signed in');
    });

    test('rule 6: an owner revokes a member’s token, but not an admin’s or another owner’s', async () => {
      const member = await person('member');
      const admin = await person('admin');
      const memberToken = await mint(member.session);
      const adminToken = await mint(admin.session);
      const ownerPersonal = await mint(owner);

      expectError(await api.del(`/api_keys/${adminToken.api_key.id}`), 403, 'out_of_scope');
      expectError(await owner.del(`/api_keys/${adminToken.api_key.id}`), 403, 'out_of_scope');
      expectError(await admin.session.del(`/api_keys/${ownerPersonal.api_key.id}`), 403, 'out_of_scope');
      await identity(adminToken.token);
      await identity(ownerPersonal.token);

      expectError(await member.session.del(`/api_keys/${ownerPersonal.api_key.id}`), 403, 'insufficient_permissions');
      expectStatus(await owner.del(`/api_keys/${memberToken.api_key.id}`), 204);
      expectError(await api.get('/identity', memberToken.token), 401, 'token_revoked');
      const other = await mint(member.session);
      expectStatus(await admin.session.del(`/api_keys/${other.api_key.id}`), 204);
      expectError(await api.get('/identity', other.token), 401, 'token_revoked');
    });

    test('every user lists and revokes their own tokens at /users/me/api_keys, and only their own', async () => {
      const alice = await person('member');
      const bob = await person('viewer');
      const a1 = await mint(alice.session, { name: 'laptop' });
      const a2 = await mint(alice.session, { name: 'ci' });
      const b1 = await mint(bob.session, { name: 'bob' });

      const listed = async (session: ReturnType<typeof asSession>) =>
        expectStatus(await session.get('/users/me/api_keys'), 200).api_keys.map((k: Json) => k.id).sort();
      assert.deepEqual(await listed(alice.session), [a1.api_key.id, a2.api_key.id].sort());
      assert.deepEqual(await listed(bob.session), [b1.api_key.id]);
      const viaToken = expectStatus(await api.get('/users/me/api_keys', a1.token), 200).api_keys.map((k: Json) => k.id).sort();
      assert.deepEqual(viaToken, [a1.api_key.id, a2.api_key.id].sort(), 'a personal token lists its user’s tokens too');

      const notMine = expectError(await bob.session.del(`/users/me/api_keys/${a1.api_key.id}`), 404, 'not_found');
      const unknown = expectError(await bob.session.del('/users/me/api_keys/01J00000000000000000000000'), 404, 'not_found');
      assert.equal(notMine.message, unknown.message);
      expectError(await api.del(`/users/me/api_keys/${b1.api_key.id}`, a1.token), 404, 'not_found');
      await identity(a1.token);
      await identity(b1.token);

      expectStatus(await alice.session.del(`/users/me/api_keys/${a2.api_key.id}`), 204);
      expectError(await api.get('/identity', a2.token), 401, 'token_revoked');
      assert.deepEqual(await listed(alice.session), [a1.api_key.id]);
      expectStatus(await api.del(`/users/me/api_keys/${a1.api_key.id}`, a1.token), 204);
      expectError(await api.get('/identity', a1.token), 401, 'token_revoked');
      expectError(await api.get('/users/me/api_keys'), 403, 'out_of_scope');
    });

    test('deleting a user revokes their personal tokens for good and removes their memberships', async () => {
      const member = await person('member');
      const issued = await mint(member.session);
      assert.equal((await api.get('/identity', issued.token)).statusCode, 200);
      expectStatus(await api.del(`/users/${member.id}`, t.ownerToken), 204);
      expectError(await api.get('/identity', issued.token), 401, 'token_revoked');
      const shown = expectStatus(await api.get(`/users/${member.id}`, t.ownerToken), 200);
      assert.equal(shown.user.status, 'deleted');
      assert.deepEqual(shown.user.teams, []);
      const trail = expectStatus(await api.get(`/audit_events?target_id=${member.id}`, t.ownerToken), 200).audit_events as Json[];
      assert.equal(trail[0].action, 'user.deleted');
      assert.deepEqual(trail[0].details.revoked_api_keys, [issued.api_key.id]);
      // The token's own trail says so too, as a revoke by hand would.
      const tokenTrail = expectStatus(await api.get(`/audit_events?target_id=${issued.api_key.id}`, t.ownerToken), 200).audit_events as Json[];
      assert.deepEqual(tokenTrail.map((e) => e.action), ['api_key.revoked', 'api_key.created']);
      assert.equal(tokenTrail[0].details.reason, 'user_deleted');
      assert.equal(tokenTrail[0].details.user_id, member.id);
      assert.deepEqual(tokenTrail[0].details.changes.state, { from: 'active', to: 'revoked' });
      assert.equal(tokenTrail[0].actor.type, trail[0].actor.type, 'the same actor as the deletion');
    });
  });
}

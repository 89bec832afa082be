import assert from 'node:assert/strict';
import { randomBytes, scryptSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { startTestApp, testDatabases, type TestApp } from '../support/harness.js';
import {
  asSession, client, createService, createTeam, createUser, expectError, expectStatus, issueKey, PASSWORD, signIn, uniqueName, type Json, type Session,
} from '../support/platform.js';

const OWNER = { email: 'owner@example.com', password: 'correct horse battery staple' };
const newEmail = () => `${uniqueName('person')}@example.com`;

for (const db of testDatabases()) {
  describe(`users and sessions on ${db.name}`, () => {
    let t: TestApp;
    let api: ReturnType<typeof client>;
    let owner: Session;

    before(async () => {
      t = await startTestApp(db);
      api = client(t);
      owner = await signIn(t, OWNER.email, OWNER.password);
    });
    after(() => t.close());

    test('create, show, list and rename users; create needs users:write with global reach', async () => {
      const email = newEmail();
      const created = expectStatus(await api.post('/users', { email: email.toUpperCase(), name: 'Ada', password: PASSWORD }), 201).user;
      assert.deepEqual({ ...created, id: '', created_at: '', updated_at: '' }, { id: '', email, name: 'Ada', role: 'member', status: 'active', teams: [], created_at: '', updated_at: '' });
      assert.equal(expectStatus(await api.get(`/users/${created.id}`), 200).user.email, email);
      assert.ok(expectStatus(await api.get('/users?limit=200'), 200).users.some((u: Json) => u.id === created.id), 'listed');
      assert.equal(expectStatus(await api.patch(`/users/${created.id}`, { name: 'Ada L.' }), 200).user.name, 'Ada L.');

      expectError(await api.post('/users', { email, password: PASSWORD }), 409, 'conflict');
      expectError(await api.post('/users', { email: newEmail(), password: 'short' }), 400, 'validation_failed');
      const team = await createTeam(t);
      const teamAdmin = await issueKey(t, { scope: 'team', team_id: team, roles: ['admin'] });
      expectError(await api.post('/users', { email: newEmail(), password: PASSWORD }, teamAdmin.token), 403, 'out_of_scope');
      const viewer = await issueKey(t, { scope: 'global', roles: ['viewer'] });
      const refused = expectError(await api.post('/users', { email: newEmail(), password: PASSWORD }, viewer.token), 403, 'insufficient_permissions');
      assert.match(refused.message, /users:write/);
      // PATCH /users/{id} is open to every caller for their own name: managing another user is checked inside, with the same codes.
      const renamed = expectError(await api.patch(`/users/${created.id}`, { name: 'Mallory' }, viewer.token), 403, 'insufficient_permissions');
      assert.equal(renamed.details?.missing_permission, 'users:write');
      const unchanged = expectStatus(await api.get(`/users/${created.id}`), 200).user;
      assert.deepEqual([unchanged.name, unchanged.role], ['Ada L.', 'member']);
    });

    test('owner and admin roles: never through an API key; a signed-in admin makes admins; only owners make owners', async () => {
      for (const role of ['admin', 'owner']) {
        expectError(await api.post('/users', { email: newEmail(), password: PASSWORD, role }), 403, 'escalation_denied');
      }
      const member = await createUser(t, 'member');
      expectError(await api.patch(`/users/${member.id}`, { role: 'admin' }), 403, 'escalation_denied');
      assert.equal(expectStatus(await api.get(`/users/${member.id}`), 200).user.role, 'member');

      const admin = await createUser(t, 'admin');
      const asAdmin = asSession(t, await signIn(t, admin.email));
      const made = expectStatus(await asAdmin.post('/users', { email: newEmail(), password: PASSWORD, role: 'admin' }), 201).user;
      assert.equal(made.role, 'admin');
      expectError(await asAdmin.post('/users', { email: newEmail(), password: PASSWORD, role: 'owner' }), 403, 'escalation_denied');
      expectError(await asAdmin.patch(`/users/${member.id}`, { role: 'owner' }), 403, 'escalation_denied');
      assert.equal(expectStatus(await asAdmin.patch(`/users/${member.id}`, { role: 'admin' }), 200).user.role, 'admin');

      const asOwner = asSession(t, owner);
      assert.equal(expectStatus(await asOwner.patch(`/users/${member.id}`, { role: 'owner' }), 200).user.role, 'owner');
      expectError(await asAdmin.post(`/users/${member.id}/deactivate`), 403, 'escalation_denied');
    });

    test('an owner’s or admin’s password is set as their role is given: never through an API key, an owner’s only by an owner', async () => {
      const ownerId = expectStatus(await asSession(t, owner).get('/users/me'), 200).user.id as string;
      const admin = await createUser(t, 'admin');
      const otherAdmin = await createUser(t, 'admin');
      const member = await createUser(t, 'member');
      const asAdmin = asSession(t, await signIn(t, admin.email));
      const takeOver = { password: 'a password someone else chose' };
      const signsIn = async (email: string) => (await t.request({ method: 'POST', url: '/api/v1/session', payload: { email, ...takeOver } })).statusCode;

      // A signed-in admin resetting the owner's password would sign in as the owner, and make owners.
      expectError(await asAdmin.patch(`/users/${ownerId}`, takeOver), 403, 'escalation_denied');
      // A global admin key (the init key here) holds users:write, but may no more take over an admin than make one.
      expectError(await api.patch(`/users/${otherAdmin.id}`, takeOver), 403, 'escalation_denied');
      assert.equal(await signsIn(OWNER.email), 401);
      assert.equal(await signsIn(otherAdmin.email), 401);

      // Managing members' passwords stays user management; a signed-in admin may reset another admin's, the owner anyone's.
      expectStatus(await api.patch(`/users/${member.id}`, takeOver), 200);
      assert.equal(await signsIn(member.email), 200);
      expectStatus(await asAdmin.patch(`/users/${otherAdmin.id}`, takeOver), 200);
      assert.equal(await signsIn(otherAdmin.email), 200);
      expectStatus(await asSession(t, owner).patch(`/users/${admin.id}`, takeOver), 200);
      assert.equal(await signsIn(admin.email), 200);
    });

    test('a signed-in user changes their own password only with the current one; wrong ones count as failed sign-ins', async () => {
      const user = await createUser(t, 'member');
      const session = asSession(t, await signIn(t, user.email));
      const other = asSession(t, await signIn(t, user.email));
      const chosen = 'a new password of my own';
      const missing = expectError(await session.patch('/users/me', { password: chosen }), 400, 'validation_failed');
      assert.equal(missing.details?.field, 'current_password');
      expectError(await session.patch('/users/me', { current_password: PASSWORD }), 400, 'validation_failed');
      for (let i = 0; i < 4; i++) {
        const wrong = expectError(await session.patch('/users/me', { password: chosen, current_password: `guess ${i}` }), 400, 'validation_failed');
        assert.equal(wrong.details?.field, 'current_password');
      }
      // Four wrong answers here and one wrong sign-in make the account's five: now even the right password waits.
      expectError(await t.request({ method: 'POST', url: '/api/v1/session', payload: { email: user.email, password: 'guess 5' } }), 401, 'invalid_credentials');
      expectError(await session.patch('/users/me', { password: chosen, current_password: PASSWORD }), 429, 'rate_limited');
      t.clock.advance(15 * 60_000);

      expectStatus(await session.patch('/users/me', { password: chosen, current_password: PASSWORD }), 200);
      expectError(await other.get('/identity'), 401, 'missing_token');
      expectError(await t.request({ method: 'POST', url: '/api/v1/session', payload: { email: user.email, password: PASSWORD } }), 401, 'invalid_credentials');
      await signIn(t, user.email, chosen);
    });

    test('the last active owner can be neither demoted nor deactivated: 409 conflict', async () => {
      const fresh = await startTestApp(db);
      try {
        const session = asSession(fresh, await signIn(fresh, OWNER.email, OWNER.password));
        const me = expectStatus(await session.get('/users/me'), 200).user;
        expectError(await session.patch(`/users/${me.id}`, { role: 'admin' }), 409, 'conflict');
        expectError(await session.post(`/users/${me.id}/deactivate`), 409, 'conflict');
        const still = expectStatus(await session.get('/users/me'), 200).user;
        assert.equal(still.role, 'owner');
        assert.equal(still.status, 'active');

        const second = expectStatus(await session.post('/users', { email: newEmail(), password: PASSWORD, role: 'owner' }), 201).user;
        assert.equal(expectStatus(await session.patch(`/users/${second.id}`, { role: 'member' }), 200).user.role, 'member');
        expectError(await session.patch(`/users/${me.id}`, { role: 'admin' }), 409, 'conflict');
      } finally {
        await fresh.close();
      }
    });

    test('team memberships: PUT adds or changes, DELETE removes, and a manager gains the team’s powers', async () => {
      const team = await createTeam(t);
      const other = await createTeam(t);
      const user = await createUser(t, 'member');
      const members = async () => expectStatus(await api.get(`/teams/${team}/members`), 200).members;
      expectStatus(await api.put(`/teams/${team}/members/${user.id}`, { role: 'member' }), 204);
      assert.deepEqual(await members(), [{ user_id: user.id, role: 'member' }]);
      assert.deepEqual(expectStatus(await api.get(`/users/${user.id}`), 200).user.teams, [{ team_id: team, role: 'member' }]);

      const session = asSession(t, await signIn(t, user.email));
      expectError(await session.post('/services', { team_id: team, name: uniqueName('s') }), 403, 'insufficient_permissions');
      expectStatus(await api.put(`/teams/${team}/members/${user.id}`, { role: 'manager' }), 204);
      assert.deepEqual(await members(), [{ user_id: user.id, role: 'manager' }]);
      expectStatus(await session.post('/services', { team_id: team, name: uniqueName('s') }), 201);
      expectError(await session.post('/services', { team_id: other, name: uniqueName('s') }), 403, 'out_of_scope');

      expectStatus(await api.del(`/teams/${team}/members/${user.id}`), 204);
      assert.deepEqual(await members(), []);
      expectError(await session.post('/services', { team_id: team, name: uniqueName('s') }), 403, 'insufficient_permissions');
      expectError(await api.del(`/teams/${team}/members/${user.id}`), 404, 'not_found');
      expectError(await api.put(`/teams/${team}/members/01J00000000000000000000000`, { role: 'member' }), 404, 'not_found');
      expectError(await api.put(`/teams/${team}/members/${user.id}`, { role: 'boss' }), 400, 'validation_failed');
    });

    test('POST /session sets an HttpOnly SameSite=Strict cookie and returns the CSRF token; the cookie authenticates', async () => {
      const user = await createUser(t, 'member');
      const res = await t.request({ method: 'POST', url: '/api/v1/session', payload: { email: user.email, password: PASSWORD } });
      const body = expectStatus(res, 200);
      const cookie = String(res.headers['set-cookie']);
      assert.match(cookie, /^latchkey_session=[^;]+;/);
      assert.match(cookie, /;\s*HttpOnly/i);
      assert.match(cookie, /;\s*SameSite=Strict/i);
      assert.match(cookie, /;\s*Path=\//i);
      assert.equal(body.user.id, user.id);
      assert.equal(typeof body.csrf_token, 'string');
      assert.ok(body.csrf_token.length >= 16, body.csrf_token);
      assert.ok(!JSON.stringify(body).includes(cookie.split(';')[0]!.split('=')[1]!), 'the session id is in the cookie only');

      const session: Session = { cookie: cookie.split(';')[0]!, csrf: body.csrf_token, userId: user.id };
      const identity = expectStatus(await asSession(t, session).get('/identity'), 200);
      assert.equal(identity.api_key, null);
      assert.equal(identity.user.id, user.id);
      assert.ok(identity.permissions.includes('incidents:write'), identity.permissions.join(' '));
    });

    test('a signed-in write needs x-csrf-token; DELETE /session (with it) ends the session', async () => {
      const session = await signIn(t, (await createUser(t, 'member')).email);
      const as = asSession(t, session);
      const team = await createTeam(t);
      const service = await createService(t, team);
      const url = `/users/me/api_keys`;
      expectError(await as.post(url, { name: 'no csrf' }, false), 403, 'csrf_failed');
      const forged = await t.request({ method: 'POST', url: `/api/v1${url}`, headers: { cookie: session.cookie, 'x-csrf-token': `${session.csrf.slice(0, -1)}${session.csrf.endsWith('A') ? 'B' : 'A'}` }, payload: { name: 'forged' } });
      expectError(forged, 403, 'csrf_failed');
      assert.deepEqual(expectStatus(await as.get(url), 200).api_keys, [], 'refused writes created nothing');
      expectStatus(await as.post(url, { name: 'with csrf' }), 201);
      expectError(await as.patch(`/services/${service.id}`, { description: 'x' }, false), 403, 'csrf_failed');

      // Signing out is a write too: another site's page (one on a sibling subdomain is same-site) cannot sign the user out.
      expectError(await t.request({ method: 'DELETE', url: '/api/v1/session', headers: { cookie: session.cookie } }), 403, 'csrf_failed');
      expectStatus(await as.get('/identity'), 200);
      const out = await t.request({ method: 'DELETE', url: '/api/v1/session', headers: { cookie: session.cookie, 'x-csrf-token': session.csrf } });
      expectStatus(out, 204);
      assert.match(String(out.headers['set-cookie']), /latchkey_session=;/);
      expectError(await as.get('/identity'), 401, 'missing_token');
      expectError(await as.post(url, { name: 'after sign-out' }), 401, 'missing_token');
    });

    test('wrong password or unknown email: 401 invalid_credentials, the same either way', async () => {
      const user = await createUser(t, 'member');
      const wrong = expectError(await t.request({ method: 'POST', url: '/api/v1/session', payload: { email: user.email, password: 'not the password' } }), 401, 'invalid_credentials');
      const unknown = expectError(await t.request({ method: 'POST', url: '/api/v1/session', payload: { email: newEmail(), password: PASSWORD } }), 401, 'invalid_credentials');
      assert.equal(wrong.message, unknown.message);
    });

    test('after 5 failures for an account: 429 rate_limited with Retry-After and RateLimit-*, even for the right password, until the window ends', async () => {
      const user = await createUser(t, 'member');
      const attempt = (password: string) => t.request({ method: 'POST', url: '/api/v1/session', payload: { email: user.email, password } });
      for (let i = 0; i < 5; i++) expectError(await attempt(`wrong password ${i}`), 401, 'invalid_credentials');
      const limited = await attempt(PASSWORD);
      expectError(limited, 429, 'rate_limited');
      const retryAfter = Number(limited.headers['retry-after']);
      assert.ok(retryAfter > 0 && retryAfter <= 15 * 60, `Retry-After ${limited.headers['retry-after']}`);
      assert.deepEqual(
        [limited.headers['ratelimit-limit'], limited.headers['ratelimit-remaining'], limited.headers['ratelimit-reset']],
        ['5', '0', String(retryAfter)],
        'the contract\'s 429 carries RateLimit-* too',
      );
      t.clock.advance(retryAfter * 1000);
      expectStatus(await attempt(PASSWORD), 200);
    });

    test('a browser the account signed in from before is not locked out by guesses from elsewhere: it has a limit of its own', async () => {
      const user = await createUser(t, 'member');
      const attempt = (password: string, from: { cookie?: string; remoteAddress: string }) => t.request({
        method: 'POST', url: '/api/v1/session', payload: { email: user.email, password }, remoteAddress: from.remoteAddress, headers: from.cookie ? { cookie: from.cookie } : {},
      });
      const first = await attempt(PASSWORD, { remoteAddress: '10.1.1.1' });
      expectStatus(first, 200);
      const cookies = first.headers['set-cookie'] as string[];
      assert.match(cookies[0]!, /^latchkey_session=/);
      const device = cookies.find((c) => c.startsWith('latchkey_device='))!;
      assert.ok(device, String(cookies));
      assert.match(device, /; Max-Age=15552000; Path=\/; HttpOnly; SameSite=Strict$/, 'out of reach of scripts');
      assert.ok(cookies.some((c) => /^latchkey_device=; Max-Age=0; Path=\/api\/v1\/session;/.test(c)), 'the cookie of earlier builds, whose longer path would hide this one, is cleared');
      const known = { cookie: device.split(';')[0]!, remoteAddress: '10.1.1.1' };

      // Someone elsewhere guesses until the account is locked, for every browser it does not know.
      for (let i = 0; i < 5; i++) expectError(await attempt(`guess ${i}`, { remoteAddress: '203.0.113.9' }), 401, 'invalid_credentials');
      expectError(await attempt(PASSWORD, { remoteAddress: '203.0.113.9' }), 429, 'rate_limited');
      expectError(await attempt(PASSWORD, { remoteAddress: '10.1.1.1' }), 429, 'rate_limited');
      // A forged cookie, or another account's, is no cookie at all.
      const [, nonce, issued, mac] = known.cookie.split('=')[1]!.split('.');
      const forged = `${mac![0] === 'A' ? 'B' : 'A'}${mac!.slice(1)}`;
      expectError(await attempt(PASSWORD, { cookie: `latchkey_device=${user.id}.${nonce}.${issued}.${forged}`, remoteAddress: '10.1.1.1' }), 429, 'rate_limited');
      // Nor is one issued later than it was, to outlive its 180 days.
      const later = (parseInt(issued!, 36) + 86_400_000).toString(36);
      expectError(await attempt(PASSWORD, { cookie: `latchkey_device=${user.id}.${nonce}.${later}.${mac}`, remoteAddress: '10.1.1.1' }), 429, 'rate_limited');
      const other = await createUser(t, 'member');
      const otherDevice = String((await t.request({ method: 'POST', url: '/api/v1/session', payload: { email: other.email, password: PASSWORD }, remoteAddress: '10.1.1.2' })).headers['set-cookie'])
        .match(/latchkey_device=[^;]+/)![0];
      expectError(await attempt(PASSWORD, { cookie: otherDevice, remoteAddress: '10.1.1.1' }), 429, 'rate_limited');
      // The browser its user signed in from still signs in.
      const resumed = expectStatus(await attempt(PASSWORD, known), 200);
      assert.equal(resumed.user.id, user.id);

      // Guessing with that cookie is limited as strictly: five, then 429 for it too.
      for (let i = 0; i < 5; i++) expectError(await attempt(`guess ${i}`, known), 401, 'invalid_credentials');
      const limited = await attempt(PASSWORD, known);
      expectError(limited, 429, 'rate_limited');
      assert.equal(limited.headers['ratelimit-limit'], '5');
    });

    test('a device cookie ends with its password, and 180 days after it was issued', async () => {
      const user = await createUser(t, 'member');
      const attempt = (password: string, from: { cookie?: string; remoteAddress: string }) => t.request({
        method: 'POST', url: '/api/v1/session', payload: { email: user.email, password }, remoteAddress: from.remoteAddress, headers: from.cookie ? { cookie: from.cookie } : {},
      });
      const deviceOf = (answer: Awaited<ReturnType<typeof attempt>>) => (answer.headers['set-cookie'] as string[]).find((c) => c.startsWith('latchkey_device='))!.split(';')[0]!;
      const lockFromElsewhere = async () => {
        for (let i = 0; i < 5; i++) expectError(await attempt(`guess ${i}`, { remoteAddress: '203.0.113.7' }), 401, 'invalid_credentials');
      };
      const before = deviceOf(await attempt(PASSWORD, { remoteAddress: '10.2.2.2' }));
      // The password is reset: cookies handed out for the old one buy no guesses any more.
      const session = asSession(t, await signIn(t, user.email));
      expectStatus(await session.patch('/users/me', { password: 'a new pass phrase', current_password: PASSWORD }), 200);
      await lockFromElsewhere();
      expectError(await attempt('a new pass phrase', { cookie: before, remoteAddress: '10.2.2.2' }), 429, 'rate_limited');
      t.clock.advance(15 * 60_000);

      const fresh = deviceOf(await attempt('a new pass phrase', { remoteAddress: '10.2.2.2' }));
      t.clock.advance(179 * 86_400_000);
      await lockFromElsewhere();
      expectStatus(await attempt('a new pass phrase', { cookie: fresh, remoteAddress: '10.2.2.2' }), 200);
      // Two days on, 181 since it was issued: that cookie is forgotten (each sign-in hands out a new one).
      t.clock.advance(2 * 86_400_000);
      await lockFromElsewhere();
      expectError(await attempt('a new pass phrase', { cookie: fresh, remoteAddress: '10.2.2.2' }), 429, 'rate_limited');
    });

    test('a deactivated user is signed out everywhere and cannot sign in again: 401 user_deactivated', async () => {
      const user = await createUser(t, 'member');
      const session = asSession(t, await signIn(t, user.email));
      expectStatus(await session.get('/identity'), 200);
      const deactivated = expectStatus(await api.post(`/users/${user.id}/deactivate`), 200).user;
      assert.equal(deactivated.status, 'deactivated');
      expectError(await session.get('/identity'), 401, 'missing_token');
      const again = await t.request({ method: 'POST', url: '/api/v1/session', payload: { email: user.email, password: PASSWORD } });
      expectError(again, 401, 'user_deactivated');
      assert.equal(again.headers['set-cookie'], undefined, 'no session cookie is handed out');
    });

    test('a deleted user is a record with status deleted: nothing about it changes, deleting again changes nothing, and its email is free', async () => {
      const user = await createUser(t, 'member');
      const team = await createTeam(t);
      expectStatus(await api.put(`/teams/${team}/members/${user.id}`, { role: 'member' }), 204);
      expectStatus(await api.del(`/users/${user.id}`), 204);
      const record = expectStatus(await api.get(`/users/${user.id}`), 200).user;
      assert.deepEqual([record.status, record.email, record.teams], ['deleted', `${user.email} (deleted ${user.id})`, []]);
      const listed = expectStatus(await api.get('/users?limit=200'), 200).users.find((u: Json) => u.id === user.id);
      assert.equal(listed.status, 'deleted', 'the list tells a deleted user from a deactivated one');

      for (const refused of [
        await api.patch(`/users/${user.id}`, { name: 'Back again' }),
        await api.post(`/users/${user.id}/deactivate`, {}),
        await api.put(`/teams/${team}/members/${user.id}`, { role: 'member' }),
      ]) assert.match(expectError(refused, 409, 'conflict').message, /deleted/);
      expectStatus(await api.del(`/users/${user.id}`), 204);
      const trail = expectStatus(await api.get(`/audit_events?target_id=${user.id}`), 200).audit_events as Json[];
      assert.deepEqual(trail.map((e) => e.action), ['user.deleted', 'user.created'], 'one deletion in the trail, with the address as it was');
      assert.equal(trail[0]!.details.email, user.email);
      expectError(await t.request({ method: 'POST', url: '/api/v1/session', payload: { email: user.email, password: PASSWORD } }), 401, 'invalid_credentials');

      const returning = expectStatus(await api.post('/users', { email: user.email, password: PASSWORD }), 201).user;
      assert.notEqual(returning.id, user.id);
      assert.equal(returning.status, 'active');
      assert.equal((await signIn(t, user.email)).userId, returning.id, 'the address signs in to the new account');
    });
  });

  describe(`stored passwords on ${db.name}`, () => {
    test('a password hashed with weaker scrypt parameters is hashed again at sign-in, and sign-ins racing that all succeed', async () => {
      // Sign-ins still being checked count against the account's limit: room for a dozen at once.
      const t = await startTestApp(db, { LATCHKEY_SIGN_IN_FAILURES_PER_ACCOUNT: '100', LATCHKEY_SIGN_IN_FAILURES_PER_ADDRESS: '100' });
      after(() => t.close());
      const user = await createUser(t, 'member');
      const store = t.services.userStore;
      const { passwordHash } = (await store.findCredentials(user.email))!;
      assert.match(passwordHash, /^scrypt\$32768\$8\$1\$/);
      const salt = randomBytes(16);
      const weak = ['scrypt', 16384, 8, 1, salt.toString('base64url'), scryptSync(PASSWORD, salt, 32, { N: 16384, r: 8, p: 1 }).toString('base64url')].join('$');
      await store.rehashPassword(user.id, passwordHash, weak);
      const attempt = (password: string) => t.request({ method: 'POST', url: '/api/v1/session', payload: { email: user.email, password } });
      expectError(await attempt('not the password'), 401, 'invalid_credentials');
      assert.equal((await store.findCredentials(user.email))!.passwordHash, weak, 'a wrong password changes nothing');
      // Sign-ins a few milliseconds apart: some read the old hash and open their session after the
      // first has replaced it, which is no new password and must not refuse them.
      const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => delay(20 * i).then(() => attempt(PASSWORD))));
      for (const answer of answers) expectStatus(answer, 200);
      const upgraded = (await store.findCredentials(user.email))!.passwordHash;
      assert.match(upgraded, /^scrypt\$32768\$8\$1\$/);
      expectStatus(await attempt(PASSWORD), 200);
      assert.equal((await store.findCredentials(user.email))!.passwordHash, upgraded, 'hashed again once, not at every sign-in');
      expectError(await attempt('not the password'), 401, 'invalid_credentials');
      // Made with stronger parameters (by a newer version beside this one): never weakened.
      const stronger = ['scrypt', 32768, 9, 1, salt.toString('base64url'), scryptSync(PASSWORD, salt, 32, { N: 32768, r: 9, p: 1, maxmem: 64 * 1024 * 1024 }).toString('base64url')].join('$');
      assert.equal(await store.rehashPassword(user.id, upgraded, stronger), true);
      expectStatus(await attempt(PASSWORD), 200);
      assert.equal((await store.findCredentials(user.email))!.passwordHash, stronger);
    });
  });
}

describe('console cookies over HTTPS (behind a trusted proxy that says so)', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp(testDatabases()[0], { LATCHKEY_TRUST_PROXY: '127.0.0.1' });
  });
  after(() => t.close());

  const https = { 'x-forwarded-proto': 'https' };
  const identity = (cookie: string, headers: Record<string, string> = https) => t.request({ method: 'GET', url: '/api/v1/identity', headers: { ...headers, cookie } });

  test('carry the __Host- prefix, so no sibling subdomain can set or shadow them, and only such are read', async () => {
    const user = await createUser(t, 'member');
    const signIn = (cookie?: string) => t.request({ method: 'POST', url: '/api/v1/session', payload: { email: user.email, password: PASSWORD }, headers: { ...https, ...(cookie && { cookie }) } });
    const first = await signIn();
    expectStatus(first, 200);
    const [session, device] = first.headers['set-cookie'] as string[];
    assert.match(session!, /^__Host-latchkey_session=[\w-]+; Path=\/; Expires=[^;]+; HttpOnly; Secure; SameSite=Strict$/);
    assert.match(device!, /^__Host-latchkey_device=[\w.-]+; Max-Age=15552000; Path=\/; HttpOnly; Secure; SameSite=Strict$/);
    const sessionCookie = session!.split(';')[0]!;
    const sessionId = sessionCookie.split('=')[1]!;

    assert.equal(expectStatus(await identity(sessionCookie), 200).user.id, user.id);
    // The same session id under the plain name, as a sibling subdomain could have planted it: not a session over HTTPS.
    expectError(await identity(`latchkey_session=${sessionId}`), 401, 'missing_token');
    // And over plain HTTP the prefixed cookie is not read either (a browser never sends it there).
    expectError(await identity(sessionCookie, {}), 401, 'missing_token');

    // The browser is known by its __Host- device cookie, and only by that: once guesses from elsewhere
    // lock the account, the same value under the plain name (as a sibling could set it) is no cookie.
    for (let i = 0; i < 5; i++) {
      expectError(await t.request({ method: 'POST', url: '/api/v1/session', payload: { email: user.email, password: `guess ${i}` }, headers: https, remoteAddress: '127.0.0.1' }), 401, 'invalid_credentials');
    }
    const deviceCookie = device!.split(';')[0]!;
    expectError(await signIn(deviceCookie.replace('__Host-', '')), 429, 'rate_limited');
    expectStatus(await signIn(deviceCookie), 200);

    const csrf = expectStatus(await identity(sessionCookie), 200) && expectStatus(await t.request({ method: 'GET', url: '/api/v1/session', headers: { ...https, cookie: sessionCookie } }), 200).csrf_token;
    const out = await t.request({ method: 'DELETE', url: '/api/v1/session', headers: { ...https, cookie: sessionCookie, 'x-csrf-token': csrf } });
    expectStatus(out, 204);
    assert.match(String(out.headers['set-cookie']), /^__Host-latchkey_session=; Max-Age=0; Path=\/; Expires=[^;]+; Secure/);
    expectError(await identity(sessionCookie), 401, 'missing_token');
  });
});

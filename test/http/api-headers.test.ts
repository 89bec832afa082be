import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestApp } from '../support/harness.js';
import { asSession, createUser, expectStatus, PASSWORD, signIn } from '../support/platform.js';

// API answers carry tokens, CSRF tokens and personal data: no browser or proxy may keep a copy.
describe('API answers are never stored by caches', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(() => t.close());

  test('a token, a session\'s CSRF token and a refusal all answer Cache-Control: no-store', async () => {
    const created = await t.request({ method: 'POST', url: '/api/v1/api_keys', token: t.ownerToken, payload: { name: 'cached?', scope: 'global', roles: ['viewer'] } });
    assert.equal(typeof expectStatus(created, 201).token, 'string');
    assert.equal(created.headers['cache-control'], 'no-store', 'the create answer carries the token');

    const user = await createUser(t, 'member');
    const signedIn = await t.request({ method: 'POST', url: '/api/v1/session', payload: { email: user.email, password: PASSWORD } });
    expectStatus(signedIn, 200);
    assert.equal(signedIn.headers['cache-control'], 'no-store', 'sign-in answers the CSRF token');

    const session = await signIn(t, user.email);
    const resumed = await asSession(t, session).get('/session');
    assert.equal(typeof expectStatus(resumed, 200).csrf_token, 'string');
    assert.equal(resumed.headers['cache-control'], 'no-store', 'GET /session answers the CSRF token');
    const mine = await asSession(t, session).post('/users/me/api_keys', { name: 'personal' });
    assert.equal(mine.headers['cache-control'], 'no-store', 'a personal token');

    const refused = await t.request({ method: 'GET', url: '/api/v1/identity' });
    assert.equal(refused.statusCode, 401);
    assert.equal(refused.headers['cache-control'], 'no-store');
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { createServices } from '../../src/services.js';
import { SESSION_LIFETIME_MS } from '../../src/services/sessions.js';
import { isolatedDatabase } from '../support/database.js';
import { createTestClock, startTestApp, testDatabases, type TestApp } from '../support/harness.js';
import { asSession, createUser, expectError, expectStatus, signIn } from '../support/platform.js';

/** GET /session: how the console, after a page reload, learns who is signed in and the CSRF token again. */
for (const db of testDatabases()) {
  describe(`GET /session on ${db.name}`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(db);
    });
    after(() => t.close());

    const resume = (cookie?: string) => t.request({ method: 'GET', url: '/api/v1/session', ...(cookie && { headers: { cookie } }) });

    test('without a cookie, or with one naming no session: 401 missing_token in the error envelope', async () => {
      const none = expectError(await resume(), 401, 'missing_token');
      assert.match(none.message, /sign in/);
      expectError(await resume('latchkey_session=not-a-session'), 401, 'missing_token');
      expectError(await resume(`latchkey_session=${'x'.repeat(300)}`), 401, 'missing_token');
    });

    test('expired sessions are purged, with the address and browser they hold; live ones stay and work', async () => {
      const user = await createUser(t, 'member');
      const early = await signIn(t, user.email);
      t.clock.advance(SESSION_LIFETIME_MS / 2);
      const later = await signIn(t, user.email);
      assert.equal(await t.services.sessions.purgeExpired(), 0, 'nothing has expired yet');
      t.clock.advance(SESSION_LIFETIME_MS / 2);
      expectError(await resume(early.cookie), 401, 'missing_token');
      assert.ok(await t.services.sessions.purgeExpired() >= 1, 'the early session is deleted');
      assert.equal(await t.services.sessions.purgeExpired(), 0);
      expectStatus(await resume(later.cookie), 200);
    });

    test('an API token is not a session: Bearer alone gets 401 missing_token', async () => {
      expectError(await t.request({ method: 'GET', url: '/api/v1/session', token: t.ownerToken }), 401, 'missing_token');
    });

    test('signed in: the user, the same CSRF token sign-in gave, and the expiry; that token works for writes', async () => {
      const user = await createUser(t, 'admin');
      const signInRes = await t.request({ method: 'POST', url: '/api/v1/session', payload: { email: user.email, password: 'a long enough password' } });
      const signedIn = expectStatus(signInRes, 200);
      const cookie = String(signInRes.headers['set-cookie']).split(';')[0]!;

      const body = expectStatus(await resume(cookie), 200);
      assert.deepEqual(Object.keys(body).sort(), ['csrf_token', 'expires_at', 'user']);
      assert.equal(body.user.id, user.id);
      assert.equal(body.user.role, 'admin');
      assert.equal(body.csrf_token, signedIn.csrf_token);
      assert.equal(body.expires_at, signedIn.expires_at);
      assert.equal(new Date(body.expires_at).getTime(), t.clock.now().getTime() + SESSION_LIFETIME_MS);

      const as = asSession(t, { cookie, csrf: body.csrf_token, userId: user.id });
      expectStatus(await as.post('/teams', { name: `resumed-${Date.now()}` }), 201);
    });

    test('a session that was signed out, has expired or whose user was deactivated answers 401 missing_token', async () => {
      const ended = await signIn(t, (await createUser(t, 'member')).email);
      expectStatus(await t.request({ method: 'DELETE', url: '/api/v1/session', headers: { cookie: ended.cookie, 'x-csrf-token': ended.csrf } }), 204);
      expectError(await resume(ended.cookie), 401, 'missing_token');

      const deactivated = await createUser(t, 'member');
      const theirs = await signIn(t, deactivated.email);
      expectStatus(await t.request({ method: 'POST', url: `/api/v1/users/${deactivated.id}/deactivate`, token: t.ownerToken }), 200);
      expectError(await resume(theirs.cookie), 401, 'missing_token');

      const expiring = await signIn(t, (await createUser(t, 'member')).email);
      expectStatus(await resume(expiring.cookie), 200);
      t.clock.advance(SESSION_LIFETIME_MS);
      expectError(await resume(expiring.cookie), 401, 'missing_token');
    });

    test('GET /session is in the OpenAPI document with its response schema', async () => {
      const doc = expectStatus(await t.request({ method: 'GET', url: '/openapi.json' }), 200);
      const op = doc.paths['/api/v1/session'].get;
      assert.ok(op.responses['200'].content['application/json'].schema.properties.csrf_token, 'csrf_token in the 200 schema');
      assert.ok(op.responses['401'], '401 documented');
    });
  });
}

/** The hourly purge also runs when the server starts: one restarted more often than hourly never purged. */
for (const database of [{ name: 'sqlite-file', url: 'sqlite:' } as const, ...testDatabases().filter((d) => d.name === 'postgres')]) {
  test(`a server that starts purges the sessions that expired while it was down (${database.name})`, async () => {
    const place = await isolatedDatabase(database);
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-sessions-'));
    const config = loadConfig({ LATCHKEY_DATABASE_URL: database.name === 'postgres' ? database.url : `sqlite:${join(dir, 'latchkey.db')}` });
    const clock = createTestClock();
    const options = { clock, secret: randomBytes(32), ...(place.schema && { schema: place.schema }) };
    const owner = { email: 'owner@example.com', password: 'correct horse battery staple' };
    try {
      const first = await createServices(config, options);
      await first.setup.init(owner);
      const { sessionId } = await first.sessions.signIn(owner, { ip: '192.0.2.1', userAgent: 'browser' });
      await first.close();

      const signedInAt = clock.now();
      clock.advance(SESSION_LIFETIME_MS + 1);
      await (await createServices(config, options)).close(); // started and stopped within the hour

      // Back to when the session was live: it no longer works, because its row is gone, not because it is late.
      clock.set(signedInAt);
      const after = await createServices(config, options);
      try {
        assert.equal(await after.sessions.authenticate(sessionId), null);
      } finally {
        await after.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await place.drop();
    }
  });
}

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, testDatabases, type TestApp } from '../support/harness.js';
import { asSession, client, createUser, expectError, expectStatus, PASSWORD } from '../support/platform.js';

for (const db of testDatabases()) {
  // A new password ends every session: also one whose sign-in checked the old password just before.
  describe(`a sign-in overtaken by a password change on ${db.name}`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(db);
    });
    after(() => t.close());

    test('the old password, checked before the change commits, opens no session that outlives it', async () => {
      const user = await createUser(t, 'member');
      const store = t.services.userStore;
      const findCredentials = store.findCredentials;
      let read!: () => void;
      const credentialsRead = new Promise<void>((resolve) => (read = resolve));
      let resume!: () => void;
      const resumed = new Promise<void>((resolve) => (resume = resolve));
      // The sign-in reads the old password's hash, then waits while the password is changed.
      store.findCredentials = async (email) => {
        const found = await findCredentials.call(store, email);
        read();
        await resumed;
        return found;
      };
      let signingIn;
      try {
        signingIn = t.request({ method: 'POST', url: '/api/v1/session', payload: { email: user.email, password: PASSWORD } });
        await credentialsRead;
      } finally {
        store.findCredentials = findCredentials;
      }
      expectStatus(await client(t).patch(`/users/${user.id}`, { password: 'a new password nobody else knows' }), 200);
      resume();
      const res = await signingIn;
      if (res.statusCode === 200) {
        const cookie = String(res.headers['set-cookie']).split(';')[0]!;
        expectError(await asSession(t, { cookie, csrf: res.json().csrf_token, userId: user.id }).get('/identity'), 401, 'missing_token');
      } else {
        expectError(res, 401, 'invalid_credentials');
      }
      assert.equal((await t.request({ method: 'POST', url: '/api/v1/session', payload: { email: user.email, password: PASSWORD } })).statusCode, 401);
    });
  });
}

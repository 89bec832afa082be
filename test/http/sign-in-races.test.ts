import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestApp } from '../support/harness.js';
import { createUser, PASSWORD } from '../support/platform.js';

// Sign-in's limits hold against guesses sent all at once, not only one after another.
describe('sign-in limits under concurrent attempts', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(() => t.close());

  const attempt = (email: string, password: string, ip = '203.0.113.7') =>
    t.request({ method: 'POST', url: '/api/v1/session', payload: { email, password }, remoteAddress: ip });

  test('guesses sent together for one account: at most the limit (5) are tried, the rest answer 429', async () => {
    const user = await createUser(t, 'member');
    // From many addresses, so only the account's limit applies.
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => attempt(user.email, `wrong password ${i}`, `198.51.100.${i + 1}`)));
    const codes = answers.map((r) => r.statusCode);
    assert.equal(codes.filter((c) => c === 401).length, 5, codes.join(' '));
    assert.equal(codes.filter((c) => c === 429).length, 7, codes.join(' '));
    assert.equal((await attempt(user.email, PASSWORD)).statusCode, 429, 'the account stays limited');
  });

  test('guesses sent together from one address: at most the limit (20) are tried', async () => {
    const users = await Promise.all(Array.from({ length: 6 }, () => createUser(t, 'member')));
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => attempt(users[i % 6]!.email, `wrong ${i}`, '192.0.2.9')));
    const codes = answers.map((r) => r.statusCode);
    assert.equal(codes.filter((c) => c === 401).length, 20, codes.join(' '));
    assert.equal(codes.filter((c) => c === 429).length, 10, codes.join(' '));
  });

  test('a right password among concurrent attempts still signs in while the limit is not reached', async () => {
    const user = await createUser(t, 'member');
    const answers = await Promise.all([attempt(user.email, 'wrong one', '198.51.100.50'), attempt(user.email, PASSWORD, '198.51.100.51')]);
    assert.deepEqual(answers.map((r) => r.statusCode).sort(), [200, 401]);
  });
});

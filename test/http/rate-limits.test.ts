import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { formatToken } from '../../src/domain/tokens/format.js';
import { startTestApp, testDatabases, type TestApp } from '../support/harness.js';

for (const db of testDatabases()) {
  describe(`rate limits on ${db.name}`, () => {
    let t: TestApp;
    const call = (url: string, token: string, remoteAddress = '127.0.0.1') =>
      t.app.inject({ method: 'GET', url, remoteAddress, headers: { authorization: `Bearer ${token}` } });
    const keyWith = async (limit: number | null, body: Record<string, unknown> = {}) =>
      (await t.request({ method: 'POST', url: '/api/v1/api_keys', token: t.ownerToken, payload: { name: 'k', scope: 'global', rate_limit_per_minute: limit, ...body } })).json() as { token: string };

    before(async () => {
      t = await startTestApp(db, { LATCHKEY_AUTH_FAILURES_PER_MINUTE: '3', LATCHKEY_SIGN_IN_FAILURES_PER_ADDRESS: '3' });
    });
    after(() => t.close());

    test('a key over its limit gets 429 rate_limited with Retry-After, RateLimit-* on every answer', async () => {
      const { token } = await keyWith(6); // a burst of 1, then one a 10 s
      const first = await call('/api/v1/identity', token);
      assert.equal(first.statusCode, 200);
      assert.deepEqual([first.headers['ratelimit-limit'], first.headers['ratelimit-remaining']], ['6', '0']);
      assert.equal(first.headers['ratelimit-reset'], '10');
      const second = await call('/api/v1/identity', token);
      assert.equal(second.statusCode, 429);
      assert.equal(second.json().error.code, 'rate_limited');
      assert.equal(second.headers['retry-after'], '10');
      assert.equal(second.headers['ratelimit-remaining'], '0');
      t.clock.advance(10_000);
      assert.equal((await call('/api/v1/identity', token)).statusCode, 200, 'a token is back after Retry-After');
    });

    test('refusals count against the limit and carry its headers: a key refused 403 is limited like any other; one from outside its allow-list spends nothing', async () => {
      const { token } = await keyWith(12, { roles: ['viewer'] }); // a burst of 2
      const create = () => t.app.inject({ method: 'POST', url: '/api/v1/teams', headers: { authorization: `Bearer ${token}` }, payload: { name: 'not allowed' } });
      const first = await create();
      assert.equal(first.statusCode, 403, first.body);
      assert.equal(first.json().error.code, 'insufficient_permissions');
      assert.deepEqual([first.headers['ratelimit-limit'], first.headers['ratelimit-remaining']], ['12', '1']);
      assert.equal((await create()).statusCode, 403);
      const third = await create();
      assert.equal(third.statusCode, 429, 'hammering a forbidden route is limited too');
      assert.equal(third.headers['retry-after'], '5');

      const fenced = await keyWith(12, { allowed_cidrs: ['10.0.0.0/8'] });
      for (let i = 0; i < 5; i++) assert.equal((await call('/api/v1/identity', fenced.token, '192.0.2.1')).json().error.code, 'ip_not_allowed');
      const inside = await call('/api/v1/identity', fenced.token, '10.1.2.3');
      assert.equal(inside.statusCode, 200, 'a stolen token used from outside the allow-list spent none of the budget');
      assert.equal(inside.headers['ratelimit-remaining'], '1');
    });

    test('one noisy key never slows a quiet one; null means no per-key limit', async () => {
      const noisy = await keyWith(6);
      const quiet = await keyWith(6);
      const unlimited = await keyWith(null);
      await call('/api/v1/identity', noisy.token);
      assert.equal((await call('/api/v1/identity', noisy.token)).statusCode, 429);
      assert.equal((await call('/api/v1/identity', quiet.token)).statusCode, 200);
      for (let i = 0; i < 50; i++) {
        const answer = await call('/api/v1/identity', unlimited.token);
        assert.equal(answer.statusCode, 200);
        assert.equal(answer.headers['ratelimit-limit'], undefined);
      }
    });

    test('failed authentications are limited per address, before any token work; the 429 carries Retry-After and RateLimit-*', async () => {
      const { token } = await keyWith(null);
      const bad = 'lkg_' + 'A'.repeat(36);
      for (let i = 0; i < 3; i++) assert.equal((await call('/api/v1/identity', bad, '198.51.100.7')).statusCode, 401);
      const blocked = await call('/api/v1/identity', token, '198.51.100.7');
      assert.equal(blocked.statusCode, 429, 'even a valid token waits: the address is blocked');
      assert.equal(blocked.json().error.code, 'rate_limited');
      assert.ok(Number(blocked.headers['retry-after']) > 0);
      assert.deepEqual(
        [blocked.headers['ratelimit-limit'], blocked.headers['ratelimit-remaining'], blocked.headers['ratelimit-reset']],
        ['3', '0', blocked.headers['retry-after']],
      );
      assert.equal((await call('/api/v1/identity', token, '198.51.100.8')).statusCode, 200, 'other addresses are not affected');
      t.clock.advance(60_000);
      assert.equal((await call('/api/v1/identity', token, '198.51.100.7')).statusCode, 200);
    });

    test('an IPv6 client is counted by its /64: new addresses in it gain nothing, the next /64 is not affected', async () => {
      const { token } = await keyWith(null);
      const bad = 'lkg_' + 'A'.repeat(36);
      for (const address of ['2001:db8:5:6::1', '2001:db8:5:6:ffff:ffff:ffff:fffe', '2001:db8:5:6:a:b:c:d']) {
        assert.equal((await call('/api/v1/identity', bad, address)).statusCode, 401);
      }
      const blocked = await call('/api/v1/identity', token, '2001:db8:5:6::77');
      assert.equal(blocked.statusCode, 429, 'a fourth address in the same /64 is blocked');
      assert.equal(blocked.json().error.code, 'rate_limited');
      assert.equal((await call('/api/v1/identity', token, '2001:db8:5:7::1')).statusCode, 200, 'the neighbouring /64 is another client');
      assert.equal((await call('/api/v1/identity', token, '::ffff:198.51.100.30')).statusCode, 200);
      t.clock.advance(60_000);
      assert.equal((await call('/api/v1/identity', token, '2001:db8:5:6::77')).statusCode, 200);
    });

    test('password spraying from one IPv6 /64 is limited like spraying from one address', async () => {
      const signIn = (email: string, password: string, remoteAddress: string) =>
        t.app.inject({ method: 'POST', url: '/api/v1/session', remoteAddress, payload: { email, password } });
      for (const [i, address] of ['2001:db8:9:9::1', '2001:db8:9:9::2', '2001:db8:9:9::3'].entries()) {
        assert.equal((await signIn(`user${i}@example.com`, 'Winter2026!', address)).statusCode, 401);
      }
      const limited = await signIn('owner@example.com', 'correct horse battery staple', '2001:db8:9:9::4');
      assert.equal(limited.statusCode, 429, 'a fourth address of the /64 waits, even with the right password');
      assert.equal(limited.json().error.code, 'rate_limited');
      assert.deepEqual([limited.headers['ratelimit-limit'], limited.headers['ratelimit-remaining']], ['3', '0'], 'the address limit reached, not the account\'s');
      assert.equal((await signIn('owner@example.com', 'correct horse battery staple', '2001:db8:9:a::1')).statusCode, 200, 'the next /64 signs in');
      t.clock.advance(15 * 60_000);
    });

    test('a key Latchkey knows but refuses (revoked, disabled) is no guess: a monitor still sending one never locks out its address', async () => {
      const { token } = await keyWith(null);
      const address = '198.51.100.40';
      const revoked = (await t.request({ method: 'POST', url: '/api/v1/api_keys', token: t.ownerToken, payload: { name: 'old', scope: 'global' } })).json() as { token: string; api_key: { id: string } };
      const disabled = (await t.request({ method: 'POST', url: '/api/v1/api_keys', token: t.ownerToken, payload: { name: 'paused', scope: 'global' } })).json() as { token: string; api_key: { id: string } };
      assert.equal((await t.request({ method: 'DELETE', url: `/api/v1/api_keys/${revoked.api_key.id}`, token: t.ownerToken })).statusCode, 204);
      assert.equal((await t.request({ method: 'POST', url: `/api/v1/api_keys/${disabled.api_key.id}/disable`, token: t.ownerToken })).statusCode, 200);
      for (let i = 0; i < 5; i++) {
        assert.equal((await call('/api/v1/identity', revoked.token, address)).json().error.code, 'token_revoked');
        assert.equal((await call('/api/v1/identity', disabled.token, address)).json().error.code, 'token_disabled');
      }
      assert.equal((await call('/api/v1/identity', token, address)).statusCode, 200, 'ten refusals of known keys, and the address is not blocked');
      const unknown = 'lkg_' + 'B'.repeat(36);
      for (let i = 0; i < 3; i++) assert.equal((await call('/api/v1/identity', unknown, address)).json().error.code, 'invalid_token');
      assert.equal((await call('/api/v1/identity', token, address)).statusCode, 429, 'three unknown tokens are three guesses');
      t.clock.advance(60_000);
    });

    test('a request offering no credential is refused without counting against its address; a stale session cookie counts', async () => {
      const { token } = await keyWith(null);
      const address = '198.51.100.20';
      for (let i = 0; i < 10; i++) {
        const probe = await t.app.inject({ method: 'GET', url: '/api/v1/session', remoteAddress: address });
        assert.equal(probe.statusCode, 401, 'a signed-out console asking whether it is signed in');
        const bare = await t.app.inject({ method: 'GET', url: '/api/v1/identity', remoteAddress: address });
        assert.equal(bare.json().error.code, 'missing_token');
      }
      assert.equal((await call('/api/v1/identity', token, address)).statusCode, 200, 'twenty requests with nothing to check did not block the address');

      const stale = { cookie: 'latchkey_session=no-such-session' };
      for (let i = 0; i < 3; i++) {
        const answer = await t.app.inject({ method: 'GET', url: '/api/v1/session', remoteAddress: address, headers: stale });
        assert.equal(answer.statusCode, 401);
      }
      assert.equal((await call('/api/v1/identity', token, address)).statusCode, 429, 'three guesses at a session id are three failures');
      t.clock.advance(60_000);
    });

    test('integration keys are limited on the Events API, answered as PagerDuty does with 429', async () => {
      const teamId = (await t.request({ method: 'POST', url: '/api/v1/teams', token: t.ownerToken, payload: { name: 'ops' } })).json().team.id;
      const serviceId = (await t.request({ method: 'POST', url: '/api/v1/services', token: t.ownerToken, payload: { team_id: teamId, name: 'db' } })).json().service.id;
      const { token: routingKey } = await keyWith(6, { kind: 'events', scope: 'service', service_id: serviceId });
      const event = (n: number) => t.app.inject({ method: 'POST', url: '/v2/enqueue', payload: { routing_key: routingKey, event_action: 'trigger', payload: { summary: `e${n}`, source: 's', severity: 'info' } } });
      const first = await event(1);
      assert.equal(first.statusCode, 202);
      assert.equal(first.headers['ratelimit-limit'], '6');
      const second = await event(2);
      assert.equal(second.statusCode, 429);
      assert.equal(second.json().code, 'rate_limited');
      assert.equal(second.headers['retry-after'], '10');

      const { token: readOnly } = await keyWith(6, { kind: 'events', scope: 'service', service_id: serviceId, read_only: true });
      const send = () => t.app.inject({ method: 'POST', url: '/v2/enqueue', payload: { routing_key: readOnly, event_action: 'trigger', payload: { summary: 'ro', source: 's', severity: 'info' } } });
      const refused = await send();
      assert.equal(refused.json().code, 'read_only_token');
      assert.equal(refused.headers['ratelimit-limit'], '6', 'a refusal carries the limit too');
      assert.equal((await send()).statusCode, 429);
    });

    test('invalid events are no way around the failed-authentication limit: a wrong routing key counts, and past the limit none is looked up', async () => {
      // Invalid events once had their routing key looked up (HMAC and a database read) whatever the
      // address had failed, and a wrong one never counted: unlimited token work from anyone.
      const teamId = (await t.request({ method: 'POST', url: '/api/v1/teams', token: t.ownerToken, payload: { name: 'invalid' } })).json().team.id;
      const serviceId = (await t.request({ method: 'POST', url: '/api/v1/services', token: t.ownerToken, payload: { team_id: teamId, name: 'db' } })).json().service.id;
      const { token: routingKey } = await keyWith(null, { kind: 'events', scope: 'service', service_id: serviceId });
      const address = '203.0.113.9';
      const send = (payload: object) => t.app.inject({ method: 'POST', url: '/v2/enqueue', remoteAddress: address, payload });
      const invalid = (key: string) => send({ routing_key: key, event_action: 'explode' });
      const made = () => formatToken('events', (n) => randomBytes(n));
      assert.equal((await invalid(routingKey)).statusCode, 400, 'a valid key on an invalid event is no failure');
      assert.equal((await invalid('')).statusCode, 400, 'nor is a blank one: nothing was offered');
      assert.equal((await send({ routing_key: routingKey, event_action: 'trigger', payload: { summary: 'ok', source: 's', severity: 'info' } })).statusCode, 202);
      for (let i = 0; i < 3; i++) assert.equal((await invalid(made())).statusCode, 400, 'still answered as PagerDuty does');
      const blocked = await send({ routing_key: routingKey, event_action: 'trigger', payload: { summary: 'late', source: 's', severity: 'info' } });
      assert.equal(blocked.statusCode, 429, 'three made-up keys are three failed authentications');
      const cached = t.services.cache.size;
      for (let i = 0; i < 20; i++) assert.equal((await invalid(made())).statusCode, 400);
      assert.equal(t.services.cache.size, cached, 'past the limit, no routing key was looked up');
      t.clock.advance(60_000);
    });
  });
}

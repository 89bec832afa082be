import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createApiLogService } from '../../src/services/api-logs.js';
import { createApiLogStore } from '../../src/storage/api-log-store.js';
import { GLOBAL_REACH } from '../../src/domain/access/scope.js';
import { openTestConnection } from '../support/database.js';
import { createTestClock, startTestApp, testDatabases, type TestApp } from '../support/harness.js';
import { asSession, createUser, signIn } from '../support/platform.js';

const HOUR = 3_600_000;

for (const db of testDatabases()) {
  describe(`debug API logs on ${db.name}`, () => {
    let t: TestApp;
    let teamId: string;
    const call = (method: 'GET' | 'POST' | 'PATCH', url: string, token: string, payload?: unknown) =>
      t.request({ method, url, token, ...(payload !== undefined && { payload: payload as object }) });
    const logsOf = async (keyId: string, query = '') => {
      const answer = await call('GET', `/api/v1/api_logs?api_key_id=${keyId}${query}`, t.ownerToken);
      assert.equal(answer.statusCode, 200, answer.body);
      return answer.json().api_logs as Array<Record<string, any>>;
    };
    const newKey = async (body: Record<string, unknown> = {}) =>
      (await call('POST', '/api/v1/api_keys', t.ownerToken, { name: 'monitor', scope: 'global', roles: ['incident_creator'], ...body })).json() as { token: string; api_key: { id: string } };

    before(async () => {
      t = await startTestApp(db);
      teamId = (await call('POST', '/api/v1/teams', t.ownerToken, { name: 'ops' })).json().team.id;
      await call('POST', '/api/v1/services', t.ownerToken, { team_id: teamId, name: 'db', api_filter: { path: 'source', op: 'equals', value: 'db' } });
    });
    after(() => t.close());

    test('debug off: nothing is stored at all', async () => {
      const key = await newKey();
      await call('POST', '/api/v1/incidents', key.token, { source: 'db', title: 'quiet' });
      await call('GET', '/api/v1/identity', key.token);
      assert.deepEqual(await logsOf(key.api_key.id), []);
    });

    test('debug on: every request is logged, credentials redacted, incidents created listed', async () => {
      const key = await newKey({ debug: true });
      const created = await call('POST', '/api/v1/incidents', key.token, { source: 'db', title: 'logged', password: 'hunter2', nested: { token: 'abc' } });
      assert.equal(created.statusCode, 201);
      await t.request({ method: 'GET', url: `/api/v1/roles?token=${key.token}` });
      await call('PATCH', `/api/v1/api_keys/${key.api_key.id}`, key.token, { name: 'x' }); // refused: incident_creator has no api_keys:write
      await call('GET', '/api/v1/identity', key.token);
      const logs = await logsOf(key.api_key.id);
      assert.equal(logs.length, 4);
      const [identity, refused, viaQuery, post] = logs;
      assert.equal(JSON.parse(identity!.response_body).api_key.id, key.api_key.id, 'a key object in an answer is kept: it holds no secret');
      assert.equal(post!.method, 'POST');
      assert.equal(post!.status, 201);
      assert.deepEqual(post!.incident_ids, [created.json().incidents[0].id]);
      assert.equal(post!.headers.authorization, '[REDACTED]');
      assert.deepEqual(JSON.parse(post!.request_body), { source: 'db', title: 'logged', password: '[REDACTED]', nested: { token: '[REDACTED]' } });
      assert.equal(JSON.parse(post!.response_body).status, 'created');
      assert.equal(viaQuery!.path, '/api/v1/roles?token=[REDACTED]');
      assert.equal(refused!.status, 403);
      assert.equal(refused!.error_code, 'insufficient_permissions');
      assert.ok(typeof post!.duration_ms === 'number');
      const everything = JSON.stringify(logs);
      assert.equal(everything.includes(key.token), false, 'the token appears nowhere in the logs');
      assert.equal(everything.includes(key.token.slice(4, 20)), false);
    });

    test('no credential is stored wherever a client put it: a current_password, a token in any string, field name or header', async () => {
      // Field names alone once decided: current_password and a token pasted into a message, a
      // Referer or a header Latchkey does not read were stored as sent.
      const member = await createUser(t, 'member');
      const session = asSession(t, await signIn(t, member.email));
      const personal = (await session.post('/users/me/api_keys', { name: 'mine', debug: true })).json() as { token: string; api_key: { id: string } };
      const other = await newKey();
      const refused = await call('PATCH', `/api/v1/users/${member.id}`, personal.token, { password: 'a new long password', current_password: 'the present password' });
      assert.equal(refused.statusCode, 403, refused.body);
      const sent = await t.request({
        method: 'POST', url: '/api/v1/incidents', token: personal.token,
        headers: { referer: `https://console.example/?token=${other.token}`, 'x-auth-token': other.token },
        payload: { source: 'nowhere', note: `deploy with ${other.token}`, list: [`Bearer ${other.token}`], [other.token]: 1, Current_Password: 'x' },
      });
      assert.equal(sent.statusCode, 200, sent.body);
      const text = await t.request({ method: 'POST', url: '/api/v1/incidents', token: personal.token, headers: { 'content-type': 'text/plain' }, payload: `token ${other.token}` });
      assert.equal(text.statusCode, 200, text.body);
      const [plain, incident, patch] = await logsOf(personal.api_key.id);
      assert.deepEqual(JSON.parse(patch!.request_body), { password: '[REDACTED]', current_password: '[REDACTED]' });
      assert.deepEqual(JSON.parse(incident!.request_body), {
        source: 'nowhere', note: 'deploy with [REDACTED]', list: ['Bearer [REDACTED]'], '[REDACTED]': 1, Current_Password: '[REDACTED]',
      });
      assert.equal(incident!.headers.referer, 'https://console.example/?token=[REDACTED]');
      assert.equal(incident!.headers['x-auth-token'], '[REDACTED]');
      assert.equal(plain!.request_body, 'token [REDACTED]');
      const everything = JSON.stringify([plain, incident, patch]);
      for (const secret of [other.token, personal.token, 'the present password']) assert.equal(everything.includes(secret), false, `${secret} stored`);
    });

    test('a password sent in a list or an object is redacted all the same', async () => {
      // Only an object under a credential's name is walked (the api_key an answer shows); a password
      // a client wrapped in a list or an object was stored as sent.
      const key = await newKey({ debug: true });
      const sent = await call('POST', '/api/v1/incidents', key.token, {
        source: 'nowhere', password: ['hunter2 in a list'], current_password: { value: 'hunter2 in an object' }, secret: [['deep hunter2']],
      });
      assert.equal(sent.statusCode, 200, sent.body);
      const [logged] = await logsOf(key.api_key.id);
      assert.deepEqual(JSON.parse(logged!.request_body), { source: 'nowhere', password: '[REDACTED]', current_password: '[REDACTED]', secret: '[REDACTED]' });
    });

    test('large bodies are truncated and say so; filters by status work', async () => {
      const key = await newKey({ debug: true });
      await call('POST', '/api/v1/incidents', key.token, { source: 'nowhere', blob: 'x'.repeat(20_000) });
      const [entry] = await logsOf(key.api_key.id);
      assert.equal(entry!.truncated, true);
      assert.equal(entry!.request_body.length, 8192);
      assert.equal((await logsOf(key.api_key.id, '&status=200')).length, 1);
      assert.equal((await logsOf(key.api_key.id, '&status=201')).length, 0);
    });

    test('a body nested too deep to take is logged as refused, without its body, as malformed JSON is', async () => {
      // Redacting it once ran out of stack, and the request a debugging sender most needs to see went unlogged.
      const key = await newKey({ debug: true });
      const depth = 20_000;
      for (const payload of [`{"source":"db","password":"hunter2","nested":${'{"a":'.repeat(depth)}null${'}'.repeat(depth)}}`, '{"source":']) {
        const refused = await t.request({
          method: 'POST', url: '/api/v1/incidents', headers: { authorization: `Bearer ${key.token}`, 'content-type': 'application/json' }, payload,
        });
        assert.equal(refused.statusCode, 400, refused.body);
      }
      const entries = await logsOf(key.api_key.id);
      assert.deepEqual(entries.map((e) => [e.status, e.error_code, e.request_body]), [[400, 'validation_failed', null], [400, 'validation_failed', null]]);
    });

    test('debug switches itself off 48 hours after it was switched on, and the audit trail shows both switches', async () => {
      const key = await newKey();
      const on = await call('PATCH', `/api/v1/api_keys/${key.api_key.id}`, t.ownerToken, { debug: true });
      assert.equal(on.json().api_key.debug.enabled, true);
      t.clock.advance(47 * HOUR);
      await call('GET', '/api/v1/identity', key.token);
      assert.equal((await logsOf(key.api_key.id)).length, 1);
      t.clock.advance(HOUR);
      await call('GET', '/api/v1/identity', key.token);
      assert.equal((await logsOf(key.api_key.id)).length, 1, 'nothing logged once the 48 hours are over');
      const shown = await call('GET', `/api/v1/api_keys/${key.api_key.id}`, t.ownerToken);
      assert.deepEqual(shown.json().api_key.debug, { enabled: false, until: null });
      // Keys switched on earlier in this suite ran out too.
      assert.ok((await t.services.apiKeys.expireDebug()) >= 1);
      assert.equal(await t.services.apiKeys.expireDebug(), 0, 'recorded once');
      const trail = (await call('GET', `/api/v1/audit_events?target_id=${key.api_key.id}`, t.ownerToken)).json().audit_events as Array<{ action: string; actor: { type: string } }>;
      const actions = trail.map((e) => e.action);
      assert.deepEqual(actions.slice(0, 2), ['api_key.debug_expired', 'api_key.updated']);
      assert.equal(trail[0]!.actor.type, 'system');
    });

    test('logs older than the retention are purged', async () => {
      const key = await newKey({ debug: true });
      await call('GET', '/api/v1/identity', key.token);
      await t.services.apiLogs.flush();
      t.clock.advance(7 * 24 * HOUR + 1);
      assert.ok((await t.services.apiLogs.purge()) >= 1);
      assert.deepEqual(await logsOf(key.api_key.id), []);
    });

    test('a team key sees the logs of its team only', async () => {
      const manager = await call('POST', '/api/v1/api_keys', t.ownerToken, { name: 'mgr', scope: 'team', team_id: teamId, roles: ['api_keys_manage'] });
      // api_keys_manage is granted by the operator here, as an API key cannot.
      assert.equal(manager.statusCode, 403);
      const issued = await t.services.apiKeys.create((await import('../../src/services/setup.js')).OPERATOR,
        { name: 'mgr', scope: 'team', team_id: teamId, roles: ['api_keys_manage'] }, { ip: null, requestId: null });
      const teamKey = await newKey({ scope: 'team', team_id: teamId, debug: true });
      const globalKey = await newKey({ debug: true });
      await call('GET', '/api/v1/identity', teamKey.token);
      await call('GET', '/api/v1/identity', globalKey.token);
      const seen = (await call('GET', '/api/v1/api_logs', issued.token)).json().api_logs as Array<{ api_key_id: string }>;
      assert.ok(seen.length >= 1);
      assert.ok(seen.every((l) => l.api_key_id === teamKey.api_key.id));
    });

    test('a time filter the format allows but no Date can hold (a leap second) is 400 validation_failed, never a 500', async () => {
      for (const route of ['api_logs', 'audit_events']) {
        for (const query of ['since=2026-06-30T23:59:60Z', 'until=2026-12-31T23:59:60%2B00:00']) {
          const answer = await call('GET', `/api/v1/${route}?${query}`, t.ownerToken);
          assert.equal(answer.statusCode, 400, `${route}?${query}: ${answer.body}`);
          assert.equal(answer.json().error.code, 'validation_failed');
          assert.equal(answer.json().error.details.field, query.split('=')[0]);
        }
      }
    });

    test('credentials in the query string are redacted as they are in bodies: passwords, secrets, CSRF tokens, not just token', async () => {
      const key = await newKey({ debug: true });
      const answer = await call('GET', '/api/v1/identity?password=hunter2&current_password=Opensesame1&csrf_token=c5rf&secret=s3cr3t&x=1', key.token);
      assert.equal(answer.statusCode, 200);
      const [entry] = await logsOf(key.api_key.id);
      assert.equal(entry!.path, '/api/v1/identity?password=[REDACTED]&current_password=[REDACTED]&csrf_token=[REDACTED]&secret=[REDACTED]&x=1');
      for (const secret of ['hunter2', 'Opensesame1', 'c5rf', 's3cr3t']) assert.equal(JSON.stringify(entry).includes(secret), false, secret);
    });

    test('a webhook URL, which often carries its own secret, is logged by its origin only, in what was sent and what was answered', async () => {
      const key = await newKey({ debug: true, roles: ['services_editor'] });
      const url = 'https://hooks.example.com/services/T000/B000/very-secret-webhook-token?sig=also-secret';
      const created = await call('POST', '/api/v1/workflows', key.token, { name: 'page', actions: [{ type: 'webhook', url }] });
      assert.equal(created.statusCode, 201, created.body);
      const id = created.json().workflow.id;
      assert.equal((await call('PATCH', `/api/v1/workflows/${id}`, key.token, { actions: [{ type: 'webhook', url: `${url}&v=2` }] })).statusCode, 200);
      assert.equal((await call('GET', `/api/v1/workflows/${id}`, key.token)).statusCode, 200);
      const entries = await logsOf(key.api_key.id);
      assert.equal(entries.length, 3);
      const text = JSON.stringify(entries);
      assert.equal(text.includes('very-secret'), false, 'the URL\'s path is not stored');
      assert.equal(text.includes('also-secret'), false, 'nor its query');
      const [shown, , made] = entries;
      assert.deepEqual(JSON.parse(made!.request_body).actions, [{ type: 'webhook', url: 'https://hooks.example.com/[REDACTED]' }]);
      assert.deepEqual(JSON.parse(shown!.response_body).workflow.actions, [{ type: 'webhook', url: 'https://hooks.example.com/[REDACTED]', timeout_ms: 5000, max_attempts: 3 }]);
    });

    test('a server that starts purges what outlived the retention at once, not an hour later (restarted more often, it never did)', async () => {
      const connection = await openTestConnection(db);
      try {
        const store = createApiLogStore(connection.db);
        const clock = createTestClock();
        const quiet = { error() {}, warn() {} };
        const entry = { apiKeyId: 'K', scope: { type: 'global' as const }, method: 'GET', path: '/api/v1/identity', status: 200, errorCode: null, durationMs: 1, ip: null, headers: {}, requestBody: null, responseBody: null, truncated: false, incidentIds: [] };
        await store.insertMany([{ ...entry, id: '01KA0000000000000000000000', at: new Date(clock.now().getTime() - 8 * 24 * HOUR) }, { ...entry, id: '01KA0000000000000000000001', at: clock.now() }]);
        const service = createApiLogService({ store, clock, ids: () => '01KA0000000000000000000002', retentionDays: 7, flushIntervalMs: 60_000, logger: quiet });
        service.start();
        await service.stop();
        const kept = await store.list({ reach: GLOBAL_REACH, limit: 10 });
        assert.deepEqual(kept.map((e) => e.id), ['01KA0000000000000000000001']);
      } finally {
        await connection.dispose();
      }
    });
  });
}

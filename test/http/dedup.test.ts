import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { DEFAULT_CLAIM_CAPACITY } from '../../src/storage/claim-index.js';
import { eventDatabases, startTestApp, type TestApp } from '../support/harness.js';

for (const db of eventDatabases()) {
  describe(`deduplication on ${db.name}`, () => {
    let t: TestApp;
    let teamId: string;
    const post = (url: string, payload: unknown, token = t.ownerToken) =>
      t.request({ method: 'POST', url, token, headers: { 'content-type': 'application/json' }, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });
    const incidentCount = async () => (await t.request({ method: 'GET', url: '/api/v1/incidents?limit=200', token: t.ownerToken })).json().incidents.length as number;
    const newKey = async (body: Record<string, unknown>) =>
      (await post('/api/v1/api_keys', { name: 'k', scope: 'global', roles: ['incident_creator'], ...body })).json() as { token: string; api_key: { id: string } };

    before(async () => {
      t = await startTestApp(db);
      teamId = (await post('/api/v1/teams', { name: 'ops' })).json().team.id;
      await post('/api/v1/services', { team_id: teamId, name: 'db', api_filter: { path: 'source', op: 'equals', value: 'db' } });
    });
    after(() => t.close());

    test('an identical body within the window is discarded: key order and whitespace do not matter', async () => {
      const first = await post('/api/v1/incidents', { source: 'db', title: 'disk', n: 1 });
      assert.equal(first.statusCode, 201);
      const before = await incidentCount();
      const again = await post('/api/v1/incidents', '{ "n" : 1,\n "title": "disk", "source":"db" }');
      assert.equal(again.statusCode, 200);
      const body = again.json();
      assert.equal(body.status, 'discarded');
      assert.equal(body.reason, 'duplicate');
      assert.equal(body.dedup_window_seconds, 600);
      assert.match(body.message, /discarded/);
      assert.equal(await incidentCount(), before, 'nothing was created');
    });

    test('a different body, another key or another route is not a duplicate', async () => {
      assert.equal((await post('/api/v1/incidents', { source: 'db', title: 'disk', n: 2 })).statusCode, 201);
      const other = await newKey({});
      assert.equal((await post('/api/v1/incidents', { source: 'db', title: 'disk', n: 2 }, other.token)).statusCode, 201);
      const asRequest = await post('/api/v1/requests', { source: 'db', title: 'disk', n: 2 });
      assert.equal(asRequest.statusCode, 201, 'the same body on /requests is its own thing');
    });

    test('the window is per key; after it the same body goes through again', async () => {
      const short = await newKey({ dedup_window_seconds: 30 });
      const body = { source: 'db', title: 'window' };
      assert.equal((await post('/api/v1/incidents', body, short.token)).statusCode, 201);
      t.clock.advance(29_000);
      assert.equal((await post('/api/v1/incidents', body, short.token)).json().status, 'discarded');
      t.clock.advance(1_000);
      assert.equal((await post('/api/v1/incidents', body, short.token)).statusCode, 201);
    });

    test('shortening the window takes effect at once, on the REST routes and the Events API', async () => {
      // Claims once kept the window they were made with: cut from a day to a minute, a body first
      // sent an hour before was still discarded, "within this key's 60 s deduplication window".
      const rest = await newKey({ dedup_window_seconds: 86_400 });
      const events = (await post('/api/v1/api_keys', { name: 'e', kind: 'events', scope: 'global', dedup_window_seconds: 86_400 })).json() as { token: string; api_key: { id: string } };
      const body = { source: 'db', title: 'shortened' };
      const event = { routing_key: events.token, event_action: 'trigger', dedup_key: 'shortened', payload: { summary: 'shortened', source: 'db', severity: 'info' } };
      assert.equal((await post('/api/v1/incidents', body, rest.token)).statusCode, 201);
      assert.equal((await post('/v2/enqueue', event)).json().message, 'Event processed');
      t.clock.advance(3_600_000);
      assert.equal((await post('/api/v1/incidents', body, rest.token)).json().status, 'discarded', 'within the day');
      assert.match((await post('/v2/enqueue', event)).json().message, /discarded/i);
      for (const key of [rest, events]) {
        assert.equal((await t.request({ method: 'PATCH', url: `/api/v1/api_keys/${key.api_key.id}`, token: t.ownerToken, payload: { dedup_window_seconds: 60 } })).statusCode, 200);
      }
      assert.equal((await post('/api/v1/incidents?dry_run=true', body, rest.token)).json().duplicate, false);
      assert.equal((await post('/api/v1/incidents', body, rest.token)).statusCode, 201, 'first sent an hour ago: outside a 60 s window');
      assert.equal((await post('/v2/enqueue', event)).json().message, 'Event processed');
      t.clock.advance(30_000);
      assert.equal((await post('/api/v1/incidents', body, rest.token)).json().status, 'discarded', 'the new claim holds for the new window');
      assert.match((await post('/v2/enqueue', event)).json().message, /discarded/i);
    });

    test('a window of 0 switches deduplication off', async () => {
      const off = await newKey({ dedup_window_seconds: 0 });
      const body = { source: 'db', title: 'no dedup' };
      assert.equal((await post('/api/v1/incidents', body, off.token)).statusCode, 201);
      assert.equal((await post('/api/v1/incidents', body, off.token)).statusCode, 201);
    });

    test('identical requests racing each other create exactly one thing', async () => {
      const before = await incidentCount();
      const answers = await Promise.all(Array.from({ length: 6 }, () => post('/api/v1/incidents', { source: 'db', title: 'race' })));
      assert.deepEqual(answers.map((a) => a.statusCode).sort(), [200, 200, 200, 200, 200, 201]);
      assert.equal(await incidentCount(), before + 1);
    });

    test('a repeat whose incident has been resolved since opens a new one: a flapping alert fires again with the same body', async () => {
      const body = { source: 'db', title: 'flapping', dedup_key: 'flap-rest' };
      const first = await post('/api/v1/incidents', body);
      assert.equal(first.statusCode, 201);
      assert.equal((await post('/api/v1/incidents', body)).json().status, 'discarded', 'while it is open, a repeat is a duplicate');
      const firstId = first.json().incidents[0].id as string;
      assert.equal((await post(`/api/v1/incidents/${firstId}/resolve`, {})).statusCode, 200);
      assert.equal((await post('/api/v1/incidents?dry_run=true', body)).json().duplicate, false, 'the dry run says it would open one');
      const racing = await Promise.all(Array.from({ length: 4 }, () => post('/api/v1/incidents', body)));
      assert.deepEqual(racing.map((a) => a.statusCode).sort(), [200, 200, 200, 201], 'racing re-fires open exactly one');
      const refired = racing.find((a) => a.statusCode === 201)!.json().incidents[0];
      assert.notEqual(refired.id, firstId);
      assert.equal(refired.status, 'triggered');
      assert.equal((await post('/api/v1/incidents', body)).json().status, 'discarded', 'and it holds the claim again');

      const anonymous = { source: 'db', title: 'no dedup key' };
      const opened = (await post('/api/v1/incidents', anonymous)).json().incidents[0].id as string;
      await post(`/api/v1/incidents/${opened}/resolve`, {});
      assert.equal((await post('/api/v1/incidents', anonymous)).json().status, 'discarded', 'without a dedup key nothing says what it repeated: a duplicate');
    });

    test('on the Events API too, a trigger repeated after its incident was resolved opens a new one', async () => {
      const service = (await post('/api/v1/services', { team_id: teamId, name: 'flapping' })).json().service.id as string;
      const events = (await post('/api/v1/api_keys', { name: 'flapping', kind: 'events', scope: 'service', service_id: service })).json() as { token: string };
      const trigger = { routing_key: events.token, event_action: 'trigger', dedup_key: 'flap-events', payload: { summary: 'flapping', source: 'db', severity: 'error' } };
      const openOnes = async () => (await t.request({ method: 'GET', url: '/api/v1/incidents?status=triggered&limit=200', token: t.ownerToken })).json().incidents
        .filter((i: { dedup_key: string }) => i.dedup_key === 'flap-events') as Array<{ id: string }>;
      assert.equal((await post('/v2/enqueue', trigger)).json().message, 'Event processed');
      assert.match((await post('/v2/enqueue', trigger)).json().message, /discarded/i);
      const [first, ...more] = await openOnes();
      assert.ok(first && more.length === 0, 'one incident open');
      assert.equal((await post('/v2/enqueue', { ...trigger, event_action: 'resolve', payload: undefined })).json().message, 'Event processed');
      assert.deepEqual(await openOnes(), []);
      assert.equal((await post('/v2/enqueue', trigger)).json().message, 'Event processed', 'the re-fire is not discarded');
      const reopened = await openOnes();
      assert.equal(reopened.length, 1);
      assert.notEqual(reopened[0]!.id, first!.id);
      assert.match((await post('/v2/enqueue', trigger)).json().message, /discarded/i);
    });

    test('a flapping alert resolved, fired again and resolved again ends resolved: the repeated resolve is not discarded', async () => {
      // Alertmanager sends a flapping alert's resolve with the same body each time, as it does its re-fire.
      const service = (await post('/api/v1/services', { team_id: teamId, name: 'flapping resolves' })).json().service.id as string;
      const events = (await post('/api/v1/api_keys', { name: 'flapping resolves', kind: 'events', scope: 'service', service_id: service })).json() as { token: string };
      const trigger = { routing_key: events.token, event_action: 'trigger', dedup_key: 'flap-resolves', payload: { summary: 'flapping', source: 'db', severity: 'error' } };
      const resolve = { routing_key: events.token, event_action: 'resolve', dedup_key: 'flap-resolves' };
      const openOnes = async () => (await t.request({ method: 'GET', url: `/api/v1/incidents?service_id=${service}&limit=200`, token: t.ownerToken })).json().incidents
        .filter((i: { status: string }) => i.status !== 'resolved') as Array<{ id: string }>;
      for (const event of [trigger, resolve, trigger]) assert.equal((await post('/v2/enqueue', event)).json().message, 'Event processed');
      assert.equal((await openOnes()).length, 1, 'the re-fire opened a new incident');
      assert.equal((await post('/v2/enqueue', resolve)).json().message, 'Event processed', 'the repeated resolve is not discarded');
      assert.deepEqual(await openOnes(), [], 'the re-fired incident is resolved');
      assert.match((await post('/v2/enqueue', resolve)).json().message, /discarded/i, 'with nothing open to resolve, a repeat is a duplicate again');
      const acknowledge = { ...resolve, event_action: 'acknowledge' };
      for (const event of [trigger, acknowledge, resolve, trigger]) assert.equal((await post('/v2/enqueue', event)).json().message, 'Event processed');
      assert.equal((await post('/v2/enqueue', acknowledge)).json().message, 'Event processed', 'a repeated acknowledge acknowledges the incident opened since');
      const [acknowledged] = await openOnes();
      assert.equal((await t.request({ method: 'GET', url: `/api/v1/incidents/${acknowledged!.id}`, token: t.ownerToken })).json().incident.status, 'acknowledged');
      assert.match((await post('/v2/enqueue', acknowledge)).json().message, /discarded/i, 'already acknowledged: a duplicate');

      // On /incidents, a payload matching the service's resolve filter, repeated.
      const resolving = (await post('/api/v1/services', {
        team_id: teamId, name: 'flapping rest', api_filter: { path: 'source', op: 'equals', value: 'flap-rest-resolve' },
        resolve_filter: { path: 'state', op: 'equals', value: 'ok' }, field_mapping: { dedup_key: 'alert' },
      })).json().service.id as string;
      const fired = { source: 'flap-rest-resolve', alert: 'a1', state: 'firing' };
      const cleared = { source: 'flap-rest-resolve', alert: 'a1', state: 'ok' };
      const openOn = async () => (await t.request({ method: 'GET', url: `/api/v1/incidents?service_id=${resolving}&limit=200`, token: t.ownerToken })).json().incidents
        .filter((i: { status: string }) => i.status !== 'resolved') as Array<{ id: string }>;
      assert.equal((await post('/api/v1/incidents', fired)).json().status, 'created');
      assert.equal((await post('/api/v1/incidents', cleared)).json().status, 'resolved');
      assert.equal((await post('/api/v1/incidents', fired)).json().status, 'created', 're-fired');
      assert.equal((await post('/api/v1/incidents?dry_run=true', cleared)).json().duplicate, false, 'the dry run says the repeated resolve would act');
      assert.equal((await post('/api/v1/incidents', cleared)).json().status, 'resolved', 'the repeated resolve is not discarded');
      assert.deepEqual(await openOn(), []);
      assert.equal((await post('/api/v1/incidents', cleared)).json().status, 'discarded', 'nothing open: a duplicate again');
    });

    test('a dry run says whether the body would be discarded, and claims nothing', async () => {
      const body = { source: 'db', title: 'dry' };
      const dry = await post('/api/v1/incidents?dry_run=true', body);
      assert.equal(dry.json().duplicate, false);
      assert.equal((await post('/api/v1/incidents', body)).statusCode, 201, 'the dry run did not claim the body');
      assert.equal((await post('/api/v1/incidents?dry_run=true', body)).json().duplicate, true);
    });

    test('a request from a key that is not global is refused before anything is claimed, so a retry is refused again, not discarded', async () => {
      const team = await post('/api/v1/api_keys', { name: 'team', scope: 'team', team_id: teamId, roles: ['incident_creator'] });
      const token = team.json().token as string;
      const body = { action: 'restart' };
      const dedup = t.services.dedup;
      const claim = dedup.claim;
      let claims = 0;
      dedup.claim = (...args) => (claims++, claim(...args));
      try {
        for (let i = 0; i < 2; i++) {
          const refused = await post('/api/v1/requests', body, token);
          assert.equal(refused.statusCode, 403);
          assert.equal(refused.json().error.code, 'global_token_required', 'refused again, not discarded as a duplicate');
        }
        assert.equal(claims, 0, 'nothing claimed, nothing written, for a request that cannot run');
        assert.equal((await post('/api/v1/requests', '{"not json', token)).json().error.code, 'global_token_required', 'judged before the body is read');
        assert.equal((await post('/api/v1/requests', body)).statusCode, 201, 'the owner is global: the same body runs');
        assert.equal(claims, 1);
      } finally {
        dedup.claim = claim;
      }
    });
  });
}

describe('the Events API claims the writer thread holds in memory (SQLite file), in /metrics and at their bound', () => {
  let t: TestApp;
  const metric = async (name: string) => {
    const text = (await t.request({ method: 'GET', url: '/metrics' })).body;
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    assert.ok(line, `${name} is in /metrics`);
    return Number(line.split(' ')[1]);
  };
  const enqueue = (routingKey: string, summary: string) => t.request({
    method: 'POST', url: '/v2/enqueue', headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ routing_key: routingKey, event_action: 'trigger', payload: { summary, source: 'db', severity: 'error' } }),
  });
  const eventsKey = async () => {
    const res = await t.request({ method: 'POST', url: '/api/v1/api_keys', token: t.ownerToken, payload: { name: 'monitor', kind: 'events', scope: 'global' } });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().token as string;
  };

  before(async () => {
    t = await startTestApp({ name: 'sqlite-file', url: 'sqlite:' }, { LATCHKEY_DEDUP_MAX_CLAIMS: '3' });
    const team = (await t.request({ method: 'POST', url: '/api/v1/teams', token: t.ownerToken, payload: { name: 'ops' } })).json().team.id;
    await t.request({ method: 'POST', url: '/api/v1/services', token: t.ownerToken, payload: { team_id: team, name: 'db' } });
  });
  after(() => t.close());

  test('held claims and the live ones forgotten at LATCHKEY_DEDUP_MAX_CLAIMS are counted; the quiet key keeps its claim', async () => {
    const [noisy, quiet] = [await eventsKey(), await eventsKey()];
    assert.equal((await enqueue(quiet, 'quiet')).statusCode, 202);
    for (const n of [1, 2]) assert.equal((await enqueue(noisy, `noisy ${n}`)).statusCode, 202);
    assert.equal(await metric('latchkey_dedup_claims_held'), 3);
    assert.equal(await metric('latchkey_dedup_claims_evicted_total'), 0);
    assert.equal((await enqueue(noisy, 'noisy 3')).statusCode, 202);
    assert.equal(await metric('latchkey_dedup_claims_held'), 3);
    assert.equal(await metric('latchkey_dedup_claims_evicted_total'), 1);
    assert.match((await enqueue(quiet, 'quiet')).json().message, /discarded/i, "the quiet key's claim was kept");
    assert.equal((await enqueue(noisy, 'noisy 1')).json().message, 'Event processed', 'the noisy key’s oldest was forgotten: its repeat goes through');
    assert.equal(await metric('latchkey_dedup_claims_evicted_total'), 2, 'that took a claim of its own, at the bound again');
  });
});

test('LATCHKEY_DEDUP_MAX_CLAIMS: 1,000,000 by default; anything but an integer from 1 to 16,000,000 stops the server with the reason', () => {
  assert.equal(loadConfig({}).dedupMaxClaims, 1_000_000);
  assert.equal(DEFAULT_CLAIM_CAPACITY, 1_000_000, 'connections opened without the config (tools, tests) hold as many');
  assert.equal(loadConfig({ LATCHKEY_DEDUP_MAX_CLAIMS: '250000' }).dedupMaxClaims, 250_000);
  for (const bad of ['0', '-5', '1.5', 'lots', '16000001', '1e6x']) {
    assert.throws(() => loadConfig({ LATCHKEY_DEDUP_MAX_CLAIMS: bad }), /LATCHKEY_DEDUP_MAX_CLAIMS must be an integer from 1 to 16000000/, bad);
  }
});

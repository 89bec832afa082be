import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { formatToken, parseToken, TOKEN_FORMATS } from '../../src/domain/tokens/format.js';
import { eventDatabases, startTestApp, type TestApp } from '../support/harness.js';
import { assertError, createKeyViaApi, createTeam, HOUR, json, unique, type Json } from '../support/fixtures.js';

/** An Events API refusal of the credential: PagerDuty's shape, with Latchkey's error code. */
function assertRefused(res: LightMyRequestResponse, status: number, code: string): Json {
  assert.equal(res.statusCode, status, res.body);
  const body = json(res);
  assert.equal(body.code, code, res.body);
  assert.equal(typeof body.message, 'string');
  assert.notEqual(body.status, 'success');
  return body;
}

/** The same key with one character of its random part changed, still in its alphabet. */
function mistype(token: string): string {
  const i = 10;
  const replacement = token[i] === 'a' ? 'b' : 'a';
  return token.slice(0, i) + replacement + token.slice(i + 1);
}

for (const db of eventDatabases()) {
  describe(`Events API v2: routing keys on ${db.name}`, () => {
    let t: TestApp;
    let serviceId: string;

    const enqueue = (payload: unknown, options: { remoteAddress?: string } = {}) =>
      t.request({ method: 'POST', url: '/v2/enqueue', payload: payload as object, ...options });
    /** A distinct trigger each call, so deduplication never interferes unless a test wants it. */
    const trigger = (routingKey: string, options: { remoteAddress?: string } = {}) =>
      enqueue({ routing_key: routingKey, event_action: 'trigger', payload: { summary: unique('event'), source: 'monitor', severity: 'error' } }, options);
    const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
      t.request({ method, url: `/api/v1${url}`, token: t.ownerToken, ...(payload && { payload }) });
    const newKey = (spec: Record<string, unknown> = {}) =>
      createKeyViaApi(t, { kind: 'events', scope: 'service', service_id: serviceId, ...spec });
    const incidentCount = async () => json(await call('GET', '/incidents?limit=200')).incidents.length as number;

    before(async () => {
      t = await startTestApp(db);
      const teamId = await createTeam(t);
      const res = await call('POST', '/services', { team_id: teamId, name: unique('service') });
      assert.equal(res.statusCode, 201, res.body);
      serviceId = json(res).service.id;
    });
    after(() => t.close());

    describe('the right kind of credential', () => {
      test('integration keys are created for a service or globally, in their own format', async () => {
        const service = await newKey();
        assert.match(service.token, /^lke[0-9a-z]{29}$/);
        assert.equal(service.api_key.kind, 'events');
        assert.equal(service.api_key.scope, 'service');
        const global = await newKey({ scope: 'global', service_id: undefined });
        assert.match(global.token, /^lke[0-9a-z]{29}$/);
        assert.equal(global.api_key.scope, 'global');
        assert.equal((await trigger(service.token)).statusCode, 202);
        assert.equal((await trigger(global.token)).statusCode, 202);
      });

      test('a REST token as routing_key is refused with wrong_token_kind, saying what is needed', async () => {
        const rest = await createKeyViaApi(t, { scope: 'global', roles: ['incident_creator'] });
        const before = await incidentCount();
        for (const token of [rest.token, t.ownerToken]) {
          const body = assertRefused(await trigger(token), 401, 'wrong_token_kind');
          assert.match(body.message, /integration key/);
          assert.equal(JSON.stringify(body).includes(token), false, 'the token is not echoed');
        }
        assert.equal(await incidentCount(), before);
      });

      test('an integration key on the REST API is refused with wrong_token_kind', async () => {
        const { token } = await newKey();
        assertError(await t.request({ method: 'GET', url: '/api/v1/identity', token }), 401, 'wrong_token_kind');
        assertError(await t.request({ method: 'POST', url: '/api/v1/incidents', token, payload: { title: 'x' } }), 401, 'wrong_token_kind');
      });

      test('a mistyped routing key is refused by its checksum, with no database lookup', async () => {
        const { token } = await newKey();
        const typo = mistype(token);
        assert.deepEqual(parseToken(typo), { ok: false, reason: 'checksum' });

        // A well-formed key the server has never issued is looked up, and its absence remembered
        // in the key cache; a mistyped one never gets that far, so the cache does not grow.
        const unknown = formatToken('events', (n) => randomBytes(n));
        assert.equal(unknown.length, TOKEN_FORMATS.events.prefix.length + TOKEN_FORMATS.events.bodyLength);
        const cached = t.services.cache.size;
        assertRefused(await trigger(unknown), 401, 'invalid_token');
        assert.equal(t.services.cache.size, cached + 1, 'the made-up key was looked up');

        const beforeTypo = t.services.cache.size;
        assertRefused(await trigger(typo), 401, 'invalid_token');
        assertRefused(await trigger('lke-not-even-close'), 401, 'invalid_token');
        assert.equal(t.services.cache.size, beforeTypo, 'the mistyped key was not looked up');
      });
    });

    describe('the key lifecycle applies to integration keys', () => {
      test('rotate with grace: the old key works during the grace, then token_rotated', async () => {
        const { api_key: key, token: old } = await newKey();
        const rotated = await call('POST', `/api_keys/${key.id}/rotate`, { grace_period_seconds: 60 });
        assert.equal(rotated.statusCode, 200, rotated.body);
        const fresh = json(rotated).token as string;
        assert.match(fresh, /^lke[0-9a-z]{29}$/);
        assert.equal((await trigger(old)).statusCode, 202, 'old key within the grace');
        assert.equal((await trigger(fresh)).statusCode, 202);
        await t.services.recorder.flush();
        const shown = json(await call('GET', `/api_keys/${key.id}`)).api_key;
        assert.equal(shown.previous_token.token_hint, `lke…${old.slice(-4)}`);
        assert.ok(shown.previous_token.last_used_at, 'the operator can see the old key is still in use');

        t.clock.advance(60_000);
        assertRefused(await trigger(old), 401, 'token_rotated');
        assert.equal((await trigger(fresh)).statusCode, 202);
      });

      test('disable → token_disabled, enable → accepted again', async () => {
        const { api_key: key, token } = await newKey();
        assert.equal((await call('POST', `/api_keys/${key.id}/disable`)).statusCode, 200);
        const before = await incidentCount();
        assertRefused(await trigger(token), 401, 'token_disabled');
        assert.equal(await incidentCount(), before);
        assert.equal((await call('POST', `/api_keys/${key.id}/enable`)).statusCode, 200);
        assert.equal((await trigger(token)).statusCode, 202);
      });

      test('revoke → token_revoked on the very next event', async () => {
        const { api_key: key, token } = await newKey();
        assert.equal((await trigger(token)).statusCode, 202);
        assert.equal((await call('DELETE', `/api_keys/${key.id}`)).statusCode, 204);
        assertRefused(await trigger(token), 401, 'token_revoked');
      });

      test('an expired key → token_expired', async () => {
        const expiresAt = new Date(t.clock.now().getTime() + HOUR).toISOString();
        const { token } = await newKey({ expires_at: expiresAt });
        assert.equal((await trigger(token)).statusCode, 202);
        t.clock.advance(HOUR);
        assertRefused(await trigger(token), 401, 'token_expired');
      });

      test('a read-only key → 403 read_only_token on both routes, nothing written; made writable, accepted again', async () => {
        // read_only was shown on integration keys but never applied: a read-only key opened incidents.
        const { api_key: key, token } = await newKey({ read_only: true });
        assert.equal(key.read_only, true);
        const changeCount = async () => json(await call('GET', `/services/${serviceId}/change_events?limit=200`)).change_events.length as number;
        const before = await incidentCount();
        const changesBefore = await changeCount();
        assertRefused(await trigger(token), 403, 'read_only_token');
        assertRefused(await enqueue({ routing_key: token, event_action: 'resolve', dedup_key: 'any' }), 403, 'read_only_token');
        assertRefused(await t.request({ method: 'POST', url: '/v2/change/enqueue', payload: { routing_key: token, payload: { summary: 'deploy' } } }), 403, 'read_only_token');
        assert.equal(await incidentCount(), before);
        assert.equal(await changeCount(), changesBefore);
        assert.equal((await call('PATCH', `/api_keys/${key.id}`, { read_only: false })).statusCode, 200);
        assert.equal((await trigger(token)).statusCode, 202);
      });

      test('allowed_cidrs: events from elsewhere → 403 ip_not_allowed', async () => {
        const { token } = await newKey({ allowed_cidrs: ['10.0.0.0/8', '2001:db8::/32'] });
        assert.equal((await trigger(token, { remoteAddress: '10.1.2.3' })).statusCode, 202);
        assert.equal((await trigger(token, { remoteAddress: '2001:db8::7' })).statusCode, 202);
        const before = await incidentCount();
        assertRefused(await trigger(token, { remoteAddress: '192.168.1.5' }), 403, 'ip_not_allowed');
        assertRefused(await trigger(token), 403, 'ip_not_allowed');
        assert.equal(await incidentCount(), before);
      });
    });

    describe('deduplication', () => {
      test("an identical event within the key's window is discarded: 202 saying so, nothing changes", async () => {
        const { token } = await newKey({ dedup_window_seconds: 120 });
        const event = { routing_key: token, event_action: 'trigger', dedup_key: unique('dup').replace(' ', '-'), payload: { summary: 'same', source: 'm', severity: 'info' } };
        assert.equal((await enqueue(event)).statusCode, 202);
        const incidents = json(await call('GET', '/incidents?limit=200')).incidents;
        const incident = incidents.find((i: Json) => i.dedup_key === event.dedup_key);

        t.clock.advance(119_000);
        const again = await enqueue({ payload: event.payload, dedup_key: event.dedup_key, event_action: 'trigger', routing_key: token });
        assert.equal(again.statusCode, 202, again.body);
        assert.equal(json(again).status, 'success');
        assert.match(json(again).message, /discarded/i);
        assert.equal(json(again).dedup_key, event.dedup_key);
        const unchanged = json(await call('GET', `/incidents/${incident.id}`)).incident;
        assert.equal(unchanged.alert_count, 1, 'the duplicate added nothing');
        assert.equal(json(await call('GET', '/incidents?limit=200')).incidents.length, incidents.length);

        const different = await enqueue({ ...event, payload: { ...event.payload, summary: 'not the same' } });
        assert.equal(json(different).message, 'Event processed');
        t.clock.advance(1_000);
        assert.equal(json(await enqueue(event)).message, 'Event processed', 'after the window the same event counts again');
        assert.equal(json(await call('GET', `/incidents/${incident.id}`)).incident.alert_count, 3);
      });

      test('a discarded trigger sent without a dedup key still answers with the key of the incident it repeats', async () => {
        // The discard answered no dedup_key at all: PagerDuty's 202 always carries one, pdpyras raises
        // "Malformed response body" without it, and a sender retrying a trigger whose first answer it
        // lost was left with no key to resolve the incident by.
        const { token } = await newKey({ dedup_window_seconds: 600 });
        const event = { routing_key: token, event_action: 'trigger', payload: { summary: unique('keyless'), source: 'm', severity: 'info' } };
        const first = json(await enqueue(event));
        assert.equal(first.message, 'Event processed');
        t.clock.advance(5_000);
        const answers = await Promise.all([enqueue(event), enqueue({ ...event, dedup_key: '' })]);
        const again = json(answers[0]);
        assert.equal(answers[0].statusCode, 202, answers[0].body);
        assert.match(again.message, /discarded/i);
        assert.equal(again.dedup_key, first.dedup_key, 'the key the first answer gave');
        assert.notEqual(json(answers[1]).dedup_key, first.dedup_key, 'a different body is another alert');

        const incidents = () => call('GET', '/incidents?limit=200').then((res) => json(res).incidents.filter((i: Json) => i.dedup_key === first.dedup_key) as Json[]);
        assert.equal((await incidents()).length, 1);
        assert.equal(json(await enqueue({ routing_key: token, event_action: 'resolve', dedup_key: again.dedup_key })).message, 'Event processed');
        assert.equal((await incidents())[0].status, 'resolved');
      });

      test('identical events racing each other: exactly one is processed, the claim committed with it', async () => {
        const { token } = await newKey({ dedup_window_seconds: 600 });
        const event = { routing_key: token, event_action: 'trigger', dedup_key: unique('race').replace(' ', '-'), payload: { summary: 'raced', source: 'm', severity: 'info' } };
        const answers = await Promise.all(Array.from({ length: 6 }, () => enqueue(event)));
        assert.deepEqual(answers.map((a) => a.statusCode), [202, 202, 202, 202, 202, 202]);
        const messages = answers.map((a) => json(a).message as string);
        assert.equal(messages.filter((m) => m === 'Event processed').length, 1, messages.join(' | '));
        assert.equal(messages.filter((m) => /discarded/i.test(m)).length, 5);
        const incident = json(await call('GET', '/incidents?limit=200')).incidents.find((i: Json) => i.dedup_key === event.dedup_key);
        assert.equal(incident.alert_count, 1);
      });

      test('an identical change event within the window is discarded and stored once', async () => {
        const { token } = await newKey({ dedup_window_seconds: 600 });
        const change = { routing_key: token, payload: { summary: unique('deploy'), source: 'ci' } };
        const changeEnqueue = (payload: object) => t.request({ method: 'POST', url: '/v2/change/enqueue', payload });
        const first = await changeEnqueue(change);
        assert.equal(json(first).message, 'Change event processed', first.body);
        const again = await changeEnqueue(change);
        assert.equal(again.statusCode, 202);
        assert.match(json(again).message, /discarded/i);
        const stored = json(await call('GET', `/services/${serviceId}/change_events?limit=200`)).change_events as Json[];
        assert.equal(stored.filter((c) => c.summary === change.payload.summary).length, 1);
      });

      test('the routing key is no part of what is compared: the same event with a rotated key\'s new token, or in the header, is a duplicate', async () => {
        const { api_key: key, token: old } = await newKey({ dedup_window_seconds: 600 });
        const body = { event_action: 'trigger', payload: { summary: unique('rollover'), source: 'db', severity: 'critical' } };
        const first = json(await enqueue({ ...body, routing_key: old }));
        assert.equal(first.message, 'Event processed');
        const fresh = json(await call('POST', `/api_keys/${key.id}/rotate`, { grace_period_seconds: 3600 })).token as string;
        const before = await incidentCount();
        // Two senders mid-rollover: one still on the old token, one on the new, one sending it in the header.
        const answers = [
          await enqueue({ ...body, routing_key: fresh }),
          await enqueue({ ...body, routing_key: old }),
          await t.request({ method: 'POST', url: '/v2/enqueue', headers: { 'x-routing-key': fresh }, payload: body }),
        ];
        for (const answer of answers) {
          assert.equal(answer.statusCode, 202, answer.body);
          assert.match(json(answer).message, /discarded/i);
          assert.equal(json(answer).dedup_key, first.dedup_key, 'the key the first answer gave');
        }
        assert.equal(await incidentCount(), before);
      });

      test('a window of 0 switches it off', async () => {
        const { token } = await newKey({ dedup_window_seconds: 0 });
        const event = { routing_key: token, event_action: 'trigger', dedup_key: unique('nodup').replace(' ', '-'), payload: { summary: 's', source: 'm', severity: 'info' } };
        assert.equal(json(await enqueue(event)).message, 'Event processed');
        assert.equal(json(await enqueue(event)).message, 'Event processed');
      });
    });

    describe('the routing key in an X-Routing-Key header', () => {
      const withHeader = (routingKey: string, body: Record<string, unknown>, url = '/v2/enqueue') =>
        t.request({ method: 'POST', url, headers: { 'x-routing-key': routingKey }, payload: body });
      const event = (extra: Record<string, unknown> = {}) =>
        ({ event_action: 'trigger', payload: { summary: unique('header event'), source: 'monitor', severity: 'error' }, ...extra });

      test('an event with no routing_key in its body is routed by the header, on both routes', async () => {
        const { token } = await newKey({ dedup_window_seconds: 0 });
        const before = await incidentCount();
        const res = await withHeader(token, event());
        assert.equal(res.statusCode, 202, res.body);
        assert.equal(json(res).message, 'Event processed');
        assert.equal(await incidentCount(), before + 1);
        const resolved = await withHeader(token, { event_action: 'resolve', dedup_key: json(res).dedup_key });
        assert.equal(json(resolved).message, 'Event processed', resolved.body);
        assert.equal((await withHeader(token, event({ routing_key: null }))).statusCode, 202, 'a null routing_key is no key');
        const change = await withHeader(token, { payload: { summary: unique('deploy'), source: 'ci' } }, '/v2/change/enqueue');
        assert.equal(json(change).message, 'Change event processed', change.body);
      });

      test('the same key in the body and the header is accepted; two different keys are refused as invalid, nothing written', async () => {
        const { token } = await newKey({ dedup_window_seconds: 0 });
        const other = await newKey({ dedup_window_seconds: 0 });
        assert.equal((await withHeader(token, event({ routing_key: token }))).statusCode, 202);
        const before = await incidentCount();
        for (const [inBody, inHeader] of [[token, other.token], [other.token, token], [token, mistype(token)]]) {
          const res = await withHeader(inHeader!, event({ routing_key: inBody }));
          assert.equal(res.statusCode, 400, res.body);
          assert.equal(json(res).status, 'invalid event');
          assert.match(json(res).errors[0], /routing_key.*X-Routing-Key/);
          assert.equal(res.body.includes(token), false, 'neither key is echoed');
        }
        assert.equal(await incidentCount(), before);
      });

      test('a header key is verified like one in the body: unknown, revoked, blank', async () => {
        const { api_key: key, token } = await newKey();
        assertRefused(await withHeader(mistype(token), event()), 401, 'invalid_token');
        assert.equal((await call('DELETE', `/api_keys/${key.id}`)).statusCode, 204);
        assertRefused(await withHeader(token, event()), 401, 'token_revoked');
        const blank = await withHeader('', event());
        assert.equal(blank.statusCode, 400, blank.body);
        assert.match(json(blank).errors.join(' '), /routing_key/);
      });

      test('debug logs show neither the header nor the key it put in the body', async () => {
        const { api_key: key, token } = await newKey();
        assert.equal((await call('PATCH', `/api_keys/${key.id}`, { debug: true })).statusCode, 200);
        assert.equal((await withHeader(token, event())).statusCode, 202);
        const logs = await call('GET', `/api_logs?api_key_id=${key.id}`);
        const [entry] = json(logs).api_logs as Json[];
        assert.equal(entry.headers['x-routing-key'], '[REDACTED]');
        assert.equal(JSON.parse(entry.request_body).routing_key, '[REDACTED]');
        assert.equal(logs.body.includes(token.slice(3, -4)), false, 'the key appears nowhere in its logs');
      });

      test('deduplication sees one event whichever way the key was sent', async () => {
        const { token } = await newKey({ dedup_window_seconds: 600 });
        const body = event();
        assert.equal(json(await enqueue({ ...body, routing_key: token })).message, 'Event processed');
        const again = await withHeader(token, body);
        assert.equal(again.statusCode, 202, again.body);
        assert.match(json(again).message, /discarded/i);
      });
    });

    describe('debug mode', () => {
      test('logs every event sent with the key, routing_key redacted', async () => {
        const { api_key: key, token } = await newKey();
        assert.equal((await call('PATCH', `/api_keys/${key.id}`, { debug: true })).statusCode, 200);
        const res = await trigger(token);
        assert.equal(res.statusCode, 202);
        const invalid = await enqueue({ routing_key: token, event_action: 'trigger', payload: { summary: 'no source', severity: 'info' } });
        assert.equal(invalid.statusCode, 400);

        const logs = await call('GET', `/api_logs?api_key_id=${key.id}`);
        assert.equal(logs.statusCode, 200, logs.body);
        const entries = json(logs).api_logs as Json[];
        assert.equal(entries.length, 2, logs.body);
        const [refused, processed] = entries;
        assert.equal(processed.method, 'POST');
        assert.equal(processed.path, '/v2/enqueue');
        assert.equal(processed.status, 202);
        assert.equal(JSON.parse(processed.request_body).routing_key, '[REDACTED]');
        assert.equal(JSON.parse(processed.response_body).dedup_key, json(res).dedup_key);
        const [incident] = json(await call('GET', '/incidents?limit=200')).incidents.filter((i: Json) => i.dedup_key === json(res).dedup_key);
        assert.deepEqual(processed.incident_ids, [incident.id]);
        assert.equal(refused.status, 400);
        assert.equal(refused.error_code, 'validation_failed');
        assert.equal(JSON.parse(refused.request_body).routing_key, '[REDACTED]');
        assert.match(JSON.parse(refused.response_body).errors[0], /payload\.source/);
        assert.equal(logs.body.includes(token), false, 'the key appears nowhere in its logs');
        assert.equal(logs.body.includes(token.slice(3, -4)), false);
      });

      test('debug off: nothing is logged', async () => {
        const { api_key: key, token } = await newKey();
        assert.equal((await trigger(token)).statusCode, 202);
        assert.deepEqual(json(await call('GET', `/api_logs?api_key_id=${key.id}`)).api_logs, []);
      });
    });
  });
}

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { MAX_PAYLOAD_DEPTH } from '../../src/domain/json.js';
import { eventDatabases, startTestApp, type TestApp } from '../support/harness.js';
import { createKeyViaApi, createTeam, json, unique, type Json } from '../support/fixtures.js';

/** PagerDuty's refusal of a malformed event: exactly these three fields. */
function assertInvalidEvent(res: LightMyRequestResponse, ...expected: RegExp[]): string[] {
  assert.equal(res.statusCode, 400, res.body);
  const body = json(res);
  assert.deepEqual(Object.keys(body).sort(), ['errors', 'message', 'status'], res.body);
  assert.equal(body.status, 'invalid event');
  assert.equal(body.message, 'Event object is invalid');
  assert.ok(Array.isArray(body.errors) && body.errors.length > 0, res.body);
  for (const pattern of expected) assert.ok(body.errors.some((e: string) => pattern.test(e)), `no error matching ${pattern}: ${res.body}`);
  return body.errors;
}

function assertProcessed(res: LightMyRequestResponse): string {
  assert.equal(res.statusCode, 202, res.body);
  const body = json(res);
  assert.deepEqual(Object.keys(body).sort(), ['dedup_key', 'message', 'status'], res.body);
  assert.equal(body.status, 'success');
  assert.equal(body.message, 'Event processed');
  assert.equal(typeof body.dedup_key, 'string');
  assert.ok(body.dedup_key.length > 0);
  return body.dedup_key;
}

for (const db of eventDatabases()) {
  describe(`Events API v2: processing and validation on ${db.name}`, () => {
    let t: TestApp;
    let teamId: string;
    /** No API filter: accepts whatever its own service key sends, nothing routed by a global key. */
    let plain: string;
    /** Filtered on payload.source = db-1. */
    let dbService: string;
    /** Filtered on payload.component = nginx. */
    let web: string;
    let plainKey: string;
    let dbKey: string;
    let globalKey: string;

    const enqueue = (payload: unknown, url = '/v2/enqueue') =>
      t.request({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });
    const trigger = (routingKey: string, payload: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
      enqueue({ routing_key: routingKey, event_action: 'trigger', payload: { summary: unique('summary'), source: 'monitor', severity: 'warning', ...payload }, ...extra });
    const settle = (routingKey: string, action: 'acknowledge' | 'resolve', dedupKey: string) =>
      enqueue({ routing_key: routingKey, event_action: action, dedup_key: dedupKey });
    const rest = async (url: string) => {
      const res = await t.request({ method: 'GET', url: `/api/v1${url}`, token: t.ownerToken });
      assert.equal(res.statusCode, 200, res.body);
      return json(res);
    };
    const incidentsWith = async (dedupKey: string): Promise<Json[]> =>
      (await rest('/incidents?limit=200')).incidents.filter((i: Json) => i.dedup_key === dedupKey);
    const incidentCount = async () => (await rest('/incidents?limit=200')).incidents.length as number;
    const newService = async (name: string, apiFilter: unknown) => {
      const res = await t.request({ method: 'POST', url: '/api/v1/services', token: t.ownerToken, payload: { team_id: teamId, name: unique(name), api_filter: apiFilter } });
      assert.equal(res.statusCode, 201, res.body);
      return json(res).service.id as string;
    };
    /** Deduplication off, so tests may repeat an event on purpose. */
    const integrationKey = async (spec: Record<string, unknown>) =>
      (await createKeyViaApi(t, { kind: 'events', dedup_window_seconds: 0, ...spec })).token;

    before(async () => {
      t = await startTestApp(db);
      teamId = await createTeam(t);
      plain = await newService('plain', null);
      dbService = await newService('db', { path: 'payload.source', op: 'equals', value: 'db-1' });
      web = await newService('web', { path: 'payload.component', op: 'equals', value: 'nginx' });
      plainKey = await integrationKey({ scope: 'service', service_id: plain });
      dbKey = await integrationKey({ scope: 'service', service_id: dbService });
      globalKey = await integrationKey({ scope: 'global' });
    });
    after(() => t.close());

    describe('trigger, acknowledge, resolve', () => {
      test('a trigger answers 202 with its dedup key and opens an incident from the event', async () => {
        const res = await trigger(plainKey, { summary: 'Disk full on db-1', severity: 'critical', custom_details: { free: '1%' } }, { dedup_key: 'disk-db-1' });
        assert.equal(assertProcessed(res), 'disk-db-1');
        const [incident, ...others] = await incidentsWith('disk-db-1');
        assert.equal(others.length, 0);
        assert.equal(incident.service_id, plain);
        assert.equal(incident.team_id, teamId);
        assert.equal(incident.source, 'events');
        assert.equal(incident.title, 'Disk full on db-1');
        assert.equal(incident.severity, 'critical');
        assert.equal(incident.status, 'triggered');
        assert.equal(incident.alert_count, 1);
        assert.equal(incident.last_payload.payload.summary, 'Disk full on db-1');
        assert.equal('routing_key' in incident.last_payload, false, 'the credential is not stored with the incident');
        assert.equal(JSON.stringify(incident).includes(plainKey), false);
      });

      test('a trigger without a dedup key gets one, returned for follow-ups', async () => {
        const first = assertProcessed(await trigger(plainKey, { summary: 'no key given' }));
        const second = assertProcessed(await trigger(plainKey, { summary: 'no key given either' }));
        assert.notEqual(first, second, 'each trigger without a key opens its own incident');
        const [incident] = await incidentsWith(first);
        assert.equal(incident.title, 'no key given');
        assert.equal(assertProcessed(await settle(plainKey, 'resolve', first)), first);
        assert.equal((await rest(`/incidents/${incident.id}`)).incident.status, 'resolved');
      });

      test('a trigger with a blank dedup key is treated as one without: it gets its own key, returned for follow-ups', async () => {
        // A blank dedup_key (a template whose variable was empty) was taken as the key "": every
        // such trigger piled onto one incident, and the "" returned could not resolve it (a
        // resolve needs a non-blank dedup_key), so that incident stayed open for good.
        const keys = [];
        for (const blank of ['', '', '   ']) {
          const dedupKey = assertProcessed(await trigger(plainKey, { summary: unique('blank key') }, { dedup_key: blank }));
          assert.notEqual(dedupKey.trim(), '', 'a usable dedup key is returned');
          keys.push(dedupKey);
        }
        assert.equal(new Set(keys).size, 3, 'each opens its own incident');
        for (const dedupKey of keys) {
          const [incident, ...others] = await incidentsWith(dedupKey);
          assert.equal(others.length, 0);
          assert.equal(incident.alert_count, 1);
          assertProcessed(await settle(plainKey, 'resolve', dedupKey));
          assert.equal((await rest(`/incidents/${incident.id}`)).incident.status, 'resolved');
        }
        assert.deepEqual(await incidentsWith(''), []);
      });

      test('a trigger with the dedup key of an open incident adds an alert to it', async () => {
        const dedupKey = unique('cpu').replace(' ', '-');
        assertProcessed(await trigger(plainKey, { summary: 'CPU high', severity: 'warning' }, { dedup_key: dedupKey }));
        const before = await incidentCount();
        assertProcessed(await trigger(plainKey, { summary: 'CPU higher', severity: 'error', custom_details: { cpu: 99 } }, { dedup_key: dedupKey }));
        assert.equal(await incidentCount(), before, 'no new incident');
        const [listed] = await incidentsWith(dedupKey);
        const { incident } = await rest(`/incidents/${listed.id}`);
        assert.equal(incident.alert_count, 2);
        assert.equal(incident.title, 'CPU high', 'the incident keeps its first title');
        assert.equal(incident.last_payload.payload.summary, 'CPU higher');
        assert.deepEqual(incident.last_payload.payload.custom_details, { cpu: 99 });
        assert.equal(incident.last_payload.dedup_key, dedupKey);
        assert.equal('routing_key' in incident.last_payload, false);
      });

      test('acknowledge then resolve act on the open incident with that dedup key; a later trigger opens a new one', async () => {
        const dedupKey = unique('lag').replace(' ', '-');
        assertProcessed(await trigger(plainKey, { summary: 'replication lag' }, { dedup_key: dedupKey }));
        const [{ id }] = await incidentsWith(dedupKey);

        assert.equal(assertProcessed(await settle(plainKey, 'acknowledge', dedupKey)), dedupKey);
        let { incident } = await rest(`/incidents/${id}`);
        assert.equal(incident.status, 'acknowledged');
        assert.ok(incident.acknowledged_at);
        assertProcessed(await settle(plainKey, 'acknowledge', dedupKey)); // again: accepted, nothing to change
        assert.equal((await rest(`/incidents/${id}`)).incident.status, 'acknowledged');

        assertProcessed(await trigger(plainKey, { summary: 'still lagging' }, { dedup_key: dedupKey }));
        ({ incident } = await rest(`/incidents/${id}`));
        assert.equal(incident.alert_count, 2, 'an acknowledged incident is still open: the trigger adds to it');

        assertProcessed(await settle(plainKey, 'resolve', dedupKey));
        ({ incident } = await rest(`/incidents/${id}`));
        assert.equal(incident.status, 'resolved');
        assert.ok(incident.resolved_at);

        assertProcessed(await trigger(plainKey, { summary: 'lag is back' }, { dedup_key: dedupKey }));
        const all = await incidentsWith(dedupKey);
        assert.equal(all.length, 2, 'a resolved incident is not reopened');
        assert.equal(all.find((i: Json) => i.id !== id).status, 'triggered');
      });

      test('acknowledge or resolve of an unknown dedup key is accepted and changes nothing', async () => {
        const before = JSON.stringify((await rest('/incidents?limit=200')).incidents);
        assertProcessed(await settle(plainKey, 'acknowledge', 'never-seen'));
        assertProcessed(await settle(plainKey, 'resolve', 'never-seen'));
        assert.equal(JSON.stringify((await rest('/incidents?limit=200')).incidents), before);
      });

      test('a service key cannot settle an incident of another service', async () => {
        const dedupKey = unique('other').replace(' ', '-');
        assertProcessed(await trigger(plainKey, {}, { dedup_key: dedupKey }));
        assertProcessed(await settle(dbKey, 'resolve', dedupKey));
        assert.equal((await incidentsWith(dedupKey))[0].status, 'triggered');
      });
    });

    describe('routing', () => {
      test("a global integration key routes by every service's API filter", async () => {
        const onDb = assertProcessed(await trigger(globalKey, { source: 'db-1' }));
        assert.deepEqual((await incidentsWith(onDb)).map((i: Json) => i.service_id), [dbService]);

        const onBoth = assertProcessed(await trigger(globalKey, { source: 'db-1', component: 'nginx' }));
        assert.deepEqual((await incidentsWith(onBoth)).map((i: Json) => i.service_id).sort(), [dbService, web].sort());

        const before = await incidentCount();
        const onNone = assertProcessed(await trigger(globalKey, { source: 'elsewhere' }));
        assert.equal(await incidentCount(), before, 'no filter matched; the service without a filter takes nothing from a global key');
        assert.deepEqual(await incidentsWith(onNone), []);
      });

      test('a global key resolves what it opened on every service', async () => {
        const dedupKey = assertProcessed(await trigger(globalKey, { source: 'db-1', component: 'nginx' }));
        assertProcessed(await settle(globalKey, 'resolve', dedupKey));
        assert.deepEqual((await incidentsWith(dedupKey)).map((i: Json) => i.status), ['resolved', 'resolved']);
      });

      test("a service key's service filter applies when set; without one it takes everything", async () => {
        const before = await incidentCount();
        const refused = assertProcessed(await trigger(dbKey, { source: 'db-2' }));
        assert.equal(await incidentCount(), before, 'db-2 does not pass the db service filter');
        assert.deepEqual(await incidentsWith(refused), []);

        const accepted = assertProcessed(await trigger(dbKey, { source: 'db-1', component: 'nginx' }));
        assert.deepEqual((await incidentsWith(accepted)).map((i: Json) => i.service_id), [dbService], 'only its own service, even where web would match');

        const anything = assertProcessed(await trigger(plainKey, { source: 'anything at all' }));
        assert.deepEqual((await incidentsWith(anything)).map((i: Json) => i.service_id), [plain]);
      });
    });

    describe('change events', () => {
      test('202, stored on the service and listed there without the routing key', async () => {
        const summary = unique('deployed v2');
        const res = await enqueue({
          routing_key: plainKey,
          payload: { summary, source: 'ci', timestamp: '2026-11-22T11:59:00Z', custom_details: { build: 42 } },
          links: [{ href: 'https://ci.example.com/42', text: 'build' }],
        }, '/v2/change/enqueue');
        assert.equal(res.statusCode, 202, res.body);
        assert.deepEqual(json(res), { status: 'success', message: 'Change event processed' });
        const { change_events: events } = await rest(`/services/${plain}/change_events`);
        const change = events.find((e: Json) => e.summary === summary);
        assert.ok(change, JSON.stringify(events));
        assert.equal(change.source, 'ci');
        assert.equal(change.timestamp, '2026-11-22T11:59:00.000Z');
        assert.deepEqual(change.event.payload.custom_details, { build: 42 });
        assert.equal('routing_key' in change.event, false);
        assert.deepEqual((await rest(`/services/${dbService}/change_events`)).change_events, [], 'not on other services');
      });

      test('payload.timestamp is read as ISO 8601, a time without a zone as UTC; anything else is an invalid event', async () => {
        const stored = async (timestamp: string) => {
          const summary = unique('timed');
          const res = await enqueue({ routing_key: plainKey, payload: { summary, timestamp } }, '/v2/change/enqueue');
          assert.equal(res.statusCode, 202, res.body);
          return (await rest(`/services/${plain}/change_events`)).change_events.find((e: Json) => e.summary === summary).timestamp;
        };
        assert.equal(await stored('2015-07-17T08:42:58.315+0000'), '2015-07-17T08:42:58.315Z', "PagerDuty's own example");
        assert.equal(await stored('2026-11-22T12:59:00+01:00'), '2026-11-22T11:59:00.000Z');
        assert.equal(await stored('2026-11-22T11:59:00'), '2026-11-22T11:59:00.000Z', 'no zone: UTC, whatever the server runs in');
        for (const timestamp of ['1', 'Mon, 22 Nov 2026 11:59:00 GMT', '2026-02-30T00:00:00Z', '2026-11-22', '2026-11-22T24:30:00Z']) {
          assertInvalidEvent(await enqueue({ routing_key: plainKey, payload: { summary: 'x', timestamp } }, '/v2/change/enqueue'), /'payload\.timestamp' is invalid/);
          assertInvalidEvent(await trigger(plainKey, { timestamp }), /'payload\.timestamp' is invalid/);
        }
      });

      test('an invalid change event is refused field by field', async () => {
        assertInvalidEvent(await enqueue({ routing_key: plainKey, payload: { source: 'ci' } }, '/v2/change/enqueue'), /payload\.summary/);
        assertInvalidEvent(await enqueue({ payload: { summary: 'x' } }, '/v2/change/enqueue'), /routing_key/);
      });

      test('a change event whose source is not a string is refused as invalid, and nothing is stored', async () => {
        // payload.source went unchecked: an object failed in the database as a 500 on SQLite and
        // was stored as its JSON text on PostgreSQL; a number was kept as "7.0" or "7".
        const changes = async () => (await rest(`/services/${plain}/change_events?limit=200`)).change_events.length as number;
        const before = await changes();
        for (const source of [{ host: 'ci' }, 7, ['ci'], true]) {
          assertInvalidEvent(await enqueue({ routing_key: plainKey, payload: { summary: unique('deploy'), source } }, '/v2/change/enqueue'), /'payload\.source' must be a string/);
        }
        assert.equal(await changes(), before);
      });
    });

    describe('optional fields sent as null, as client libraries write unset ones', () => {
      test("go-pagerduty's change event (timestamp \"\", custom_details and links null) is stored, timed when received", async () => {
        const summary = unique('deployed v1.2.3');
        const res = await enqueue(`{"routing_key":"${plainKey}","payload":{"source":"ci","summary":"${summary}","timestamp":"","custom_details":null},"links":null}`, '/v2/change/enqueue');
        assert.equal(res.statusCode, 202, res.body);
        assert.deepEqual(json(res), { status: 'success', message: 'Change event processed' });
        const change = (await rest(`/services/${plain}/change_events`)).change_events.find((e: Json) => e.summary === summary);
        assert.equal(change.source, 'ci');
        assert.ok(change.timestamp, 'the time it was received');
        const javaStyle = await enqueue({ routing_key: plainKey, payload: { summary: unique('deploy'), source: null, timestamp: null, custom_details: null } }, '/v2/change/enqueue');
        assert.equal(javaStyle.statusCode, 202, javaStyle.body);
      });

      test('a Jackson-mapped trigger (every unset payload field null) opens its incident; a null dedup_key gets one of its own', async () => {
        const summary = unique('Disk full');
        const res = await enqueue({
          routing_key: plainKey, event_action: 'trigger', dedup_key: null, client: null, client_url: null, images: null,
          links: [{ href: 'https://runbooks.example.com/disk', text: null }],
          payload: { summary, source: 'db-1', severity: 'critical', timestamp: null, component: null, group: null, class: null, custom_details: null },
        });
        const dedupKey = assertProcessed(res);
        const [incident] = await incidentsWith(dedupKey);
        assert.equal(incident.title, summary);
        assert.equal(incident.severity, 'critical');
        assert.equal(assertProcessed(await enqueue({ routing_key: plainKey, event_action: 'resolve', dedup_key: dedupKey, payload: null })), dedupKey);
      });

      test('what PagerDuty requires stays required: a null summary, source or severity of a trigger is an invalid event', async () => {
        const before = await incidentCount();
        for (const [field, pattern] of [['summary', /'payload\.summary' is missing/], ['source', /'payload\.source' is missing/], ['severity', /'payload\.severity' is invalid/]] as const) {
          assertInvalidEvent(await trigger(plainKey, { [field]: null }), pattern);
        }
        assertInvalidEvent(await enqueue({ routing_key: plainKey, event_action: 'trigger', payload: null }), /'payload' is missing/);
        assertInvalidEvent(await enqueue({ routing_key: plainKey, event_action: 'resolve', dedup_key: null }), /'dedup_key' is missing/);
        assert.equal(await incidentCount(), before);
      });
    });

    describe('validation, as PagerDuty does', () => {
      const valid = () => ({ routing_key: plainKey, event_action: 'trigger', payload: { summary: 'ok', source: 'monitor', severity: 'info' } });
      const cases: Array<[string, (e: Json) => unknown, RegExp]> = [
        ['missing routing_key', ({ routing_key: _, ...e }) => e, /'routing_key'/],
        ['blank routing_key', (e) => ({ ...e, routing_key: '  ' }), /'routing_key'/],
        ['unknown event_action', (e) => ({ ...e, event_action: 'escalate' }), /'event_action'/],
        ['missing event_action', ({ event_action: _, ...e }) => e, /'event_action'/],
        ['missing payload on trigger', ({ payload: _, ...e }) => e, /'payload'/],
        ['missing summary', (e) => ({ ...e, payload: { ...e.payload, summary: undefined } }), /'payload\.summary'/],
        ['summary over 1024 characters', (e) => ({ ...e, payload: { ...e.payload, summary: 'x'.repeat(1025) } }), /'payload\.summary' is too long/],
        ['missing source', (e) => ({ ...e, payload: { ...e.payload, source: '' } }), /'payload\.source'/],
        ['unknown severity', (e) => ({ ...e, payload: { ...e.payload, severity: 'fatal' } }), /'payload\.severity'/],
        ['bad timestamp', (e) => ({ ...e, payload: { ...e.payload, timestamp: 'yesterday' } }), /'payload\.timestamp'/],
        ['dedup_key over 255 characters', (e) => ({ ...e, dedup_key: 'k'.repeat(256) }), /'dedup_key' is too long/],
        ['dedup_key not a string', (e) => ({ ...e, dedup_key: 42 }), /'dedup_key'/],
        ['acknowledge without dedup_key', (e) => ({ routing_key: e.routing_key, event_action: 'acknowledge' }), /'dedup_key'.*acknowledge/],
        ['resolve without dedup_key', (e) => ({ routing_key: e.routing_key, event_action: 'resolve' }), /'dedup_key'.*resolve/],
        ['images not an array', (e) => ({ ...e, images: { src: 'https://x' } }), /'images' must be an array/],
        ['image without src', (e) => ({ ...e, images: [{ src: 'https://x/1.png' }, { alt: 'graph' }] }), /'images\[1\]\.src'/],
        ['image not an object', (e) => ({ ...e, images: ['https://x/1.png'] }), /'images\[0\]'/],
        ['link without href', (e) => ({ ...e, links: [{ text: 'runbook' }] }), /'links\[0\]\.href'/],
        ['link text not a string', (e) => ({ ...e, links: [{ href: 'https://x', text: 7 }] }), /'links\[0\]\.text'/],
        ['client not a string', (e) => ({ ...e, client: 5 }), /'client'/],
        ['body not an object', () => [1, 2], /JSON object/],
      ];
      for (const [name, mutate, expected] of cases) {
        test(`400 for ${name}`, async () => {
          const before = await incidentCount();
          assertInvalidEvent(await enqueue(mutate(valid())), expected);
          assert.equal(await incidentCount(), before, 'nothing was created');
        });
      }

      test('a NUL character in the summary, source or dedup_key is refused as invalid on every database, on both routes', async () => {
        // PostgreSQL text cannot hold U+0000: such an event was answered 500 there (a resolve too,
        // when its dedup_key was looked up) and accepted on SQLite.
        const before = await incidentCount();
        assertInvalidEvent(await trigger(plainKey, { summary: 'disk\u0000full' }), /'payload\.summary' must not contain/);
        assertInvalidEvent(await trigger(plainKey, { source: 'db\u0000' }), /'payload\.source' must not contain/);
        assertInvalidEvent(await trigger(plainKey, {}, { dedup_key: 'k\u0000' }), /'dedup_key' must not contain/);
        assertInvalidEvent(await settle(plainKey, 'resolve', 'k\u0000'), /'dedup_key' must not contain/);
        assertInvalidEvent(await enqueue({ routing_key: plainKey, payload: { summary: 'deploy\u0000', source: 'ci\u0000' } }, '/v2/change/enqueue'),
          /'payload\.summary' must not contain/, /'payload\.source' must not contain/);
        assert.equal(await incidentCount(), before);
        // Elsewhere in the event it is just JSON, kept as sent.
        const dedupKey = assertProcessed(await trigger(plainKey, { custom_details: { raw: 'a\u0000b' } }));
        assert.equal((await incidentsWith(dedupKey))[0].last_payload.payload.custom_details.raw, 'a\u0000b');
      });

      test('every problem is listed at once', async () => {
        const errors = assertInvalidEvent(
          await enqueue({ event_action: 'trigger', payload: { summary: '', severity: 'loud' }, links: [{}] }),
          /'routing_key'/, /'payload\.summary'/, /'payload\.source'/, /'payload\.severity'/, /'links\[0\]\.href'/,
        );
        assert.equal(errors.length, 5, errors.join('; '));
      });

      test('the limits themselves are accepted: 1024-character summary, 255-character dedup key', async () => {
        const dedupKey = 'k'.repeat(254) + 'z';
        assertProcessed(await trigger(plainKey, { summary: 's'.repeat(1024) }, { dedup_key: dedupKey }));
        assert.equal((await incidentsWith(dedupKey))[0].title.length, 1024);
      });

      test('lengths are counted in characters, not UTF-16 units: an emoji is one, as Alertmanager counts when it truncates', async () => {
        // Alertmanager cuts a summary to 1024 runes (its last one "…"); with an emoji in it, that was
        // over 1024 UTF-16 units and refused 400, which Alertmanager does not retry: the page was lost.
        const summary = `🔥 ${'x'.repeat(1021)}…`;
        assert.equal([...summary].length, 1024);
        assert.ok(summary.length > 1024);
        const dedupKey = `🔥${'k'.repeat(254)}`;
        assert.equal(assertProcessed(await trigger(plainKey, { summary }, { dedup_key: dedupKey })), dedupKey);
        assert.equal((await incidentsWith(dedupKey))[0].title, summary);
        assertProcessed(await settle(plainKey, 'resolve', dedupKey));
        const change = await enqueue({ routing_key: plainKey, payload: { summary } }, '/v2/change/enqueue');
        assert.equal(change.statusCode, 202, change.body);

        assertInvalidEvent(await trigger(plainKey, { summary: `🔥${summary}` }), /'payload\.summary' is too long/);
        assertInvalidEvent(await trigger(plainKey, {}, { dedup_key: `🔥${dedupKey}` }), /'dedup_key' is too long/);
        assertInvalidEvent(await enqueue({ routing_key: plainKey, payload: { summary: `🔥${summary}` } }, '/v2/change/enqueue'), /'payload\.summary' is too long/);
      });

      test('valid images and links are accepted and kept with the alert', async () => {
        const dedupKey = assertProcessed(await trigger(plainKey, {}, {
          images: [{ src: 'https://graphs.example.com/1.png', href: 'https://graphs.example.com', alt: 'cpu' }],
          links: [{ href: 'https://runbooks.example.com/cpu', text: 'runbook' }],
          client: 'Sample Monitoring Service', client_url: 'https://monitoring.example.com',
        }));
        const [incident] = await incidentsWith(dedupKey);
        assert.equal(incident.last_payload.links[0].href, 'https://runbooks.example.com/cpu');
        assert.equal(incident.last_payload.images[0].alt, 'cpu');
      });

      test('a body over 512 KB is refused as an invalid event', async () => {
        const big = { ...valid(), payload: { ...valid().payload, custom_details: { blob: 'x'.repeat(600 * 1024) } } };
        assertInvalidEvent(await enqueue(big), /512 KB/);
      });

      test('an event nested deeper than MAX_PAYLOAD_DEPTH is refused as an invalid event, however deep, on both routes', async () => {
        // Written as text: too deep for JSON.stringify. The event and its payload are the first two levels.
        const nested = (depth: number) => `${'{"a":'.repeat(depth)}null${'}'.repeat(depth)}`;
        const payload = (depth: number) => `{"summary":"deep","source":"monitor","severity":"info","custom_details":${nested(depth - 2)}}`;
        const alert = (depth: number) => `{"routing_key":"${plainKey}","event_action":"trigger","payload":${payload(depth)}}`;
        for (const depth of [MAX_PAYLOAD_DEPTH + 1, 5_000, 60_000]) {
          const before = await incidentCount();
          assertInvalidEvent(await enqueue(alert(depth)), /nests arrays and objects more than/);
          assertInvalidEvent(await enqueue(`{"routing_key":"${plainKey}","payload":${payload(depth)}}`, '/v2/change/enqueue'), /nests arrays and objects more than/);
          assert.equal(await incidentCount(), before, 'nothing was created');
        }
        assertProcessed(await enqueue(alert(MAX_PAYLOAD_DEPTH)));
      });

      test('malformed JSON is refused as an invalid event', async () => {
        assertInvalidEvent(await enqueue('{"routing_key": "lke", "event_action": '), /not valid JSON/);
      });

      test('an event not sent as JSON is refused as invalid, saying which Content-Type is needed', async () => {
        // Sent as text/plain (a fetch() with a string body and no header), a JSON object was refused
        // as "Event object must be a JSON object"; as a form (curl -d without -H) or with no type,
        // as "Unsupported Media Type".
        const body = JSON.stringify(valid());
        const before = await incidentCount();
        for (const type of ['text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'text/json', undefined]) {
          for (const url of ['/v2/enqueue', '/v2/change/enqueue']) {
            const res = await t.request({ method: 'POST', url, payload: body, headers: type ? { 'content-type': type } : {} });
            assertInvalidEvent(res, /sent as JSON, with Content-Type: application\/json/);
          }
        }
        assert.equal(await incidentCount(), before);
      });

      test('validation comes before the routing key is checked', async () => {
        assertInvalidEvent(await enqueue({ routing_key: 'not-a-key', event_action: 'nope' }), /'event_action'/);
      });
    });
  });
}

describe('Events API v2: a server body limit below 512 KB applies to events too', () => {
  // LATCHKEY_BODY_LIMIT_BYTES once held for the REST API only: an unauthenticated event of up to
  // 512 KB was still read and parsed whatever the operator had set.
  let t: TestApp;
  before(async () => {
    t = await startTestApp(undefined, { LATCHKEY_BODY_LIMIT_BYTES: '4096' });
  });
  after(() => t.close());

  test('an event over the server limit is refused as an invalid event, naming the limit, on both routes; one within it goes through', async () => {
    const routingKey = (await createKeyViaApi(t, { kind: 'events', scope: 'global' })).token;
    const event = (size: number) => ({ routing_key: routingKey, event_action: 'trigger', payload: { summary: 'big', source: 'm', severity: 'info', custom_details: { blob: 'x'.repeat(size) } } });
    const send = (url: string, payload: object) => t.request({ method: 'POST', url, payload });
    assertInvalidEvent(await send('/v2/enqueue', event(8 * 1024)), /larger than 4 KB/);
    assertInvalidEvent(await send('/v2/change/enqueue', { routing_key: routingKey, payload: { summary: 'x'.repeat(8 * 1024) } }), /larger than 4 KB/);
    assert.equal((await send('/v2/enqueue', event(1024))).statusCode, 202);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testDatabases, type TestApp } from '../support/harness.js';
import { startRaceApp, type RaceApp } from '../support/pg-races.js';
import { client, createService, createTeam, expectError, expectStatus, issueKey, uniqueName, type Json } from '../support/platform.js';

// An alert for an open incident that is being resolved meanwhile: on PostgreSQL the alert's write
// waits for the resolve to commit. The resolve is forced first by a lock another connection holds.
const postgres = testDatabases().find((d) => d.name === 'postgres');
if (postgres) {
  describe('an alert, a resolve, an acknowledge or an edit for an incident resolved meanwhile, on PostgreSQL', () => {
    let races: RaceApp;
    let t: TestApp;
    let api: ReturnType<typeof client>;
    let key: string;
    let editor: string;

    before(async () => {
      races = await startRaceApp(postgres);
      t = races.t;
      api = client(t);
      key = (await issueKey(t, { scope: 'global', roles: ['incident_creator'] })).token;
      editor = (await issueKey(t, { scope: 'global', roles: ['incident_editor'] })).token;
    });
    after(() => races.close());

    /** Resolves the incident in another transaction, committed once `request` waits for its row. */
    const resolvedWhile = (incidentId: string, request: () => Promise<Json>) =>
      races.changedWhile('incidents', incidentId, `status = 'resolved', resolved_at = updated_at`, request);

    async function serviceWithOpenIncident(): Promise<{ tag: string; service: Json; incident: Json }> {
      const tag = uniqueName('tag');
      const service = await createService(t, await createTeam(t), {
        api_filter: { path: 'tag', op: 'equals', value: tag }, resolve_filter: { path: 'state', op: 'equals', value: 'resolved' }, field_mapping: { dedup_key: 'fp' },
      });
      const incident = expectStatus(await api.post('/incidents', { tag, fp: 'disk', state: 'firing' }, key), 201).incidents[0];
      return { tag, service, incident };
    }

    test('an alert for it opens a new incident instead of being added to the resolved one', async () => {
      const { tag, service, incident } = await serviceWithOpenIncident();
      const answer = await resolvedWhile(incident.id, () => api.post('/incidents', { tag, fp: 'disk', state: 'firing', n: 2 }, key));
      const body = expectStatus(answer, 201);
      assert.equal(body.routing[0].action, 'create', JSON.stringify(body.routing));
      assert.notEqual(body.incidents[0].id, incident.id);
      assert.equal(body.incidents[0].status, 'triggered');
      const old = expectStatus(await api.get(`/incidents/${incident.id}`), 200).incident;
      assert.deepEqual([old.status, old.alert_count], ['resolved', 1], 'the resolved incident took no alert');
      const open = expectStatus(await api.get(`/incidents?service_id=${service.id}&status=triggered`), 200).incidents;
      assert.deepEqual(open.map((i: Json) => i.id), [body.incidents[0].id], 'the alert is on an open incident');
    });

    test('an Events API trigger with its dedup key opens a new incident too', async () => {
      const service = await createService(t, await createTeam(t));
      const routingKey = (await issueKey(t, { kind: 'events', scope: 'service', service_id: service.id, dedup_window_seconds: 0 })).token;
      const event = { routing_key: routingKey, event_action: 'trigger', dedup_key: 'disk', payload: { summary: 'Disk', source: 'db-1', severity: 'error' } };
      const opened = expectStatus(await t.request({ method: 'POST', url: '/v2/enqueue', payload: event }), 202);
      const incident = expectStatus(await api.get(`/incidents?service_id=${service.id}&status=triggered`), 200).incidents
        .find((i: Json) => i.source === 'events' && i.dedup_key === opened.dedup_key);
      assert.ok(incident);
      expectStatus(await resolvedWhile(incident.id, () => t.request({ method: 'POST', url: '/v2/enqueue', payload: event })), 202);
      const old = expectStatus(await api.get(`/incidents/${incident.id}`), 200).incident;
      assert.deepEqual([old.status, old.alert_count], ['resolved', 1], 'the resolved incident took no alert');
      const open = expectStatus(await api.get(`/incidents?service_id=${service.id}&status=triggered`), 200).incidents.filter((i: Json) => i.source === 'events');
      assert.equal(open.length, 1, 'the event is on an open incident');
      assert.notEqual(open[0].id, incident.id);
    });

    test('an acknowledge does not reopen it: 409 conflict, and the incident stays resolved', async () => {
      const { incident } = await serviceWithOpenIncident();
      const answer = await resolvedWhile(incident.id, () => api.post(`/incidents/${incident.id}/acknowledge`, {}, editor));
      assert.match(expectError(answer, 409, 'conflict').message, /already resolved/);
      const old = expectStatus(await api.get(`/incidents/${incident.id}`), 200).incident;
      assert.deepEqual([old.status, old.acknowledged_at, old.acknowledged_by], ['resolved', null, null]);
      assert.equal(expectStatus(await api.get(`/incidents?status=acknowledged&service_id=${incident.service_id}`), 200).incidents.length, 0);
    });

    test('an edit applies to the resolved incident, and leaves it resolved', async () => {
      const { incident } = await serviceWithOpenIncident();
      const edited = expectStatus(await resolvedWhile(incident.id, () => api.patch(`/incidents/${incident.id}`, { title: 'Disk full on db-1' }, editor)), 200).incident;
      assert.deepEqual([edited.title, edited.status], ['Disk full on db-1', 'resolved']);
    });

    test('a resolve finds nothing left to resolve: the first resolution stands', async () => {
      const { tag, incident } = await serviceWithOpenIncident();
      const answer = await resolvedWhile(incident.id, () => api.post('/incidents', { tag, fp: 'disk', state: 'resolved' }, key));
      const body = expectStatus(answer, 200);
      assert.deepEqual(body.routing.map((r: Json) => r.action), ['nothing_to_resolve']);
      const old = expectStatus(await api.get(`/incidents/${incident.id}`), 200).incident;
      assert.equal(old.resolved_by, null, 'resolved by the other transaction, which recorded no one');
      assert.equal(old.last_payload.state, 'firing');
    });
  });
}

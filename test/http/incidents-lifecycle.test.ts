import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, testDatabases, type TestApp } from '../support/harness.js';
import { client, createService, createTeam, expectError, expectStatus, GHOST_ID, issueKey, json, type Json } from '../support/platform.js';

for (const db of testDatabases()) {
  describe(`incident lifecycle on ${db.name}`, () => {
    let t: TestApp;
    let api: ReturnType<typeof client>;
    let teamA: string;
    let teamB: string;
    let serviceA: Json;
    let serviceA2: Json;
    let serviceB: Json;
    let editorA: { id: string; token: string };
    let creatorA: { id: string; token: string };
    let n = 0;

    before(async () => {
      t = await startTestApp(db);
      api = client(t);
      teamA = await createTeam(t);
      teamB = await createTeam(t);
      serviceA = await createService(t, teamA);
      serviceA2 = await createService(t, teamA);
      serviceB = await createService(t, teamB);
      editorA = await issueKey(t, { scope: 'team', team_id: teamA, roles: ['incident_editor'] });
      creatorA = await issueKey(t, { scope: 'team', team_id: teamA, roles: ['incident_creator'] });
    });
    after(() => t.close());

    /** Opens one incident on `service` through a key scoped to it (its null api_filter accepts anything). */
    async function open(service: Json, payload: object = {}): Promise<Json> {
      const key = await issueKey(t, { scope: 'service', service_id: service.id, roles: ['incident_creator'] });
      const res = await api.post('/incidents', { title: `incident ${++n}`, severity: 'warning', ...payload }, key.token);
      return expectStatus(res, 201).incidents[0];
    }
    const show = async (id: string): Promise<Json> => expectStatus(await api.get(`/incidents/${id}`), 200).incident;

    test('triggered → acknowledged → resolved, recording who and when', async () => {
      const incident = await open(serviceA);
      assert.equal(incident.status, 'triggered');
      assert.equal(incident.acknowledged_by, null);
      const resolver = await issueKey(t, { scope: 'service', service_id: serviceA.id, roles: ['incident_editor'] });

      t.clock.advance(30_000);
      const acked = expectStatus(await api.post(`/incidents/${incident.id}/acknowledge`, {}, editorA.token), 200).incident;
      assert.equal(acked.status, 'acknowledged');
      assert.equal(acked.acknowledged_at, t.clock.now().toISOString());
      assert.deepEqual(acked.acknowledged_by, { type: 'api_key', id: editorA.id, name: acked.acknowledged_by.name });
      assert.equal(acked.updated_at, t.clock.now().toISOString());

      t.clock.advance(30_000);
      const resolved = expectStatus(await api.post(`/incidents/${incident.id}/resolve`, {}, resolver.token), 200).incident;
      assert.equal(resolved.status, 'resolved');
      assert.equal(resolved.resolved_at, t.clock.now().toISOString());
      assert.equal(resolved.resolved_by.id, resolver.id);
      assert.deepEqual(resolved.acknowledged_by, acked.acknowledged_by, 'the acknowledgement stays on record');
      assert.deepEqual(await show(incident.id), resolved);
    });

    test('acknowledging twice is fine and keeps the first acknowledgement; resolving straight from triggered works', async () => {
      const incident = await open(serviceA);
      const first = expectStatus(await api.post(`/incidents/${incident.id}/acknowledge`, {}, editorA.token), 200).incident;
      t.clock.advance(5_000);
      const second = expectStatus(await api.post(`/incidents/${incident.id}/acknowledge`), 200).incident;
      assert.equal(second.status, 'acknowledged');
      assert.equal(second.acknowledged_at, first.acknowledged_at);
      assert.deepEqual(second.acknowledged_by, first.acknowledged_by);

      const direct = await open(serviceA);
      const resolved = expectStatus(await api.post(`/incidents/${direct.id}/resolve`, {}, editorA.token), 200).incident;
      assert.equal(resolved.status, 'resolved');
      assert.equal(resolved.acknowledged_at, null);
    });

    test('after resolve, acknowledge and resolve answer 409 conflict and change nothing', async () => {
      const incident = await open(serviceA);
      const resolved = expectStatus(await api.post(`/incidents/${incident.id}/resolve`, {}, editorA.token), 200).incident;
      t.clock.advance(1_000);
      expectError(await api.post(`/incidents/${incident.id}/acknowledge`, {}, editorA.token), 409, 'conflict');
      expectError(await api.post(`/incidents/${incident.id}/resolve`, {}, editorA.token), 409, 'conflict');
      expectError(await api.post(`/incidents/${incident.id}/resolve`), 409, 'conflict');
      assert.deepEqual(await show(incident.id), resolved);
    });

    test('PATCH title, description and severity needs incidents:write', async () => {
      const incident = await open(serviceA);
      const refused = expectError(await api.patch(`/incidents/${incident.id}`, { title: 'x' }, creatorA.token), 403, 'insufficient_permissions');
      assert.match(refused.message, /incidents:write/);
      assert.deepEqual(await show(incident.id), incident);

      t.clock.advance(1_000);
      const changed = expectStatus(await api.patch(`/incidents/${incident.id}`, { title: 'Database down', severity: 'critical' }, editorA.token), 200).incident;
      assert.deepEqual(changed, { ...incident, title: 'Database down', severity: 'critical', updated_at: t.clock.now().toISOString() });
      expectError(await api.patch(`/incidents/${incident.id}`, { severity: 'catastrophic' }, editorA.token), 400, 'validation_failed');
      expectError(await api.patch(`/incidents/${incident.id}`, { title: '' }, editorA.token), 400, 'validation_failed');
      expectError(await api.patch(`/incidents/${incident.id}`, { status: 'resolved' }, editorA.token), 400, 'validation_failed');
      expectError(await api.patch(`/incidents/${incident.id}`, {}, editorA.token), 400, 'validation_failed');
      assert.deepEqual(await show(incident.id), changed);
    });

    test('DELETE: 204, then 404 everywhere; the same dedup key opens a new incident; a second delete is 404', async () => {
      const incident = await open(serviceA, { dedup_key: 'disk-full' });
      assert.equal(expectStatus(await api.del(`/incidents/${incident.id}`, editorA.token), 204), null);
      expectError(await api.get(`/incidents/${incident.id}`), 404, 'not_found');
      const listed = expectStatus(await api.get(`/incidents?service_id=${serviceA.id}&limit=200`), 200).incidents;
      assert.ok(!listed.some((i: Json) => i.id === incident.id), 'not listed any more');
      expectError(await api.del(`/incidents/${incident.id}`, editorA.token), 404, 'not_found');
      const trail = expectStatus(await api.get(`/audit_events?target_id=${incident.id}`), 200).audit_events;
      assert.equal(trail.length, 1, 'one audit event: the delete that worked');
      assert.deepEqual(
        { action: trail[0].action, target_type: trail[0].target_type, actor: trail[0].actor.id, details: trail[0].details },
        { action: 'incident.deleted', target_type: 'incident', actor: editorA.id, details: { title: incident.title, status: 'triggered', severity: incident.severity, dedup_key: 'disk-full', created_at: incident.created_at } },
      );
      const again = await open(serviceA, { dedup_key: 'disk-full' });
      assert.notEqual(again.id, incident.id);
      assert.equal(again.alert_count, 1, 'a new incident, not an alert on the deleted one');
    });

    test('deletes of one incident at once: one 204 and one audit event, the others 404', async () => {
      for (let round = 0; round < 5; round++) {
        const incident = await open(serviceA);
        const answers = await Promise.all([1, 2, 3].map(() => api.del(`/incidents/${incident.id}`, editorA.token)));
        assert.deepEqual(answers.map((a) => a.statusCode).sort(), [204, 404, 404], answers.map((a) => a.body).join(' | '));
        const trail = expectStatus(await api.get(`/audit_events?target_id=${incident.id}`), 200).audit_events;
        assert.deepEqual(trail.map((e: Json) => e.action), ['incident.deleted'], 'one deletion happened, one is recorded');
      }
    });

    test('an incident_creator key cannot delete: 403 insufficient_permissions, the incident stays', async () => {
      const incident = await open(serviceA);
      const refused = expectError(await api.del(`/incidents/${incident.id}`, creatorA.token), 403, 'insufficient_permissions');
      assert.match(refused.message, /incidents:write/);
      assert.deepEqual(await show(incident.id), incident);
    });

    test('an incident_creator key cannot acknowledge or resolve: 403 insufficient_permissions', async () => {
      const incident = await open(serviceA);
      const ack = expectError(await api.post(`/incidents/${incident.id}/acknowledge`, {}, creatorA.token), 403, 'insufficient_permissions');
      assert.match(ack.message, /incidents:write/);
      expectError(await api.post(`/incidents/${incident.id}/resolve`, {}, creatorA.token), 403, 'insufficient_permissions');
      assert.equal((await show(incident.id)).status, 'triggered');
    });

    test('another team’s incident answers 404 exactly like an unknown id, and stays untouched', async () => {
      const theirs = await open(serviceB);
      const attempts = [
        (id: string) => api.get(`/incidents/${id}`, editorA.token),
        (id: string) => api.patch(`/incidents/${id}`, { title: 'mine now' }, editorA.token),
        (id: string) => api.post(`/incidents/${id}/acknowledge`, {}, editorA.token),
        (id: string) => api.post(`/incidents/${id}/resolve`, {}, editorA.token),
        (id: string) => api.del(`/incidents/${id}`, editorA.token),
      ];
      for (const attempt of attempts) {
        const hidden = expectError(await attempt(theirs.id), 404, 'not_found');
        const unknown = expectError(await attempt(GHOST_ID), 404, 'not_found');
        assert.deepEqual({ ...hidden, request_id: '' }, { ...unknown, request_id: '' });
      }
      assert.deepEqual(await show(theirs.id), theirs);
      const listed = expectStatus(await api.get(`/incidents?team_id=${teamB}`, editorA.token), 200);
      assert.deepEqual(listed.incidents, [], 'filtering by another team shows nothing of it');
    });

    test('list filters by service_id, team_id and status, and scoped keys see only their reach', async () => {
      const team = await createTeam(t);
      const [s1, s2] = [await createService(t, team), await createService(t, team)];
      const a = await open(s1);
      const b = await open(s1);
      const c = await open(s2);
      expectStatus(await api.post(`/incidents/${b.id}/acknowledge`), 200);
      expectStatus(await api.post(`/incidents/${c.id}/resolve`), 200);
      const ids = async (query: string, token?: string) =>
        expectStatus(await api.get(`/incidents?${query}`, token), 200).incidents.map((i: Json) => i.id);

      assert.deepEqual(await ids(`team_id=${team}`), [c.id, b.id, a.id], 'newest first');
      assert.deepEqual(await ids(`service_id=${s1.id}`), [b.id, a.id]);
      assert.deepEqual(await ids(`team_id=${team}&status=triggered`), [a.id]);
      assert.deepEqual(await ids(`team_id=${team}&status=acknowledged`), [b.id]);
      assert.deepEqual(await ids(`service_id=${s2.id}&status=resolved`), [c.id]);
      assert.deepEqual(await ids(`service_id=${s2.id}&status=triggered`), []);
      expectError(await api.get('/incidents?status=open'), 400, 'validation_failed');

      const s2Key = await issueKey(t, { scope: 'service', service_id: s2.id, roles: ['viewer'] });
      assert.deepEqual(await ids('limit=200', s2Key.token), [c.id], 'a service key sees its service only');
      const teamKey = await issueKey(t, { scope: 'team', team_id: team, roles: ['viewer'] });
      assert.deepEqual(await ids('limit=200', teamKey.token), [c.id, b.id, a.id]);
      assert.deepEqual(await ids(`team_id=${teamA}`, teamKey.token), []);
    });

    test('cursor pagination walks every incident once, in order', async () => {
      const opened: string[] = [];
      for (let i = 0; i < 5; i++) opened.push((await open(serviceA2)).id);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await api.get(`/incidents?service_id=${serviceA2.id}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        const page: Json = expectStatus(res, 200);
        assert.ok(page.incidents.length <= 2, `page of ${page.incidents.length}`);
        seen.push(...page.incidents.map((i: Json) => i.id));
        cursor = page.next_cursor;
        pages++;
      } while (cursor && pages < 10);
      assert.equal(pages, 3);
      assert.deepEqual(seen, [...opened].reverse());
      expectError(await api.get('/incidents?cursor=not-a-cursor'), 400, 'validation_failed');
      assert.equal(json(await api.get(`/incidents?service_id=${serviceA2.id}&limit=5`)).next_cursor, null, 'no cursor after the last page');
    });
  });
}

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, testDatabases, type TestApp } from '../support/harness.js';
import {
  allAuditEvents, allIncidents, client, createService, createTeam, expectError, expectStatus, issueKey, uniqueName, type Json,
} from '../support/platform.js';

const tagged = (tag: string) => ({ path: 'tag', op: 'equals', value: tag });
const byService = (incidents: Json[]) => incidents.map((i: Json) => i.service_id).sort();

for (const db of testDatabases()) {
  describe(`POST /incidents routing on ${db.name}`, () => {
    let t: TestApp;
    let api: ReturnType<typeof client>;
    let globalKey: string;

    before(async () => {
      t = await startTestApp(db);
      api = client(t);
      globalKey = (await issueKey(t, { scope: 'global', roles: ['incident_creator'] })).token;
    });
    after(() => t.close());

    /** Two teams: A1, A2 (stricter) and B1 match `tag`, B2 wants another tag, A3 has no api_filter. */
    async function fanOutWorld() {
      const tag = uniqueName('tag');
      const teamA = await createTeam(t);
      const teamB = await createTeam(t);
      const a1 = await createService(t, teamA, { api_filter: tagged(tag) });
      const a2 = await createService(t, teamA, { api_filter: { all: [tagged(tag), { path: 'level', op: 'gte', value: 3 }] } });
      const a3 = await createService(t, teamA, { api_filter: null });
      const b1 = await createService(t, teamB, { api_filter: { any: [tagged(tag), tagged(`${tag}-other`)] } });
      const b2 = await createService(t, teamB, { api_filter: tagged(`${tag}-elsewhere`) });
      return { tag, teamA, teamB, a1, a2, a3, b1, b2 };
    }

    test('a global key opens one incident on every matching service of every team', async () => {
      const w = await fanOutWorld();
      const before = (await allIncidents(t)).length;
      const body = expectStatus(await api.post('/incidents', { tag: w.tag, level: 5, title: 'Disk full on db-1' }, globalKey), 201);
      assert.equal(body.status, 'created');
      assert.deepEqual(byService(body.incidents), [w.a1.id, w.a2.id, w.b1.id].sort());
      for (const incident of body.incidents) {
        assert.equal(incident.title, 'Disk full on db-1');
        assert.equal(incident.status, 'triggered');
        assert.equal(incident.source, 'api');
        assert.equal(incident.alert_count, 1);
        assert.equal(incident.team_id, incident.service_id === w.b1.id ? w.teamB : w.teamA);
      }
      assert.deepEqual(body.routing.map((r: Json) => r.action), ['create', 'create', 'create']);
      assert.equal((await allIncidents(t)).length, before + 3, 'exactly the reported incidents were stored');

      const lowLevel = expectStatus(await api.post('/incidents', { tag: w.tag, level: 1 }, globalKey), 201);
      assert.deepEqual(byService(lowLevel.incidents), [w.a1.id, w.b1.id].sort(), 'A2 needs level >= 3');
    });

    test('a team key routes only to its own team’s services', async () => {
      const w = await fanOutWorld();
      const teamKey = (await issueKey(t, { scope: 'team', team_id: w.teamA, roles: ['incident_creator'] })).token;
      const body = expectStatus(await api.post('/incidents', { tag: w.tag, level: 9 }, teamKey), 201);
      assert.deepEqual(byService(body.incidents), [w.a1.id, w.a2.id].sort());
      const otherTeamKey = (await issueKey(t, { scope: 'team', team_id: w.teamB, roles: ['incident_creator'] })).token;
      const other = expectStatus(await api.post('/incidents', { tag: w.tag, level: 9, n: 2 }, otherTeamKey), 201);
      assert.deepEqual(byService(other.incidents), [w.b1.id]);
    });

    test('a service key routes only to its service, still through its api_filter', async () => {
      const w = await fanOutWorld();
      const a2Key = (await issueKey(t, { scope: 'service', service_id: w.a2.id, roles: ['incident_creator'] })).token;
      const body = expectStatus(await api.post('/incidents', { tag: w.tag, level: 4 }, a2Key), 201);
      assert.deepEqual(byService(body.incidents), [w.a2.id]);
      const refused = expectStatus(await api.post('/incidents', { tag: w.tag, level: 2 }, a2Key), 200);
      assert.equal(refused.status, 'no_match');
      assert.deepEqual(refused.incidents, []);
    });

    test('no matching service: 200 no_match and nothing stored', async () => {
      const w = await fanOutWorld();
      const before = await allIncidents(t);
      const body = expectStatus(await api.post('/incidents', { tag: `${w.tag}-nobody`, level: 5 }, globalKey), 200);
      assert.equal(body.status, 'no_match');
      assert.deepEqual(body.incidents, []);
      assert.deepEqual(await allIncidents(t), before);
    });

    test('a null api_filter accepts anything from its own service key and nothing routed by team or global keys', async () => {
      const w = await fanOutWorld();
      const own = (await issueKey(t, { scope: 'service', service_id: w.a3.id, roles: ['incident_creator'] })).token;
      const teamKey = (await issueKey(t, { scope: 'team', team_id: w.teamA, roles: ['incident_creator'] })).token;
      for (const payload of [{ anything: true }, [1, 2, 3], { tag: w.tag, level: 7 }]) {
        const body = expectStatus(await api.post('/incidents', payload, own), 201);
        assert.deepEqual(byService(body.incidents), [w.a3.id], JSON.stringify(payload));
      }
      const viaTeam = expectStatus(await api.post('/incidents', { tag: w.tag, level: 7, via: 'team' }, teamKey), 201);
      assert.ok(!byService(viaTeam.incidents).includes(w.a3.id), 'a team key never routes to an unfiltered service');
      assert.equal(expectStatus(await api.post('/incidents', { unrelated: 1 }, teamKey), 200).status, 'no_match');
      assert.equal(expectStatus(await api.post('/incidents', { unrelated: 2 }, globalKey), 200).status, 'no_match');
      const viaGlobal = expectStatus(await api.post('/incidents', { tag: w.tag, level: 7, via: 'global' }, globalKey), 201);
      assert.ok(!byService(viaGlobal.incidents).includes(w.a3.id), 'a global key never routes to an unfiltered service');
    });

    test('field_mapping reads title, description, severity and dedup_key from the mapped paths', async () => {
      const team = await createTeam(t);
      const service = await createService(t, team, {
        field_mapping: { title: 'alert.name', description: 'alert["long text"]', severity: 'alert.labels.sev', dedup_key: 'alert.fingerprint' },
      });
      const key = (await issueKey(t, { scope: 'service', service_id: service.id, roles: ['incident_creator'] })).token;
      const payload = { title: 'not this one', alert: { name: 'CPU hot', 'long text': 'load 42', labels: { sev: 'CRITICAL' }, fingerprint: 'fp-1' } };
      const [incident] = expectStatus(await api.post('/incidents', payload, key), 201).incidents;
      assert.equal(incident.title, 'CPU hot');
      assert.equal(incident.description, 'load 42');
      assert.equal(incident.severity, 'critical');
      assert.equal(incident.dedup_key, 'fp-1');
      assert.deepEqual(incident.last_payload, payload);

      const unmapped = { alert: { name: 'Odd', labels: { sev: 'apocalyptic' }, fingerprint: 'fp-2' } };
      const [odd] = expectStatus(await api.post('/incidents', unmapped, key), 201).incidents;
      assert.equal(odd.severity, 'error', 'an unknown severity falls back to error');
      assert.equal(odd.description, '');
    });

    test('without a mapping the title is the first of title, summary, subject, message, else "Incident from <source>"', async () => {
      const team = await createTeam(t);
      const service = await createService(t, team);
      const key = (await issueKey(t, { scope: 'service', service_id: service.id, roles: ['incident_creator'] })).token;
      const cases: Array<[object, string]> = [
        [{ message: 'm', subject: 's', summary: 'u', title: 't' }, 't'],
        [{ message: 'm', subject: 's', summary: 'u' }, 'u'],
        [{ message: 'm', subject: 's' }, 's'],
        [{ message: 'm' }, 'm'],
        [{ source: 'prometheus', level: 3 }, 'Incident from prometheus'],
      ];
      for (const [payload, title] of cases) {
        const [incident] = expectStatus(await api.post('/incidents', payload, key), 201).incidents;
        assert.equal(incident.title, title, JSON.stringify(payload));
      }
    });

    test('a mapped title that is empty or blank is no title: the fallback applies, as for an empty title field', async () => {
      const team = await createTeam(t);
      const service = await createService(t, team, { field_mapping: { title: 'alert.name' } });
      const key = (await issueKey(t, { scope: 'service', service_id: service.id, roles: ['incident_creator'] })).token;
      const cases: Array<[object, string]> = [
        [{ alert: { name: '' }, summary: 'Disk full' }, 'Disk full'],
        [{ alert: { name: '  \n' }, title: '', message: 'CPU hot' }, 'CPU hot'],
        [{ alert: { name: '' }, source: 'prometheus' }, 'Incident from prometheus'],
        [{ alert: { name: ' Named ' } }, ' Named '],
      ];
      for (const [payload, title] of cases) {
        const [incident] = expectStatus(await api.post('/incidents', payload, key), 201).incidents;
        assert.equal(incident.title, title, JSON.stringify(payload));
        assert.equal(expectStatus(await api.get(`/incidents/${incident.id}`), 200).incident.title, title);
      }
    });

    test('payloads without a dedup key each open an incident of their own, all open at once on one service', async () => {
      const tag = uniqueName('tag');
      const service = await createService(t, await createTeam(t), { api_filter: tagged(tag) });
      for (const n of [1, 2, 3]) assert.equal(expectStatus(await api.post('/incidents', { tag, n }, globalKey), 201).routing[0].action, 'create');
      const open = (await allIncidents(t)).filter((i: Json) => i.service_id === service.id);
      assert.deepEqual(open.map((i: Json) => [i.status, i.dedup_key]), [['triggered', null], ['triggered', null], ['triggered', null]]);
    });

    test('requests arriving together each get their own answer: distinct keys open, one key opens once and adds the rest', async () => {
      const tag = uniqueName('tag');
      const service = await createService(t, await createTeam(t), { api_filter: tagged(tag) });
      const distinct = Array.from({ length: 12 }, (_, i) => api.post('/incidents', { tag, dedup_key: `together-${i}`, n: i }, globalKey));
      const sameKey = Array.from({ length: 6 }, (_, i) => api.post('/incidents', { tag, dedup_key: 'together-shared', n: i }, globalKey));
      const answers = await Promise.all([...distinct, ...sameKey]);
      const bodies = answers.map((a) => expectStatus(a, 201));
      const distinctIds = bodies.slice(0, 12).map((b) => b.incidents[0].id);
      assert.equal(new Set(distinctIds).size, 12, 'one incident each');
      const shared = bodies.slice(12);
      assert.deepEqual(shared.map((b) => b.routing[0].action).sort(), ['append', 'append', 'append', 'append', 'append', 'create']);
      assert.equal(new Set(shared.map((b) => b.incidents[0].id)).size, 1, 'all on the one open incident');
      const stored = (await allIncidents(t)).filter((i: Json) => i.service_id === service.id);
      assert.equal(stored.length, 13);
      assert.equal(stored.find((i: Json) => i.dedup_key === 'together-shared').alert_count, 6);
    });

    test('the same dedup key while open adds an alert to the incident; once resolved it opens a new one', async () => {
      const tag = uniqueName('tag');
      const service = await createService(t, await createTeam(t), { api_filter: tagged(tag) });
      const first = expectStatus(await api.post('/incidents', { tag, dedup_key: 'disk-1', title: 'Disk' }, globalKey), 201);
      const id = first.incidents[0].id;
      const second = expectStatus(await api.post('/incidents', { tag, dedup_key: 'disk-1', title: 'Disk again' }, globalKey), 201);
      assert.equal(second.status, 'created');
      assert.deepEqual(second.routing, [{ service_id: service.id, action: 'append', incident_id: id }]);
      assert.equal(second.incidents[0].id, id);
      assert.equal(second.incidents[0].alert_count, 2);
      assert.equal(second.incidents[0].title, 'Disk', 'an added alert does not retitle the incident');
      assert.equal(second.incidents[0].last_payload.title, 'Disk again');
      assert.equal((await allIncidents(t)).filter((i: Json) => i.service_id === service.id).length, 1);

      const other = expectStatus(await api.post('/incidents', { tag, dedup_key: 'disk-2' }, globalKey), 201);
      assert.notEqual(other.incidents[0].id, id, 'another dedup key is another incident');

      expectStatus(await api.post(`/incidents/${id}/resolve`), 200);
      const reopened = expectStatus(await api.post('/incidents', { tag, dedup_key: 'disk-1', n: 3 }, globalKey), 201);
      assert.equal(reopened.routing[0].action, 'create');
      assert.notEqual(reopened.incidents[0].id, id);
    });

    test('a payload matching resolve_filter resolves the open incident with the same dedup key', async () => {
      const tag = uniqueName('tag');
      const service = await createService(t, await createTeam(t), {
        api_filter: tagged(tag), resolve_filter: { path: 'state', op: 'equals', value: 'resolved' }, field_mapping: { dedup_key: 'id' },
      });
      const key = await issueKey(t, { scope: 'global', roles: ['incident_creator'] });
      const opened = expectStatus(await api.post('/incidents', { tag, id: 'x1', state: 'firing' }, key.token), 201).incidents[0];
      const untouched = expectStatus(await api.post('/incidents', { tag, id: 'x2', state: 'firing' }, key.token), 201).incidents[0];

      t.clock.advance(60_000);
      const res = expectStatus(await api.post('/incidents', { tag, id: 'x1', state: 'resolved' }, key.token), 200);
      assert.equal(res.status, 'resolved');
      assert.deepEqual(res.routing, [{ service_id: service.id, action: 'resolve', incident_id: opened.id }]);
      const [resolved] = res.incidents;
      assert.equal(resolved.id, opened.id);
      assert.equal(resolved.status, 'resolved');
      assert.equal(resolved.resolved_at, t.clock.now().toISOString());
      assert.deepEqual(resolved.resolved_by, { type: 'api_key', id: key.id, name: resolved.resolved_by.name });
      assert.equal(expectStatus(await api.get(`/incidents/${untouched.id}`), 200).incident.status, 'triggered');

      const again = expectStatus(await api.post('/incidents', { tag, id: 'x1', state: 'resolved', n: 2 }, key.token), 200);
      assert.equal(again.status, 'no_match', 'nothing open to resolve, and a resolve opens nothing');
      assert.deepEqual(again.incidents, []);
      assert.deepEqual(again.routing, [{ service_id: service.id, action: 'nothing_to_resolve', incident_id: null }]);
    });

    test('dry_run=true says which services would match, why and what would happen, and writes nothing', async () => {
      const w = await fanOutWorld();
      const open = await createService(t, w.teamA, { api_filter: tagged(w.tag), field_mapping: { dedup_key: 'key' } });
      const openKey = (await issueKey(t, { scope: 'service', service_id: open.id, roles: ['incident_creator'] })).token;
      expectStatus(await api.post('/incidents', { tag: w.tag, key: 'k1', level: 0 }, openKey), 201);
      const own = (await issueKey(t, { scope: 'service', service_id: w.a3.id, roles: ['incident_creator'] })).token;
      const incidentsBefore = await allIncidents(t);
      const auditBefore = await allAuditEvents(t);

      const res = expectStatus(await api.post('/incidents?dry_run=true', { tag: w.tag, level: 5, key: 'k1', summary: 'Would be' }, globalKey), 200);
      assert.equal(res.status, 'dry_run');
      const byId = new Map(res.services.map((s: Json) => [s.service_id, s]));
      assert.deepEqual([...byId.keys()].sort(), [w.a1.id, w.a2.id, w.b1.id, open.id].sort());
      const a2: Json = byId.get(w.a2.id);
      assert.equal(a2.service_name, w.a2.name);
      assert.equal(a2.action, 'create');
      assert.equal(a2.title, 'Would be');
      assert.deepEqual(a2.decided_by.map((d: Json) => [d.pointer, d.result]), [['/all/0', true], ['/all/1', true]]);
      assert.equal(a2.decided_by[1].actual, '5');
      assert.match(a2.decided_by[1].condition, /level gte 3/);
      const withOpen: Json = byId.get(open.id);
      assert.equal(withOpen.action, 'append');
      assert.equal(withOpen.dedup_key, 'k1');

      const unfiltered = expectStatus(await api.post('/incidents?dry_run=true', { whatever: 1 }, own), 200).services;
      assert.equal(unfiltered.length, 1);
      assert.equal(unfiltered[0].decided_by[0].result, true);
      assert.match(unfiltered[0].decided_by[0].condition, /no api_filter/);
      const nothing = expectStatus(await api.post('/incidents?dry_run=true', { tag: 'none' }, globalKey), 200);
      assert.equal(nothing.status, 'dry_run');
      assert.deepEqual(nothing.services, []);

      assert.deepEqual(await allIncidents(t), incidentsBefore, 'a dry run stores no incident and adds no alert');
      assert.deepEqual(await allAuditEvents(t), auditBefore);
    });

    test('a catastrophic pattern against a 200,000-character string answers correctly', async () => {
      const tag = uniqueName('tag');
      const service = await createService(t, await createTeam(t), { api_filter: { all: [tagged(tag), { path: 'message', op: 'matches', value: '(a+)+$' }] } });
      const attack = `${'a'.repeat(200_000)}!`;
      const refused = expectStatus(await api.post('/incidents', { tag, message: attack }, globalKey), 200);
      assert.equal(refused.status, 'no_match');
      const tested = expectStatus(await api.post(`/services/${service.id}/api_filter/test`, { payload: { tag, message: attack } }), 200);
      assert.equal(tested.matched, false);
      assert.ok(tested.explanation[0].actual.length < 1000, 'the explanation quotes the value cut short');
      const accepted = expectStatus(await api.post('/incidents', { tag, message: 'a'.repeat(200_000) }, globalKey), 201);
      assert.deepEqual(byService(accepted.incidents), [service.id]);
    });

    test('invalid filters on create and update: 400 invalid_filter pointing at each exact place, nothing changed', async () => {
      const team = await createTeam(t);
      const name = uniqueName('service');
      const created = await api.post('/services', {
        team_id: team, name,
        api_filter: { all: [tagged('ok'), { any: [{ path: 'a..b', op: 'exists' }, { path: 'x', op: 'matches', value: '(' }] }, { path: 'y', op: 'eq', value: 1 }] },
      });
      const error = expectError(created, 400, 'invalid_filter');
      assert.equal(error.details.field, 'api_filter');
      assert.deepEqual(error.details.errors.map((e: Json) => e.path), ['/all/1/any/0/path', '/all/1/any/1/value', '/all/2/op']);
      assert.match(error.details.errors[2].message, /did you mean "equals"/);
      assert.deepEqual(expectStatus(await api.get(`/services?team_id=${team}`), 200).services, [], 'no service was created');

      const service = await createService(t, team, { api_filter: tagged('keep') });
      const update = expectError(await api.patch(`/services/${service.id}`, { name: 'renamed', resolve_filter: { not: { path: 'state', op: 'in', value: [] } } }), 400, 'invalid_filter');
      assert.equal(update.details.field, 'resolve_filter');
      assert.deepEqual(update.details.errors.map((e: Json) => e.path), ['/not/value']);
      expectError(await api.patch(`/services/${service.id}`, { api_filter: { all: [] } }), 400, 'invalid_filter');
      expectError(await api.patch(`/services/${service.id}`, { api_filter: 'tag == 1' }), 400, 'invalid_filter');
      assert.deepEqual(expectStatus(await api.get(`/services/${service.id}`), 200).service, service, 'a refused update changes nothing');
    });

    test('an invalid field_mapping path: 400 validation_failed naming the field', async () => {
      const team = await createTeam(t);
      const error = expectError(await api.post('/services', { team_id: team, name: uniqueName('s'), field_mapping: { title: 'alert..name' } }), 400, 'validation_failed');
      assert.deepEqual(error.details.problems.map((p: Json) => p.field), ['field_mapping.title']);
      const service = await createService(t, team);
      const update = expectError(await api.patch(`/services/${service.id}`, { field_mapping: { dedup_key: 'a.__proto__' } }), 400, 'validation_failed');
      assert.deepEqual(update.details.problems.map((p: Json) => p.field), ['field_mapping.dedup_key']);
      expectError(await api.patch(`/services/${service.id}`, { field_mapping: { priority: 'p' } }), 400, 'validation_failed');
      assert.deepEqual(expectStatus(await api.get(`/services/${service.id}`), 200).service.field_mapping, {});
    });

    test('POST /services/{id}/api_filter/test explains which conditions decided', async () => {
      const team = await createTeam(t);
      const service = await createService(t, team, { api_filter: { all: [tagged('t'), { path: 'level', op: 'gte', value: 3 }, { not: { path: 'muted', op: 'exists' } }] } });
      const url = `/services/${service.id}/api_filter/test`;
      const miss = expectStatus(await api.post(url, { payload: { tag: 't', level: 1 } }), 200);
      assert.deepEqual(miss, { matched: false, filter: 'api_filter', explanation: [{ pointer: '/all/1', condition: 'level gte 3', actual: '1', result: false }] });
      const hit = expectStatus(await api.post(url, { payload: { tag: 't', level: 5 } }), 200);
      assert.equal(hit.matched, true);
      assert.deepEqual(hit.explanation.map((e: Json) => [e.pointer, e.actual]), [['/all/0', '"t"'], ['/all/1', '5'], ['/all/2/not', 'missing']]);
      const muted = expectStatus(await api.post(url, { payload: { tag: 't', level: 5, muted: null } }), 200);
      assert.equal(muted.matched, false);
      assert.equal(muted.explanation.at(-1).pointer, '/all/2/not');

      const bare = await createService(t, team);
      const none = expectStatus(await api.post(`/services/${bare.id}/api_filter/test`, { payload: { tag: 't' } }), 200);
      assert.equal(none.matched, false);
      assert.equal(none.filter, 'none');
      assert.equal((await allIncidents(t)).filter((i: Json) => i.service_id === service.id).length, 0, 'testing opens nothing');
    });
  });
}

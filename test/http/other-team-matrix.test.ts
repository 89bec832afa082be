import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { startTestApp, testDatabases, type TestApp } from '../support/harness.js';
import {
  allAuditEvents, client, createService, createTeam, createUser, expectError, expectStatus, GHOST_ID, issueKey, json, type Json,
} from '../support/platform.js';

/** What team B owns: everything a key of team A must not see or touch. */
type World = { team: string; service: string; workflow: string; incident: string; key: string; keyToken: string; user: string };
type Api = ReturnType<typeof client>;

/** Every by-id route, called on `id` (team B's resource, or an id that names nothing) with `token`. */
const BY_ID: Array<{ route: string; target: keyof World; call: (api: Api, id: string, token: string, w: World) => Promise<LightMyRequestResponse> }> = [
  { route: 'GET /teams/{id}', target: 'team', call: (api, id, tk) => api.get(`/teams/${id}`, tk) },
  { route: 'PATCH /teams/{id}', target: 'team', call: (api, id, tk) => api.patch(`/teams/${id}`, { name: 'taken over' }, tk) },
  { route: 'DELETE /teams/{id}', target: 'team', call: (api, id, tk) => api.del(`/teams/${id}`, tk) },
  { route: 'GET /teams/{id}/members', target: 'team', call: (api, id, tk) => api.get(`/teams/${id}/members`, tk) },
  { route: 'PUT /teams/{id}/members/{user_id}', target: 'team', call: (api, id, tk, w) => api.put(`/teams/${id}/members/${w.user}`, { role: 'manager' }, tk) },
  { route: 'DELETE /teams/{id}/members/{user_id}', target: 'team', call: (api, id, tk, w) => api.del(`/teams/${id}/members/${w.user}`, tk) },
  { route: 'GET /services/{id}', target: 'service', call: (api, id, tk) => api.get(`/services/${id}`, tk) },
  { route: 'PATCH /services/{id}', target: 'service', call: (api, id, tk) => api.patch(`/services/${id}`, { api_filter: null }, tk) },
  { route: 'DELETE /services/{id}', target: 'service', call: (api, id, tk) => api.del(`/services/${id}`, tk) },
  { route: 'POST /services/{id}/api_filter/test', target: 'service', call: (api, id, tk) => api.post(`/services/${id}/api_filter/test`, { payload: { env: 'prod' } }, tk) },
  { route: 'GET /services/{id}/change_events', target: 'service', call: (api, id, tk) => api.get(`/services/${id}/change_events`, tk) },
  { route: 'GET /workflows/{id}', target: 'workflow', call: (api, id, tk) => api.get(`/workflows/${id}`, tk) },
  { route: 'PATCH /workflows/{id}', target: 'workflow', call: (api, id, tk) => api.patch(`/workflows/${id}`, { enabled: false }, tk) },
  { route: 'DELETE /workflows/{id}', target: 'workflow', call: (api, id, tk) => api.del(`/workflows/${id}`, tk) },
  { route: 'GET /incidents/{id}', target: 'incident', call: (api, id, tk) => api.get(`/incidents/${id}`, tk) },
  { route: 'PATCH /incidents/{id}', target: 'incident', call: (api, id, tk) => api.patch(`/incidents/${id}`, { title: 'hijacked' }, tk) },
  { route: 'POST /incidents/{id}/acknowledge', target: 'incident', call: (api, id, tk) => api.post(`/incidents/${id}/acknowledge`, {}, tk) },
  { route: 'POST /incidents/{id}/resolve', target: 'incident', call: (api, id, tk) => api.post(`/incidents/${id}/resolve`, {}, tk) },
  { route: 'GET /api_keys/{id}', target: 'key', call: (api, id, tk) => api.get(`/api_keys/${id}`, tk) },
  { route: 'PATCH /api_keys/{id}', target: 'key', call: (api, id, tk) => api.patch(`/api_keys/${id}`, { read_only: true }, tk) },
  { route: 'DELETE /api_keys/{id}', target: 'key', call: (api, id, tk) => api.del(`/api_keys/${id}`, tk) },
  { route: 'POST /api_keys/{id}/rotate', target: 'key', call: (api, id, tk) => api.post(`/api_keys/${id}/rotate`, { grace_period_seconds: 0 }, tk) },
  { route: 'POST /api_keys/{id}/disable', target: 'key', call: (api, id, tk) => api.post(`/api_keys/${id}/disable`, {}, tk) },
  { route: 'POST /api_keys/{id}/enable', target: 'key', call: (api, id, tk) => api.post(`/api_keys/${id}/enable`, {}, tk) },
  { route: 'GET /api_keys/{id}/usage', target: 'key', call: (api, id, tk) => api.get(`/api_keys/${id}/usage`, tk) },
  { route: 'GET /users/{id}', target: 'user', call: (api, id, tk) => api.get(`/users/${id}`, tk) },
  { route: 'PATCH /users/{id}', target: 'user', call: (api, id, tk) => api.patch(`/users/${id}`, { name: 'renamed' }, tk) },
  { route: 'POST /users/{id}/deactivate', target: 'user', call: (api, id, tk) => api.post(`/users/${id}/deactivate`, {}, tk) },
];

for (const db of testDatabases()) {
  describe(`a team A admin key against team B's resources on ${db.name}`, () => {
    let t: TestApp;
    let api: Api;
    let w: World;
    let teamA: string;
    let intruder: string;
    /** A member of team A who also manages team B. */
    let shared: string;
    let snapshot: Json;

    /** Everything about team B that the owner can read, plus the whole audit trail. */
    async function observe(): Promise<Json> {
      const read = async (url: string) => expectStatus(await api.get(url), 200);
      return {
        team: await read(`/teams/${w.team}`),
        members: await read(`/teams/${w.team}/members`),
        services: await read(`/services?team_id=${w.team}`),
        workflows: await read(`/workflows?team_id=${w.team}`),
        incidents: await read(`/incidents?team_id=${w.team}`),
        keys: await read(`/api_keys?team_id=${w.team}`),
        user: await read(`/users/${w.user}`),
        audit: await allAuditEvents(t),
      };
    }

    before(async () => {
      t = await startTestApp(db);
      api = client(t);
      teamA = await createTeam(t);
      const team = await createTeam(t);
      const service = await createService(t, team, { api_filter: { path: 'env', op: 'equals', value: 'prod' } });
      const workflow = expectStatus(await api.post('/workflows', {
        team_id: team, name: 'page B', filter: { path: 'env', op: 'equals', value: 'prod' }, actions: [{ type: 'create_incident', service_id: service.id }],
      }), 201).workflow;
      const incident = expectStatus(await api.post('/incidents', { env: 'prod', title: 'B is down' }), 201).incidents[0];
      const key = await issueKey(t, { scope: 'team', team_id: team, roles: ['incident_creator'] });
      const user = await createUser(t, 'member');
      expectStatus(await api.put(`/teams/${team}/members/${user.id}`, { role: 'member' }), 204);
      w = { team, service: service.id, workflow: workflow.id, incident: incident.id, key: key.id, keyToken: key.token, user: user.id };
      intruder = (await issueKey(t, { scope: 'team', team_id: teamA, roles: ['admin'] })).token;
      shared = (await createUser(t, 'member')).id;
      expectStatus(await api.put(`/teams/${teamA}/members/${shared}`, { role: 'member' }), 204);
      expectStatus(await api.put(`/teams/${team}/members/${shared}`, { role: 'manager' }), 204);
      snapshot = await observe();
    });
    after(() => t.close());

    for (const { route, target, call } of BY_ID) {
      test(`${route}: 404 not_found, exactly as for an id that names nothing`, async () => {
        const hidden = expectError(await call(api, w[target], intruder, w), 404, 'not_found');
        const unknown = expectError(await call(api, GHOST_ID, intruder, w), 404, 'not_found');
        assert.deepEqual({ ...hidden, request_id: '' }, { ...unknown, request_id: '' });
      });
    }

    test('creates naming team B are refused: 403 out_of_scope', async () => {
      const creates: Array<[string, object]> = [
        ['/services', { team_id: w.team, name: 'inside B' }],
        ['/workflows', { team_id: w.team, name: 'inside B', actions: [{ type: 'create_incident', service_id: w.service }] }],
        ['/api_keys', { name: 'B key', scope: 'team', team_id: w.team, roles: ['viewer'] }],
        ['/api_keys', { name: 'B service key', scope: 'service', service_id: w.service, roles: ['viewer'] }],
      ];
      for (const [url, body] of creates) {
        expectError(await api.post(url, body, intruder), 403, 'out_of_scope');
      }
    });

    test('lists filtered to team B show nothing of it', async () => {
      for (const url of [`/services?team_id=${w.team}`, `/workflows?team_id=${w.team}`, `/incidents?team_id=${w.team}`, `/api_keys?team_id=${w.team}`]) {
        const body = expectStatus(await api.get(url, intruder), 200);
        const [items] = Object.values(body).filter(Array.isArray) as Json[][];
        assert.deepEqual(items, [], url);
      }
      const users = expectStatus(await api.get('/users', intruder), 200).users.map((u: Json) => u.id);
      assert.ok(!users.includes(w.user), 'team B’s member is not listed to team A');
    });

    test('a user in both teams is shown to team A without their team B membership', async () => {
      const seen = expectStatus(await api.get(`/users/${shared}`, intruder), 200);
      assert.deepEqual(seen.user.teams, [{ team_id: teamA, role: 'member' }]);
      assert.ok(!JSON.stringify(seen).includes(w.team), 'team B’s id is not named');
      const teams = expectStatus(await api.get(`/users/${shared}`), 200).user.teams.map((m: Json) => m.team_id).sort();
      assert.deepEqual(teams, [teamA, w.team].sort(), 'the owner sees both');
    });

    test('afterwards nothing of team B has changed and its key still works', async () => {
      // The matrix and create tests above ran first (node:test runs a suite's tests in order).
      const now = await observe();
      assert.deepEqual(now, snapshot);
      expectStatus(await api.get('/identity', w.keyToken), 200);
      const viaB = json(await api.post('/incidents', { env: 'prod', title: 'still B' }, w.keyToken));
      assert.equal(viaB.status, 'created', 'team B’s key still routes into team B');
    });
  });
}

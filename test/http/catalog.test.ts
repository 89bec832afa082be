import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, testDatabases, type TestApp } from '../support/harness.js';
import { assertError, createService, createTeam, createWorld, json, operatorKey, unique, type Issued, type Json, type World } from '../support/fixtures.js';

const GHOST = '01J00000000000000000000000';
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

for (const db of testDatabases()) {
  describe(`teams and services on ${db.name}`, () => {
    let t: TestApp;
    let world: World;
    let teamEditor: Issued;
    let serviceViewer: Issued;

    before(async () => {
      t = await startTestApp(db);
      world = await createWorld(t);
      teamEditor = await operatorKey(t, { scope: 'team', team_id: world.teamA, roles: ['services_editor'] });
      serviceViewer = await operatorKey(t, { scope: 'service', service_id: world.serviceA, roles: ['viewer'] });
    });
    after(() => t.close());

    const get = (url: string, token = t.ownerToken) => t.request({ method: 'GET', url: `/api/v1${url}`, token });
    const post = (url: string, payload: object, token = t.ownerToken) => t.request({ method: 'POST', url: `/api/v1${url}`, token, payload });
    const del = (url: string, token = t.ownerToken) => t.request({ method: 'DELETE', url: `/api/v1${url}`, token });
    async function ok(url: string, token = t.ownerToken): Promise<Json> {
      const res = await get(url, token);
      assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
      return json(res);
    }
    /** Another team's id must answer exactly like an id that names nothing. */
    async function hiddenLikeUnknown(path: string, id: string, token: string): Promise<void> {
      const hidden = assertError(await get(`${path}/${id}`, token), 404, 'not_found');
      const unknown = assertError(await get(`${path}/${GHOST}`, token), 404, 'not_found');
      assert.deepEqual({ ...hidden, request_id: null }, { ...unknown, request_id: null });
    }

    describe('teams', () => {
      test('create: 201 with the team, then found by show and list', async () => {
        const res = await post('/teams', { name: 'Payments', description: 'money in, money out' });
        assert.equal(res.statusCode, 201, res.body);
        const { team } = json(res);
        const at = t.clock.now().toISOString();
        assert.match(team.id, ULID);
        assert.deepEqual(team, { id: team.id, name: 'Payments', description: 'money in, money out', created_at: at, updated_at: at });
        assert.deepEqual((await ok(`/teams/${team.id}`)).team, team);
        assert.ok((await ok('/teams')).teams.some((x: Json) => x.id === team.id));
        assert.equal(json(await post('/teams', { name: unique('team') })).team.description, '', 'description defaults to empty');
      });

      test('a name already taken: 409 conflict', async () => {
        const name = unique('team');
        await createTeam(t, name);
        const error = assertError(await post('/teams', { name }), 409, 'conflict');
        assert.ok(error.message.includes(name), error.message);
      });

      test('the same name sent several times at once: one 201, the others 409 conflict, never a 500', async () => {
        const name = unique('team');
        const results = await Promise.all([1, 2, 3, 4].map(() => post('/teams', { name })));
        assert.deepEqual(results.map((r) => r.statusCode).sort(), [201, 409, 409, 409], results.map((r) => r.body).join('\n'));
        for (const r of results.filter((x) => x.statusCode === 409)) assertError(r, 409, 'conflict');
      });

      test('invalid bodies: 400 validation_failed', async () => {
        for (const body of [{}, { name: '' }, { name: 'x'.repeat(201) }, { name: 42 }, { name: 'ok', colour: 'blue' }]) {
          assertError(await post('/teams', body), 400, 'validation_failed');
        }
      });

      test('only a global caller creates teams: a team key gets 403 out_of_scope', async () => {
        const teamAdmin = await operatorKey(t, { scope: 'team', team_id: world.teamA, roles: ['admin'] });
        const name = unique('team');
        assertError(await post('/teams', { name }, teamAdmin.token), 403, 'out_of_scope');
        assert.ok(!(await ok('/teams?limit=200')).teams.some((x: Json) => x.name === name));
      });

      test('a team key may edit its team\'s description but not rename it: a refused rename would tell it another team\'s name', async () => {
        const teamAdmin = await operatorKey(t, { scope: 'team', team_id: world.teamA, roles: ['admin'] });
        const patch = (payload: object, token: string) => t.request({ method: 'PATCH', url: `/api/v1/teams/${world.teamA}`, token, payload });
        const { name: otherName } = (await ok(`/teams/${world.teamB}`)).team;
        const before = (await ok(`/teams/${world.teamA}`)).team;
        for (const name of [otherName, unique('fresh name')]) {
          const error = assertError(await patch({ name }, teamAdmin.token), 403, 'global_token_required');
          assert.ok(!error.message.includes(otherName), 'the refusal is the same whether the name is taken or free');
        }
        const described = await patch({ description: 'on call for payments', name: before.name }, teamAdmin.token);
        assert.equal(described.statusCode, 200, described.body);
        assert.equal(json(described).team.description, 'on call for payments');
        assert.equal((await ok(`/teams/${world.teamA}`)).team.name, before.name);
        assertError(await patch({ name: otherName }, t.ownerToken), 409, 'conflict');
        const renamed = await patch({ name: unique('renamed') }, t.ownerToken);
        assert.equal(renamed.statusCode, 200, 'a global caller renames');
      });

      test('a team key sees its own team only; other teams answer 404 exactly like unknown ids', async () => {
        assert.deepEqual((await ok('/teams', teamEditor.token)).teams.map((x: Json) => x.id), [world.teamA]);
        assert.equal((await ok(`/teams/${world.teamA}`, teamEditor.token)).team.id, world.teamA);
        await hiddenLikeUnknown('/teams', world.teamB, teamEditor.token);
      });

      test('a service key sees no team, its own included (service scope is that service only)', async () => {
        assert.deepEqual((await ok('/teams', serviceViewer.token)).teams, []);
        await hiddenLikeUnknown('/teams', world.teamA, serviceViewer.token);
        await hiddenLikeUnknown('/teams', world.teamB, serviceViewer.token);
      });

      test('delete: refused (409) while a workflow, a live key or a service is left; once they are gone, 204, even with the revoked key and deleted service still on record', async () => {
        const name = unique('team');
        const team = await createTeam(t, name);
        const key = await operatorKey(t, { scope: 'team', team_id: team, roles: ['viewer'] });
        const service = await createService(t, team);
        const workflow = json(await post('/workflows', { team_id: team, name: unique('workflow'), actions: [{ type: 'create_incident', service_id: service }] })).workflow.id;
        const refused = assertError(await del(`/teams/${team}`), 409, 'conflict');
        assert.deepEqual(refused.details, { services: 1, keys: 1, incidents: 0, workflows: 1 });
        assert.equal((await del(`/workflows/${workflow}`)).statusCode, 204);
        assert.equal((await del(`/api_keys/${key.id}`)).statusCode, 204);
        assert.equal((await del(`/services/${service}`)).statusCode, 204);

        const deleted = await del(`/teams/${team}`);
        assert.equal(deleted.statusCode, 204, deleted.body);
        assertError(await get(`/teams/${team}`), 404, 'not_found');
        assert.ok(!(await ok('/teams?limit=200')).teams.some((x: Json) => x.id === team));
        assertError(await del(`/teams/${team}`), 404, 'not_found');
        assertError(await get('/identity', key.token), 401, 'token_revoked');
        assert.equal((await post('/teams', { name })).statusCode, 201, 'the name is free again');
      });

      test('limit and next_cursor walk every team, newest first, without repeats', async () => {
        for (let i = 0; i < 3; i++) await createTeam(t);
        const all = (await ok('/teams?limit=200')).teams.map((x: Json) => x.id);
        assert.deepEqual(all, [...all].sort().reverse());
        const walked: string[] = [];
        let cursor: string | null = null;
        do {
          const page: Json = await ok(`/teams?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
          assert.ok(page.teams.length <= 2);
          walked.push(...page.teams.map((x: Json) => x.id));
          cursor = page.next_cursor;
        } while (cursor);
        assert.deepEqual(walked, all);
      });
    });

    describe('services', () => {
      test('create: 201 with the service in its team, no API filter yet; show, list and team_id filter find it', async () => {
        const res = await post('/services', { team_id: world.teamB, name: 'checkout', description: 'the basket' });
        assert.equal(res.statusCode, 201, res.body);
        const { service } = json(res);
        const at = t.clock.now().toISOString();
        const { id, team_id, name, description, api_filter, created_at, updated_at } = service;
        assert.match(id, ULID);
        assert.deepEqual(
          { team_id, name, description, api_filter, created_at, updated_at },
          { team_id: world.teamB, name: 'checkout', description: 'the basket', api_filter: null, created_at: at, updated_at: at },
        );
        assert.deepEqual((await ok(`/services/${service.id}`)).service, service);
        const inB = (await ok(`/services?team_id=${world.teamB}`)).services;
        assert.ok(inB.some((s: Json) => s.id === service.id));
        for (const s of inB) assert.equal(s.team_id, world.teamB);
        assert.ok(!(await ok(`/services?team_id=${world.teamA}`)).services.some((s: Json) => s.id === service.id));
      });

      test('names are unique within a team (409 conflict) and free across teams', async () => {
        const name = unique('service');
        await createService(t, world.teamA, name);
        assertError(await post('/services', { team_id: world.teamA, name }), 409, 'conflict');
        assert.equal((await post('/services', { team_id: world.teamB, name })).statusCode, 201);
      });

      test('the same name sent several times at once: one 201, the others 409 conflict, never a 500', async () => {
        const name = unique('service');
        const results = await Promise.all([1, 2, 3, 4].map(() => post('/services', { team_id: world.teamA, name })));
        assert.deepEqual(results.map((r) => r.statusCode).sort(), [201, 409, 409, 409], results.map((r) => r.body).join('\n'));
        for (const r of results.filter((x) => x.statusCode === 409)) assertError(r, 409, 'conflict');
      });

      test('invalid bodies: 400; an unknown team: 404 not_found', async () => {
        for (const body of [{ name: 'x' }, { team_id: world.teamA }, { team_id: world.teamA, name: '' }, { team_id: world.teamA, name: 'x', api: 1 }]) {
          assertError(await post('/services', body), 400, 'validation_failed');
        }
        assertError(await post('/services', { team_id: GHOST, name: unique('service') }), 404, 'not_found');
      });

      test('a team key sees only its team\'s services; others answer 404 exactly like unknown ids', async () => {
        const seen = (await ok('/services', teamEditor.token)).services;
        assert.ok(seen.some((s: Json) => s.id === world.serviceA));
        for (const s of seen) assert.equal(s.team_id, world.teamA);
        assert.deepEqual((await ok(`/services?team_id=${world.teamB}`, teamEditor.token)).services, []);
        assert.equal((await ok(`/services/${world.serviceA}`, teamEditor.token)).service.id, world.serviceA);
        await hiddenLikeUnknown('/services', world.serviceB, teamEditor.token);
      });

      test('a team key creates services in its own team only; another team answers like an unknown one', async () => {
        const made = await post('/services', { team_id: world.teamA, name: unique('service') }, teamEditor.token);
        assert.equal(made.statusCode, 201, made.body);
        assert.equal(json(made).service.team_id, world.teamA);
        const name = unique('service');
        const other = assertError(await post('/services', { team_id: world.teamB, name }, teamEditor.token), 403, 'out_of_scope');
        const unknown = assertError(await post('/services', { team_id: GHOST, name }, teamEditor.token), 403, 'out_of_scope');
        assert.equal(other.message, unknown.message);
        assert.ok(!(await ok(`/services?team_id=${world.teamB}&limit=200`)).services.some((s: Json) => s.name === name));
      });

      test('a service key sees its own service only, even within its team', async () => {
        const sibling = await createService(t, world.teamA);
        assert.deepEqual((await ok('/services', serviceViewer.token)).services.map((s: Json) => s.id), [world.serviceA]);
        assert.equal((await ok(`/services/${world.serviceA}`, serviceViewer.token)).service.id, world.serviceA);
        await hiddenLikeUnknown('/services', sibling, serviceViewer.token);
        await hiddenLikeUnknown('/services', world.serviceB, serviceViewer.token);
      });

      test('a service key with services:write cannot create services, even in its own team', async () => {
        const editor = await operatorKey(t, { scope: 'service', service_id: world.serviceA, roles: ['services_editor'] });
        assertError(await post('/services', { team_id: world.teamA, name: unique('service') }, editor.token), 403, 'out_of_scope');
      });
    });
  });
}

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testDatabases, type TestApp } from '../support/harness.js';
import { startRaceApp, type RaceApp } from '../support/pg-races.js';
import { client, createTeam, createUser, expectError, expectStatus, type Json } from '../support/platform.js';

// A user changed by another transaction while a request is changing them: on PostgreSQL the
// request waits for that transaction, then decides on the user as it committed.
const postgres = testDatabases().find((d) => d.name === 'postgres');
if (postgres) {
  describe('a user changed by someone else meanwhile, on PostgreSQL', () => {
    let races: RaceApp;
    let t: TestApp;
    let api: ReturnType<typeof client>;

    before(async () => {
      races = await startRaceApp(postgres);
      t = races.t;
      api = client(t);
    });
    after(() => races.close());

    const whileUserSet = (userId: string, set: string, request: () => Promise<Json>) => races.changedWhile('users', userId, set, request);
    const trailOf = async (userId: string): Promise<Json[]> => expectStatus(await api.get(`/audit_events?target_id=${userId}`), 200).audit_events;

    test('deactivating a user deleted meanwhile answers 409 and the user stays deleted', async () => {
      const user = await createUser(t);
      const answer = await whileUserSet(user.id, `status = 'deleted'`, () => api.post(`/users/${user.id}/deactivate`));
      assert.match(expectError(answer, 409, 'conflict').message, /deleted/);
      assert.equal(expectStatus(await api.get(`/users/${user.id}`), 200).user.status, 'deleted');
      assert.deepEqual((await trailOf(user.id)).map((e) => e.action), ['user.created']);
    });

    test('renaming a user deleted meanwhile answers 409; a rename records the name the user had when it was made', async () => {
      const gone = await createUser(t);
      expectError(await whileUserSet(gone.id, `status = 'deleted'`, () => api.patch(`/users/${gone.id}`, { name: 'Ada' })), 409, 'conflict');
      const user = await createUser(t);
      expectStatus(await whileUserSet(user.id, `name = 'Renamed meanwhile'`, () => api.patch(`/users/${user.id}`, { name: 'Ada' })), 200);
      const [updated] = (await trailOf(user.id)).filter((e) => e.action === 'user.updated');
      assert.deepEqual(updated.details, { name: { from: 'Renamed meanwhile', to: 'Ada' } });
    });

    test('adding a user deleted meanwhile to a team answers 409: the deletion removed their memberships, and none comes back', async () => {
      const user = await createUser(t);
      const team = await createTeam(t);
      const answer = await whileUserSet(user.id, `status = 'deleted'`, () => api.put(`/teams/${team}/members/${user.id}`, { role: 'member' }));
      assert.match(expectError(answer, 409, 'conflict').message, /deleted/);
      assert.deepEqual(expectStatus(await api.get(`/teams/${team}/members`), 200).members, []);
    });

    test('setting the password of a user promoted to admin meanwhile takes what an admin\'s password takes: 403 for an API key', async () => {
      const user = await createUser(t);
      const answer = await whileUserSet(user.id, `role = 'admin'`, () => api.patch(`/users/${user.id}`, { password: 'chosen by the caller' }));
      expectError(answer, 403, 'escalation_denied');
      expectError(await t.request({ method: 'POST', url: '/api/v1/session', payload: { email: user.email, password: 'chosen by the caller' } }), 401, 'invalid_credentials');
    });

    test('a team deleted while its members change: each answers, none fails as a deadlock', async () => {
      for (let round = 0; round < 20; round++) {
        const team = await createTeam(t);
        const user = await createUser(t);
        const [deleted, added] = await Promise.all([api.del(`/teams/${team}`), api.put(`/teams/${team}/members/${user.id}`, { role: 'member' })]);
        expectStatus(deleted, 204);
        assert.ok(added.statusCode === 204 || added.statusCode === 404, `round ${round}: ${added.statusCode} ${added.body}`);
        assert.deepEqual(expectStatus(await api.get(`/users/${user.id}`), 200).user.teams, [], `round ${round}: no membership in a deleted team`);
      }
    });

    test('a deactivation or deletion that finds its work done meanwhile writes no event of its own', async () => {
      const user = await createUser(t);
      expectStatus(await whileUserSet(user.id, `status = 'deactivated'`, () => api.post(`/users/${user.id}/deactivate`)), 200);
      const deleted = await createUser(t);
      expectStatus(await whileUserSet(deleted.id, `status = 'deleted'`, () => api.del(`/users/${deleted.id}`)), 204);
      for (const id of [user.id, deleted.id]) assert.deepEqual((await trailOf(id)).map((e) => e.action), ['user.created']);
    });
  });
}

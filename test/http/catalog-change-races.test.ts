import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testDatabases, type TestApp } from '../support/harness.js';
import { startRaceApp, type RaceApp } from '../support/pg-races.js';
import { client, createService, createTeam, createUser, expectStatus, type Json } from '../support/platform.js';

// A service or a team's membership changed by another request while one is changing it: on
// PostgreSQL the request waits for the other, then audits what it changes from what that left.
const postgres = testDatabases().find((d) => d.name === 'postgres');
if (postgres) {
  describe('services and team roles changed by someone else meanwhile, on PostgreSQL', () => {
    let races: RaceApp;
    let t: TestApp;
    let api: ReturnType<typeof client>;

    before(async () => {
      races = await startRaceApp(postgres);
      t = races.t;
      api = client(t);
    });
    after(() => races.close());

    const trail = async (targetId: string): Promise<Json[]> => expectStatus(await api.get(`/audit_events?target_id=${targetId}`), 200).audit_events;

    test('a service PATCH audits every field it changes from what the other change left, a field set back included', async () => {
      const service = await createService(t, await createTeam(t), { name: 'svc-a', description: 'old' });
      const answer = await races.changedWhile('services', service.id, `description = 'NEW'`, () => api.patch(`/services/${service.id}`, { name: 'svc-b', description: 'old' }));
      assert.equal(expectStatus(answer, 200).service.description, 'old');
      const [updated] = (await trail(service.id)).filter((e) => e.action === 'service.updated');
      assert.deepEqual(updated!.details.changes, { name: { from: 'svc-a', to: 'svc-b' }, description: { from: 'NEW', to: 'old' } });
    });

    test('a workflow PATCH is decided on the workflow as another change left it: switching off one switched on meanwhile is no no-op', async () => {
      const team = await createTeam(t);
      const made = expectStatus(await api.post('/workflows', {
        team_id: team, name: 'page the DBA', enabled: false, filter: { path: 'tag', op: 'equals', value: 'db' }, actions: [{ type: 'webhook', url: 'https://hooks.example.com/x' }],
      }), 201).workflow;
      const answer = await races.changedWhile('workflows', made.id, 'enabled = 1', () => api.patch(`/workflows/${made.id}`, { enabled: false }));
      assert.equal(expectStatus(answer, 200).workflow.enabled, false);
      const [updated] = (await trail(made.id)).filter((e) => e.action === 'workflow.updated');
      assert.deepEqual(updated!.details, { from: { enabled: true }, to: { enabled: false } });
    });

    test('a team role set to what another request just set writes no event; the next records the role it replaces', async () => {
      const team = await createTeam(t);
      const user = await createUser(t);
      const url = `/teams/${team}/members/${user.id}`;
      expectStatus(await api.put(url, { role: 'member' }), 204);
      // The other request, as Latchkey makes one: the team locked, then the member's role.
      await races.side.query('begin');
      let answer: Promise<Json> | undefined;
      try {
        await races.side.query('select id from teams where id = $1 for no key update', [team]);
        await races.side.query(`update team_memberships set role = 'manager' where team_id = $1 and user_id = $2`, [team, user.id]);
        answer = api.put(url, { role: 'manager' });
        await races.blocking();
      } finally {
        await races.side.query('commit');
      }
      expectStatus(await answer, 204);
      expectStatus(await api.put(url, { role: 'member' }), 204);
      const roles = (await trail(team)).filter((e) => e.action === 'team.member_set').map((e) => e.details);
      assert.deepEqual(roles, [
        { user_id: user.id, role: 'member', previous_role: 'manager' },
        { user_id: user.id, role: 'member', previous_role: null },
      ]);
    });
  });
}

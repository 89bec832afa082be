import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, testDatabases, type TestApp } from '../support/harness.js';

// A refused request must have no effect at all: the answer is an error AND nothing ran. (An early
// answer from a hook that does not stop the chain would let the handler run behind the 403.)
for (const db of testDatabases()) {
  describe(`refused requests change nothing on ${db.name}`, () => {
    let t: TestApp;
    const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, token: string, payload?: unknown) =>
      t.request({ method, url, token, ...(payload !== undefined && { payload: payload as object }) });
    const incidents = async () => (await call('GET', '/api/v1/incidents?limit=200', t.ownerToken)).json().incidents.length as number;
    const keyFor = async (body: Record<string, unknown>) =>
      (await call('POST', '/api/v1/api_keys', t.ownerToken, { name: 'k', scope: 'global', ...body })).json() as { token: string; api_key: { id: string } };

    before(async () => {
      t = await startTestApp(db);
      const team = (await call('POST', '/api/v1/teams', t.ownerToken, { name: 'ops' })).json().team;
      await call('POST', '/api/v1/services', t.ownerToken, { team_id: team.id, name: 'db', api_filter: { path: 'source', op: 'equals', value: 'db' } });
    });
    after(() => t.close());

    test('read-only, missing permission, wrong address and over-limit keys create no incident', async () => {
      const readOnly = await keyFor({ roles: ['incident_creator'], read_only: true });
      const viewer = await keyFor({ roles: ['viewer'] });
      const elsewhere = await keyFor({ roles: ['incident_creator'], allowed_cidrs: ['192.0.2.0/24'] });
      const before = await incidents();
      const refusals = [
        [readOnly.token, 403, 'read_only_token'],
        [viewer.token, 403, 'insufficient_permissions'],
        [elsewhere.token, 403, 'ip_not_allowed'],
      ] as const;
      for (const [token, status, code] of refusals) {
        const answer = await call('POST', '/api/v1/incidents', token, { source: 'db', title: `must not exist ${code}` });
        assert.equal(answer.statusCode, status, answer.body);
        assert.equal(answer.json().error.code, code);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(await incidents(), before, 'no refused request created an incident');
    });

    test('a refused key change leaves the key as it was', async () => {
      const viewer = await keyFor({ roles: ['viewer'] });
      const target = await keyFor({ roles: ['viewer'] });
      const refused = await call('PATCH', `/api/v1/api_keys/${target.api_key.id}`, viewer.token, { name: 'renamed' });
      assert.equal(refused.statusCode, 403);
      const revoke = await call('DELETE', `/api/v1/api_keys/${target.api_key.id}`, viewer.token);
      assert.equal(revoke.statusCode, 403);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const shown = (await call('GET', `/api/v1/api_keys/${target.api_key.id}`, t.ownerToken)).json().api_key;
      assert.equal(shown.name, 'k');
      assert.equal(shown.status, 'active');
    });
  });
}

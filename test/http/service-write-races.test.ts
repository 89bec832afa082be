import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestApp, testDatabases, type TestApp } from '../support/harness.js';
import { client, createService, createTeam, expectError, expectStatus, uniqueName, type Json } from '../support/platform.js';

// A change to a service races its deletion: on PostgreSQL the change's UPDATE waits for the delete
// to commit and then went ahead on the deleted row. Many pairs, so that some interleave.
const PAIRS = 60;

for (const db of testDatabases()) {
  describe(`a service changed or deleted while it is being deleted, on ${db.name}`, () => {
    let t: TestApp;
    let api: ReturnType<typeof client>;
    before(async () => {
      t = await startTestApp(db);
      api = client(t);
    });
    after(() => t.close());

    test('PATCH racing DELETE: 200 or 404, never a 500; a deleted service keeps its freed name and gets no update audited', async () => {
      const team = await createTeam(t);
      const raced: Array<{ id: string; name: string; status: number }> = [];
      for (let i = 0; i < PAIRS; i++) {
        const service = await createService(t, team);
        const name = uniqueName('renamed');
        const [patched, deleted] = await Promise.all([
          api.patch(`/services/${service.id}`, { name, api_filter: { path: 'n', op: 'equals', value: i } }),
          api.del(`/services/${service.id}`),
        ]);
        expectStatus(deleted, 204);
        if (patched.statusCode === 404) expectError(patched, 404, 'not_found');
        else expectStatus(patched, 200);
        raced.push({ id: service.id, name, status: patched.statusCode });
      }
      for (const { name } of raced) {
        expectStatus(await api.post('/services', { team_id: team, name }), 201);
      }
      const audit = await allAuditEventsOf(t, raced.map((r) => r.id));
      for (const { id, status } of raced) {
        const actions = audit.filter((e: Json) => e.target_id === id).map((e: Json) => e.action);
        assert.deepEqual(actions.sort(), status === 200 ? ['service.created', 'service.deleted', 'service.updated'] : ['service.created', 'service.deleted'], id);
      }
    });

    test('two DELETEs at once: one 204, the other 404, and one deletion on record', async () => {
      const team = await createTeam(t);
      const ids: string[] = [];
      for (let i = 0; i < PAIRS; i++) {
        const service = await createService(t, team);
        const answers = await Promise.all([api.del(`/services/${service.id}`), api.del(`/services/${service.id}`)]);
        assert.deepEqual(answers.map((a) => a.statusCode).sort(), [204, 404], answers.map((a) => a.body).join('\n'));
        ids.push(service.id);
      }
      const audit = await allAuditEventsOf(t, ids);
      for (const id of ids) assert.equal(audit.filter((e: Json) => e.target_id === id && e.action === 'service.deleted').length, 1, id);
    });
  });
}

/** The audit events about these targets, read page by page. */
async function allAuditEventsOf(t: TestApp, ids: string[]): Promise<Json[]> {
  const wanted = new Set(ids);
  const out: Json[] = [];
  let cursor: string | null = null;
  do {
    const page: Json = expectStatus(await client(t).get(`/audit_events?limit=200${cursor ? `&cursor=${cursor}` : ''}`), 200);
    out.push(...page.audit_events.filter((e: Json) => wanted.has(e.target_id)));
    cursor = page.next_cursor;
  } while (cursor);
  return out;
}


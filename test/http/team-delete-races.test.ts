import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { startTestApp, testDatabases, type TestApp } from '../support/harness.js';
import { assertError, createTeam, json, unique } from '../support/fixtures.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// A deleted team stays as a row, so the foreign keys that once refused a service, key, workflow or
// membership joining a team deleted meanwhile no longer do. On PostgreSQL, where two requests run
// side by side, each order is forced here by a lock another connection holds.
const postgres = testDatabases().find((d) => d.name === 'postgres');
if (postgres) {
  describe('deleting a team while something joins it, on PostgreSQL', () => {
    let t: TestApp;
    let admin: pg.Client;
    let schema: string;

    before(async () => {
      t = await startTestApp(postgres);
      admin = new pg.Client({ connectionString: postgres.url });
      await admin.connect();
      schema = t.schema!;
    });
    after(async () => {
      await admin.end();
      await t.close();
    });

    const deleteTeam = (team: string) => t.request({ method: 'DELETE', url: `/api/v1/teams/${team}`, token: t.ownerToken });
    const createServiceIn = (team: string) => t.request({ method: 'POST', url: '/api/v1/services', token: t.ownerToken, payload: { team_id: team, name: unique('service') } });

    /** Runs `fn` while another connection holds `lock` in a transaction of its own, then lets go. */
    async function holding(lock: string, params: unknown[], fn: () => Promise<void>): Promise<void> {
      await admin.query('begin');
      try {
        await admin.query(lock, params);
        await fn();
      } finally {
        await admin.query('commit');
      }
    }

    test('a service created while the delete is under way keeps the team: 409, and the service stays in a live team', async () => {
      const team = await createTeam(t);
      let deleting!: ReturnType<typeof deleteTeam>;
      // The delete waits at the team's row; the service joins the team meanwhile and commits.
      await holding(`select id from "${schema}".teams where id = $1 for no key update`, [team], async () => {
        deleting = deleteTeam(team);
        await pause(300);
        assert.equal((await createServiceIn(team)).statusCode, 201);
      });
      const deleted = await deleting;
      assertError(deleted, 409, 'conflict');
      assert.equal((await t.request({ method: 'GET', url: `/api/v1/teams/${team}`, token: t.ownerToken })).statusCode, 200);
    });

    test('a service created while the delete commits finds the team gone: 404, and nothing is left in the deleted team', async () => {
      const team = await createTeam(t);
      let deleting!: ReturnType<typeof deleteTeam>;
      let creating!: ReturnType<typeof createServiceIn>;
      // The delete has marked the team and waits to write its audit event; the service's insert waits on the team's row.
      await holding(`lock table "${schema}".audit_events in exclusive mode`, [], async () => {
        deleting = deleteTeam(team);
        await pause(300);
        creating = createServiceIn(team);
        await pause(300);
      });
      assert.equal((await deleting).statusCode, 204);
      assertError(await creating, 404, 'not_found');
      const left = await admin.query(`select count(*) as n from "${schema}".services where team_id = $1`, [team]);
      assert.equal(Number(left.rows[0].n), 0);
      assert.equal(json(await deleteTeam(team)).error.code, 'not_found');
    });
  });
}

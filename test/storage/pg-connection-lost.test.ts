import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { ulid } from 'ulid';
import { testDatabases } from '../support/database.js';
import { startTestApp } from '../support/harness.js';

// A PostgreSQL restart or failover, or a proxy's idle timeout, breaks the pool's idle connections.
// pg reports each on the pool; with no listener there, Node ended the whole server.
const url = testDatabases().find((d) => d.name === 'postgres')?.url;

if (url) describe('PostgreSQL connections lost while idle', () => {
  test('the server lives on, and the next requests are answered on new connections', async () => {
    // A name of its own, so only this server's connections are ended, not other suites'.
    const name = `latchkey_lost_${ulid().toLowerCase()}`;
    const t = await startTestApp({ name: 'postgres', url: `${url}${url.includes('?') ? '&' : '?'}application_name=${name}` });
    try {
      const teams = () => t.request({ method: 'GET', url: '/api/v1/teams', token: t.ownerToken });
      assert.equal((await Promise.all([teams(), teams(), teams()])).every((r) => r.statusCode === 200), true);

      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      try {
        const ended = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [name]);
        assert.ok(ended.rowCount! >= 1, 'the server had idle connections to end');
      } finally {
        await admin.end();
      }
      await sleep(200); // the pool hears of the ends

      assert.equal((await teams()).statusCode, 200);
      const created = await t.request({ method: 'POST', url: '/api/v1/teams', token: t.ownerToken, payload: { name: `after-${name}` } });
      assert.equal(created.statusCode, 201, created.body);
    } finally {
      await t.close();
    }
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pg from 'pg';
import { createInvalidationBus } from '../../src/services/invalidation.js';
import { openPgChangeChannel } from '../../src/services/pg-invalidation.js';
import { testDatabases } from '../support/database.js';
import { startRelay } from '../support/relay.js';

const postgres = testDatabases().find((d) => d.name === 'postgres');
if (postgres) {
  describe('key changes between processes through PostgreSQL NOTIFY', () => {
    test('a bus closed while it is listening again after a lost connection leaves no connection behind', { timeout: 10_000 }, async () => {
      const target = new URL(postgres.url);
      const relay = await startRelay(target.hostname, Number(target.port || 5432));
      const application = `latchkey-bus-${process.pid}`;
      const url = `postgres://${target.username}@127.0.0.1:${relay.port}${target.pathname}?application_name=${application}`;
      const connectionsLeft = async () => {
        const admin = new pg.Client({ connectionString: postgres.url });
        await admin.connect();
        try {
          return Number((await admin.query('select count(*) as n from pg_stat_activity where application_name = $1', [application])).rows[0].n);
        } finally {
          await admin.end();
        }
      };
      try {
        const bus = await createInvalidationBus([(deliver) => openPgChangeChannel(url, 'closing', deliver, { warn() {} })]);
        relay.holdNewConnections(300);
        relay.cut();
        // Past the second the bus waits before listening again: its new connection is on its way.
        await new Promise((resolve) => setTimeout(resolve, 1100));
        await bus.close();
        await new Promise((resolve) => setTimeout(resolve, 600));
        assert.equal(await connectionsLeft(), 0, 'the connection on its way when the bus closed listens on, and keeps its process from exiting');
      } finally {
        await relay.close();
      }
    });
  });
}

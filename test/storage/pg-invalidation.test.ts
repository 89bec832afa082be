import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pg from 'pg';
import { createInvalidationBus, type Invalidation, type InvalidationBus } from '../../src/services/invalidation.js';
import { openPgChangeChannel } from '../../src/services/pg-invalidation.js';
import { testDatabases } from '../support/database.js';
import { startRelay } from '../support/relay.js';

type Logger = { warn(obj: unknown): void };

/** Everything `bus` delivers to its subscribers from now on, in order. */
function heard(bus: InvalidationBus): Invalidation[] {
  const messages: Invalidation[] = [];
  bus.subscribe((m) => messages.push(m));
  return messages;
}

/** Waits until `done()` holds, looking every 10 ms; fails after `ms`. */
async function until(done: () => boolean | Promise<boolean>, what: string, ms = 2000): Promise<void> {
  for (const end = Date.now() + ms; !(await done());) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const postgres = testDatabases().find((d) => d.name === 'postgres');
if (postgres) {
  const target = new URL(postgres.url);
  const bus = (url: string, schema: string, logger: Logger = { warn() {} }) =>
    createInvalidationBus([(deliver) => openPgChangeChannel(url, schema, deliver, logger)]);

  /** A relay to the test database, and how many connections a bus made through it still holds. */
  async function throughRelay(name: string) {
    const relay = await startRelay(target.hostname, Number(target.port || 5432));
    const application = `latchkey-${name}-${process.pid}`;
    const url = `postgres://${target.username}@127.0.0.1:${relay.port}${target.pathname}?application_name=${application}`;
    const connectionsLeft = async () => {
      const admin = new pg.Client({ connectionString: postgres!.url });
      await admin.connect();
      try {
        return Number((await admin.query('select count(*) as n from pg_stat_activity where application_name = $1', [application])).rows[0].n);
      } finally {
        await admin.end();
      }
    };
    return { relay, url, connectionsLeft };
  }

  describe('key changes between processes through PostgreSQL NOTIFY', () => {
    test('a bus closed while it is listening again after a lost connection leaves no connection behind', { timeout: 10_000 }, async () => {
      const { relay, url, connectionsLeft } = await throughRelay('closing');
      try {
        const closing = await bus(url, 'closing');
        relay.holdNewConnections(300);
        relay.cut();
        // Past the second the bus waits before listening again: its new connection is on its way.
        await new Promise((resolve) => setTimeout(resolve, 1100));
        await closing.close();
        await new Promise((resolve) => setTimeout(resolve, 600));
        assert.equal(await connectionsLeft(), 0, 'the connection on its way when the bus closed listens on, and keeps its process from exiting');
      } finally {
        await relay.close();
      }
    });

    test('a key changed while the listening connection is lost is still told to the others at once', { timeout: 10_000 }, async () => {
      const { relay, url, connectionsLeft } = await throughRelay('window');
      const a = await bus(url, 'window');
      const b = await bus(postgres.url, 'window');
      try {
        const [heardByA, heardByB] = [heard(a), heard(b)];
        relay.cut();
        await until(() => heardByA.some((m) => m.all), 'a notices its listening connection is lost');
        a.publish({ keyId: 'K1' });
        await until(() => heardByB.some((m) => m.keyId === 'K1'), 'b hears of the key a changed meanwhile');
        await a.close();
        await until(async () => (await connectionsLeft()) === 0, 'closing ends the connection the change was told on too');
      } finally {
        await a.close();
        await b.close();
        await relay.close();
      }
    });

    test('a key changed while the database cannot be reached is told once it can', { timeout: 10_000 }, async () => {
      const { relay, url } = await throughRelay('away');
      const warnings: unknown[] = [];
      const a = await bus(url, 'away', { warn: (obj) => warnings.push(obj) });
      const b = await bus(postgres.url, 'away');
      try {
        const [heardByA, heardByB] = [heard(a), heard(b)];
        relay.refuseNewConnections();
        relay.cut();
        await until(() => heardByA.some((m) => m.all), 'a notices its listening connection is lost');
        a.publish({ keyId: 'K2' });
        await until(() => warnings.length === 2, 'a says it could not tell of the change');
        relay.refuseNewConnections(false);
        await until(() => heardByB.some((m) => m.keyId === 'K2'), 'b hears of the key once a reaches the database again', 5000);
      } finally {
        await a.close();
        await b.close();
        await relay.close();
      }
    });

    test('changes waiting for the database past a hundred are told as one drop of everything', { timeout: 10_000 }, async () => {
      const { relay, url } = await throughRelay('many');
      const warnings: unknown[] = [];
      const a = await bus(url, 'many', { warn: (obj) => warnings.push(obj) });
      const b = await bus(postgres.url, 'many');
      try {
        const [heardByA, heardByB] = [heard(a), heard(b)];
        relay.refuseNewConnections();
        relay.cut();
        await until(() => heardByA.some((m) => m.all), 'a notices its listening connection is lost');
        for (let i = 0; i < 1000; i++) a.publish({ keyId: `K${i}` });
        await until(() => warnings.length === 2, 'a says it could not tell of the changes');
        relay.refuseNewConnections(false);
        await until(() => heardByB.length > 0, 'b hears of the changes once a reaches the database again', 5000);
        assert.deepEqual(heardByB, [{ all: true }], 'the changes did not wait one by one');
      } finally {
        await a.close();
        await b.close();
        await relay.close();
      }
    });
  });
}

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { loadConfig } from '../../src/config/index.js';
import { buildApp } from '../../src/http/app.js';
import { createServices, type Services } from '../../src/services.js';
import type { Clock } from '../../src/services/runtime.js';
import { isolatedDatabase, testDatabases, type TestDatabase } from './database.js';

/** A clock tests move by hand: expiry, grace periods and windows without sleeping. */
export function createTestClock(start = new Date('2026-11-22T12:00:00.000Z')): Clock & { advance(ms: number): void; set(d: Date): void } {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    advance: (ms) => void (now += ms),
    set: (d) => void (now = d.getTime()),
  };
}

export { testDatabases, type TestDatabase };

/**
 * testDatabases() and an SQLite file (a new one per app): on a file, Events API writes go
 * through the writer thread, in memory and on PostgreSQL through the group committer.
 */
export function eventDatabases(): TestDatabase[] {
  return [...testDatabases(), { name: 'sqlite-file', url: 'sqlite:' }];
}

export type TestApp = {
  app: FastifyInstance;
  services: Services;
  clock: ReturnType<typeof createTestClock>;
  /** The PostgreSQL schema holding this app's tables (undefined on SQLite), for tests that reach in with a connection of their own. */
  schema: string | undefined;
  /** The owner key printed by init: global, admin. */
  ownerToken: string;
  request(options: InjectOptions & { token?: string | undefined }): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
};

/** A fresh, initialised Latchkey over its own database (a new PostgreSQL schema per app). */
export async function startTestApp(database: TestDatabase = testDatabases()[0]!, env: Record<string, string> = {}): Promise<TestApp> {
  const clock = createTestClock();
  const place = await isolatedDatabase(database);
  const { schema } = place;
  const dir = database.name === 'sqlite-file' ? mkdtempSync(join(tmpdir(), 'latchkey-test-')) : undefined;
  const url = dir ? `sqlite:${join(dir, 'latchkey.db')}` : database.url;
  const config = loadConfig({ LATCHKEY_DATABASE_URL: url, LATCHKEY_USAGE_FLUSH_MS: '600000', ...env });
  const services = await createServices(config, { clock, secret: randomBytes(32), ...(schema && { schema }) });
  const app = await buildApp(services);
  const init = await services.setup.init({ email: 'owner@example.com', password: 'correct horse battery staple' });
  return {
    app,
    services,
    clock,
    schema,
    ownerToken: init.token,
    request({ token, headers, ...rest }) {
      return app.inject({ ...rest, headers: { ...(token !== undefined && { authorization: `Bearer ${token}` }), ...headers } });
    },
    async close() {
      await app.close();
      await services.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
      await place.drop();
    },
  };
}

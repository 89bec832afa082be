import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { NO_REQUEST } from '../../src/domain/audit/audit-event.js';
import { createServices, type Services } from '../../src/services.js';
import type { Invalidation } from '../../src/services/invalidation.js';
import { OPERATOR } from '../../src/services/setup.js';
import { isolatedDatabase, testDatabases } from '../support/database.js';

/** Resolves when `services` receives an invalidation matching `wanted`. */
function received(services: Services, wanted: (m: Invalidation) => boolean): Promise<void> {
  return new Promise((resolve) => services.invalidation.subscribe((m) => wanted(m) && resolve()));
}

/** `onlyA`: settings the first process has and the second not (a CLI run without the server's Redis URL). */
type Place = { env: Record<string, string>; onlyA?: Record<string, string>; schema?: string | undefined; drop(): Promise<void> };

function sqliteFile(env: Record<string, string> = {}): Place {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-shared-'));
  return { env: { LATCHKEY_DATABASE_URL: `sqlite:${join(dir, 'shared.db')}`, ...env }, drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

// Processes sharing a database hear of each other's key changes through the database's own means (a
// file beside an SQLite file, NOTIFY on PostgreSQL) and through Redis when it is set.
// (.ci/run sets TEST_DATABASE_URL and TEST_REDIS_URL when the local servers answer.)
const redisUrl = process.env.TEST_REDIS_URL;
const places: Array<{ name: string; open(): Promise<Place> }> = [
  { name: 'an SQLite file, without Redis', open: async () => sqliteFile() },
  ...testDatabases().filter((d) => d.name === 'postgres').map((d) => ({ name: 'PostgreSQL, without Redis', open: async () => {
    const place = await isolatedDatabase(d);
    return { env: { LATCHKEY_DATABASE_URL: d.url }, schema: place.schema, drop: place.drop };
  } })),
  ...(redisUrl ? [
    { name: 'an SQLite file and Redis', open: async () => sqliteFile({ LATCHKEY_REDIS_URL: redisUrl }) },
    { name: 'an SQLite file, Redis set for one of them only', open: async () => ({ ...sqliteFile(), onlyA: { LATCHKEY_REDIS_URL: redisUrl } }) },
  ] : []),
];

for (const place of places) {
  describe(`two processes sharing ${place.name}`, () => {
    let a: Services;
    let b: Services;
    let drop: () => Promise<void>;

    before(async () => {
      const opened = await place.open();
      drop = opened.drop;
      const options = { secret: randomBytes(32), ...(opened.schema && { schema: opened.schema }) };
      a = await createServices(loadConfig({ ...opened.env, ...opened.onlyA }), options);
      b = await createServices(loadConfig(opened.env), options);
    });
    after(async () => {
      await a.close();
      await b.close();
      await drop();
    });

    test('a key revoked by one is refused by the other, which had it cached', { timeout: 10_000 }, async () => {
      const { token, apiKey } = await a.setup.init({ email: 'owner@example.com', password: 'correct horse battery staple' });
      assert.equal((await b.verifier.verify(token, 'rest', new Date())).ok, true, 'b now holds the key in its cache');
      const delivered = received(b, (m) => m.keyId === apiKey.id);
      await a.apiKeys.revoke(OPERATOR, apiKey.id, NO_REQUEST);
      await delivered;
      const result = await b.verifier.verify(token, 'rest', new Date());
      assert.deepEqual([result.ok, !result.ok && result.code], [false, 'token_revoked']);
    });

    test('a key disabled by one is refused by the other', { timeout: 10_000 }, async () => {
      const { token, apiKey } = await a.apiKeys.create(OPERATOR, { name: 'two', scope: 'global' }, NO_REQUEST);
      assert.equal((await b.verifier.verify(token, 'rest', new Date())).ok, true);
      const delivered = received(b, (m) => m.keyId === apiKey.id);
      await a.apiKeys.setEnabled(OPERATOR, apiKey.id, false, NO_REQUEST);
      await delivered;
      const result = await b.verifier.verify(token, 'rest', new Date());
      assert.deepEqual([result.ok, !result.ok && result.code], [false, 'token_disabled']);
    });
  });
}

describe('a server on an SQLite file whose file of key changes was deleted under it', () => {
  test('refuses a key a CLI run afterwards revokes', { timeout: 10_000 }, async () => {
    const place = sqliteFile();
    const options = { secret: randomBytes(32) };
    const config = loadConfig(place.env);
    const server = await createServices(config, options);
    let cli: Services | undefined;
    try {
      const { token, apiKey } = await server.setup.init({ email: 'owner@example.com', password: 'correct horse battery staple' });
      assert.equal((await server.verifier.verify(token, 'rest', new Date())).ok, true, 'the server holds the key in its cache');
      const delivered = received(server, (m) => m.keyId === apiKey.id);
      // An operator's cleanup; the CLI makes the file anew.
      rmSync(`${config.databaseUrl.slice('sqlite:'.length)}-changes`);
      cli = await createServices(config, options);
      await cli.apiKeys.revoke(OPERATOR, apiKey.id, NO_REQUEST);
      await delivered;
      const result = await server.verifier.verify(token, 'rest', new Date());
      assert.deepEqual([result.ok, !result.ok && result.code], [false, 'token_revoked']);
    } finally {
      await cli?.close();
      await server.close();
      await place.drop();
    }
  });
});

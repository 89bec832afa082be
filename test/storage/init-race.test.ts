import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { LatchkeyError } from '../../src/domain/errors.js';
import { createServices } from '../../src/services.js';
import { OPERATOR } from '../../src/services/setup.js';
import { isolatedDatabase } from '../support/database.js';

/** Two servers (or two replicas' entrypoints) on one database: an SQLite file, and PostgreSQL when TEST_DATABASE_URL is set. */
const PLACES = [
  { name: 'an SQLite file', url: () => `sqlite:${join(mkdtempSync(join(tmpdir(), 'latchkey-init-')), 'latchkey.db')}`, postgres: false },
  ...(process.env.TEST_DATABASE_URL ? [{ name: 'PostgreSQL', url: () => process.env.TEST_DATABASE_URL!, postgres: true }] : []),
];

for (const place of PLACES) {
  describe(`init racing init on ${place.name}`, () => {
    test('two inits at once: exactly one succeeds, the other is refused as already initialised, one owner and one key are left', async () => {
      // Several rounds: without a lock the two counts interleave often, not always.
      for (let round = 0; round < 6; round++) {
        const url = place.url();
        const isolated = await isolatedDatabase({ name: place.postgres ? 'postgres' : 'sqlite-file', url });
        const config = loadConfig({ LATCHKEY_DATABASE_URL: url });
        const secret = randomBytes(32);
        const options = { secret, ...(isolated.schema && { schema: isolated.schema }) };
        const a = await createServices(config, options);
        const b = await createServices(config, options);
        try {
          const results = await Promise.allSettled([
            a.setup.init({ email: 'first@example.com', password: 'correct horse battery staple' }),
            b.setup.init({ email: 'second@example.com', password: 'correct horse battery staple' }),
          ]);
          const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
          assert.equal(refused.length, 1, `round ${round}: ${results.map((r) => r.status).join(', ')}`);
          assert.ok(refused[0]!.reason instanceof LatchkeyError && refused[0]!.reason.code === 'conflict', String(refused[0]!.reason));
          assert.equal(await a.userStore.count(), 1, 'one owner');
          assert.equal((await a.apiKeys.list(OPERATOR, { limit: 200 })).items.length, 1, 'one owner key');
        } finally {
          await a.close();
          await b.close();
          await isolated.drop();
          if (!place.postgres) rmSync(url.slice('sqlite:'.length, -'/latchkey.db'.length), { recursive: true, force: true });
        }
      }
    });
  });
}

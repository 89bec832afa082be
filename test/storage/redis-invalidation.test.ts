import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { createServices, type Services } from '../../src/services.js';
import type { Invalidation } from '../../src/services/invalidation.js';
import { OPERATOR } from '../../src/services/setup.js';
import { NO_REQUEST } from '../../src/domain/audit/audit-event.js';

/** Resolves when `services` receives an invalidation matching `wanted`. */
function received(services: Services, wanted: (m: Invalidation) => boolean): Promise<void> {
  return new Promise((resolve) => services.invalidation.subscribe((m) => wanted(m) && resolve()));
}

// Runs where Redis is reachable: .ci/run sets TEST_REDIS_URL when the local server answers.
const redisUrl = process.env.TEST_REDIS_URL;
if (redisUrl) {
  describe('two instances sharing one database and Redis', () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-multi-'));
    const secret = randomBytes(32);
    let a: Services;
    let b: Services;

    before(async () => {
      const config = loadConfig({ LATCHKEY_DATABASE_URL: `sqlite:${join(dir, 'shared.db')}`, LATCHKEY_REDIS_URL: redisUrl });
      a = await createServices(config, { secret });
      b = await createServices(config, { secret });
    });
    after(async () => {
      await a.close();
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test('a key revoked on one instance is refused by the other on its next request', { timeout: 10_000 }, async () => {
      const { token, apiKey } = await a.setup.init({ email: 'owner@example.com', password: 'correct horse battery staple' });
      assert.equal((await b.verifier.verify(token, 'rest', new Date())).ok, true, 'instance b now holds the key in its cache');
      const delivered = received(b, (m) => m.keyId === apiKey.id);
      await a.apiKeys.revoke(OPERATOR, apiKey.id, NO_REQUEST);
      await delivered;
      const result = await b.verifier.verify(token, 'rest', new Date());
      assert.deepEqual([result.ok, !result.ok && result.code], [false, 'token_revoked']);
    });

    test('a key disabled on one instance is refused by the other', { timeout: 10_000 }, async () => {
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

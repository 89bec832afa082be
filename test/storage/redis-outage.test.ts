import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openRedisChangeChannel } from '../../src/services/redis-invalidation.js';
import { startRelay } from '../support/relay.js';

// Runs where Redis is reachable: .ci/run sets TEST_REDIS_URL when the local server answers.
const redisUrl = process.env.TEST_REDIS_URL;

if (redisUrl) describe('the Redis change channel through an outage', () => {
  test('one warning an outage, not one at every attempt to reconnect; back, it drops every cache once', async () => {
    const target = new URL(redisUrl);
    const relay = await startRelay(target.hostname, Number(target.port || 6379));
    const warnings: string[] = [];
    let dropAll = 0;
    const channel = await openRedisChangeChannel(`redis://127.0.0.1:${relay.port}`, (m) => void (m.all && dropAll++), { warn: (_o, msg) => void warnings.push(msg ?? '') });
    try {
      for (let outage = 1; outage <= 2; outage++) {
        relay.refuseNewConnections(true);
        relay.cut();
        await sleep(4000); // ioredis retries every few hundred milliseconds meanwhile
        assert.equal(warnings.length, outage, warnings.join(' | '));
        assert.match(warnings[outage - 1]!, /redis invalidation channel lost/);
        relay.refuseNewConnections(false);
        for (const end = Date.now() + 10_000; dropAll < outage && Date.now() < end;) await sleep(50);
        assert.equal(dropAll, outage, 'back after the outage: caches dropped, as a change may have been missed');
      }
    } finally {
      await channel.close();
      await relay.close();
    }
  });

  test('closed the moment it is back, its subscription still unanswered: nothing fails unhandled (which would end the process)', async () => {
    const target = new URL(redisUrl);
    const relay = await startRelay(target.hostname, Number(target.port || 6379));
    let closing: Promise<void> | undefined;
    const channel = await openRedisChangeChannel(`redis://127.0.0.1:${relay.port}`, (m) => void (m.all && (closing ??= channel.close())), { warn() {} });
    try {
      relay.cut();
      for (const end = Date.now() + 10_000; !closing && Date.now() < end;) await sleep(20);
      assert.ok(closing, 'back after the cut');
      await closing;
      // A rejection nobody handles surfaces by now, and fails this test.
      await sleep(300);
    } finally {
      await relay.close();
    }
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { UsageBatch, UsageStore } from '../../src/storage/usage-store.js';
import { createUsageRecorder } from '../../src/services/usage-recorder.js';
import { createTestClock } from '../support/harness.js';

function fakeStore(failTimes = 0) {
  const batches: UsageBatch[] = [];
  let failures = failTimes;
  const store = {
    async apply(batch: UsageBatch) {
      if (failures-- > 0) throw new Error('database unavailable');
      batches.push(batch);
    },
    async daysOf() {
      return [];
    },
  } as unknown as UsageStore;
  return { store, batches };
}

const quiet = { error() {} };

describe('usage recorder', () => {
  test('many requests become one write per flush, counted per key, day and outcome', async () => {
    const clock = createTestClock(new Date('2026-11-22T23:59:59.000Z'));
    const { store, batches } = fakeStore();
    const recorder = createUsageRecorder({ store, clock, flushIntervalMs: 60_000, logger: quiet });
    for (let i = 0; i < 1000; i++) recorder.record({ keyId: 'A', ip: '192.0.2.1', outcome: 'ok' });
    recorder.record({ keyId: 'A', ip: '192.0.2.1', outcome: 'insufficient_permissions' });
    clock.advance(2000); // past midnight: a new day
    recorder.record({ keyId: 'A', ip: '192.0.2.7', outcome: 'ok' });
    recorder.record({ keyId: 'B', ip: '192.0.2.2', outcome: 'ok', previousDigest: 'old-digest' });
    await recorder.flush();
    assert.equal(batches.length, 1);
    const counts = [...batches[0]!.counts.values()].map((c) => `${c.keyId} ${c.day} ${c.outcome} ${c.count}`).sort();
    assert.deepEqual(counts, [
      'A 2026-11-22 insufficient_permissions 1',
      'A 2026-11-22 ok 1000',
      'A 2026-11-23 ok 1',
      'B 2026-11-23 ok 1',
    ]);
    assert.equal(batches[0]!.lastUse.get('A')?.ip, '192.0.2.7');
    assert.ok(batches[0]!.tokenLastUse.has('old-digest'));
    await recorder.flush();
    assert.equal(batches.length, 1, 'nothing new, nothing written');
  });

  test('a failed flush keeps its counts for the next one', async () => {
    const clock = createTestClock();
    const { store, batches } = fakeStore(1);
    const recorder = createUsageRecorder({ store, clock, flushIntervalMs: 60_000, logger: quiet });
    recorder.record({ keyId: 'A', ip: '192.0.2.1', outcome: 'ok' });
    await recorder.flush();
    recorder.record({ keyId: 'A', ip: '192.0.2.1', outcome: 'ok' });
    await recorder.flush();
    assert.equal([...batches[0]!.counts.values()][0]!.count, 2);
  });

  test('pending use is visible before the flush', () => {
    const clock = createTestClock();
    const { store } = fakeStore();
    const recorder = createUsageRecorder({ store, clock, flushIntervalMs: 60_000, logger: quiet });
    recorder.record({ keyId: 'A', ip: '192.0.2.1', outcome: 'ok' });
    assert.deepEqual(recorder.pendingUse('A'), { at: clock.now(), ip: '192.0.2.1' });
    assert.deepEqual(recorder.pendingCounts('A').map((c) => c.count), [1]);
  });

  test('a slow request answered after a later, quicker one does not put the last use back in time', async () => {
    const clock = createTestClock();
    const { store, batches } = fakeStore();
    const recorder = createUsageRecorder({ store, clock, flushIntervalMs: 60_000, logger: quiet });
    const slowStarted = clock.now();
    clock.advance(5000);
    const quickStarted = clock.now();
    // Recorded as answers finish: the quick one first, then the slow one that began 5 s before it.
    recorder.record({ keyId: 'A', ip: '203.0.113.2', outcome: 'ok', at: quickStarted, previousDigest: 'old' });
    recorder.record({ keyId: 'A', ip: '203.0.113.1', outcome: 'ok', at: slowStarted, previousDigest: 'old' });
    assert.deepEqual(recorder.pendingUse('A'), { at: quickStarted, ip: '203.0.113.2' });
    await recorder.flush();
    assert.deepEqual(batches[0]!.lastUse.get('A'), { at: quickStarted, ip: '203.0.113.2' });
    assert.deepEqual(batches[0]!.tokenLastUse.get('old'), quickStarted);
    assert.equal([...batches[0]!.counts.values()].reduce((n, c) => n + c.count, 0), 2, 'both counted');
  });
});

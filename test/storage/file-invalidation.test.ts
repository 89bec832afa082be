import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createFileInvalidationBus } from '../../src/services/file-invalidation.js';
import type { Invalidation } from '../../src/services/invalidation.js';

/** Resolves with the next message `bus` delivers to its subscribers; fails after two seconds. */
function next(bus: ReturnType<typeof createFileInvalidationBus>): Promise<Invalidation> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no message within 2 s')), 2000);
    let done = false;
    bus.subscribe((m) => {
      if (!done) resolve(m);
      done = true;
      clearTimeout(timer);
    });
  });
}

describe('key changes between processes through a file beside the SQLite database', () => {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-changes-'));
  const path = join(dir, 'latchkey.db-changes');
  const warnings: unknown[] = [];
  const logger = { warn: (obj: unknown) => warnings.push(obj) };
  const a = createFileInvalidationBus(path, logger);
  const b = createFileInvalidationBus(path, logger);
  after(async () => {
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('what one publishes the other hears, and the publisher hears once, directly', async () => {
    const heardByB = next(b);
    const ownCalls: Invalidation[] = [];
    a.subscribe((m) => ownCalls.push(m));
    a.publish({ keyId: 'K1' });
    assert.deepEqual(await heardByB, { keyId: 'K1' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(ownCalls, [{ keyId: 'K1' }], 'its own line read back is not delivered again');
  });

  test('a line that cannot be read drops everything cached', async () => {
    const heard = next(b);
    appendFileSync(path, 'not json\n');
    assert.deepEqual(await heard, { all: true });
  });

  test('a file started again (shorter than what was read) drops everything cached, then goes on', async () => {
    const heard = next(b);
    truncateSync(path, 0);
    assert.deepEqual(await heard, { all: true });
    const after = next(b);
    a.publish({ userId: 'U1' });
    assert.deepEqual(await after, { userId: 'U1' });
    assert.deepEqual(warnings, []);
  });
});

import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, chownSync, mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openFileChangeChannel } from '../../src/services/file-invalidation.js';
import { createInvalidationBus, type Invalidation, type InvalidationBus } from '../../src/services/invalidation.js';

type Logger = { warn(obj: unknown): void };

/** A process's bus whose one channel to the others is the file beside `database`. */
const fileBus = (database: string, logger: Logger) => createInvalidationBus([(deliver) => openFileChangeChannel(`${database}-changes`, database, deliver, logger)]);

/** Resolves with the next message `bus` delivers to its subscribers; fails after two seconds. */
function next(bus: InvalidationBus): Promise<Invalidation> {
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
  const database = join(dir, 'latchkey.db');
  writeFileSync(database, '');
  const path = `${database}-changes`;
  const warnings: unknown[] = [];
  const logger = { warn: (obj: unknown) => warnings.push(obj) };
  let a: InvalidationBus;
  let b: InvalidationBus;
  before(async () => {
    a = await fileBus(database, logger);
    b = await fileBus(database, logger);
  });
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

  test('the file is made as SQLite makes its own beside the database: its permissions and, by root, its owner', async () => {
    // Made 0600 by whichever process came first, so the CLI run with sudo left a file the server,
    // running as the database's owner, could not open: it would not start.
    const shared = mkdtempSync(join(tmpdir(), 'latchkey-owner-'));
    try {
      const file = join(shared, 'latchkey.db');
      writeFileSync(file, '');
      chmodSync(file, 0o660);
      const root = process.getuid?.() === 0;
      if (root) chownSync(file, 65534, 65534);
      const bus = await fileBus(file, logger);
      await bus.close();
      const made = statSync(`${file}-changes`);
      assert.equal((made.mode & 0o777).toString(8), '660');
      if (root) assert.deepEqual([made.uid, made.gid], [65534, 65534]);
    } finally {
      rmSync(shared, { recursive: true, force: true });
    }
  });
});

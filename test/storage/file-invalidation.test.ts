import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
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

/** Everything `bus` delivers to its subscribers from now on, in order. */
function heard(bus: InvalidationBus): Invalidation[] {
  const messages: Invalidation[] = [];
  bus.subscribe((m) => messages.push(m));
  return messages;
}

/** Waits until `done()` holds, looking every 10 ms; fails after two seconds. */
async function until(done: () => boolean, what: string): Promise<void> {
  for (const end = Date.now() + 2000; !done();) {
    if (Date.now() > end) throw new Error(`not within 2 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A new directory with an (empty) database file in it, removed by `drop`. */
function place() {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-changes-'));
  const database = join(dir, 'latchkey.db');
  writeFileSync(database, '');
  return { database, path: `${database}-changes`, drop: () => rmSync(dir, { recursive: true, force: true }) };
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

  test('a file truncated by hand (shorter than what was read) drops everything cached, then goes on', async () => {
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

describe('the file of key changes started again past 1 MiB', () => {
  test('a process that looks only once the file has grown back past where it had read still hears every change', async () => {
    // Truncated in place, the file showed a restart only by being shorter than where a reader had
    // read to. Two publishers finding it full at once could each truncate and append one line (all
    // lines having one length), leaving it as long as a reader that had read the first's line had
    // read: the second's line went unheard, silently. One thread cannot stage that interleaving;
    // this stages the same blindness: the reader looks once the file is back where it had read to.
    const { database, path, drop } = place();
    const warnings: unknown[] = [];
    const reader = await fileBus(database, { warn: (obj) => warnings.push(obj) });
    const writer = await fileBus(database, { warn: (obj) => warnings.push(obj) });
    try {
      const key = (i: number) => `K${String(i).padStart(6, '0')}`;
      const length = JSON.stringify({ keyId: key(0), from: randomUUID() }).length + 1;
      const count = Math.floor(1_048_576 / length) + 1;
      const other = randomUUID();
      appendFileSync(path, Array.from({ length: count }, (_, i) => JSON.stringify({ keyId: key(i), from: other }) + '\n').join(''));
      const messages = heard(reader);
      await until(() => messages.some((m) => m.keyId === key(count - 1)), 'the reader has read the full file');
      messages.length = 0;
      for (let i = 0; i < count; i++) writer.publish({ keyId: key(i) });
      await until(() => new Set(messages.flatMap((m) => m.keyId ?? [])).size === count, 'the reader hears every key changed since');
      assert.ok(messages.some((m) => m.all), 'what the old file held unread is not trusted');
      assert.deepEqual(warnings, [], 'starting the file again is no cause for a warning');
    } finally {
      await reader.close();
      await writer.close();
      drop();
    }
  });
});

describe('the file of key changes deleted or replaced under a running process', () => {
  test('deleted: a server running meanwhile hears what a CLI run afterwards changes, having dropped everything cached', async () => {
    const { database, path, drop } = place();
    const warnings: unknown[] = [];
    const server = await fileBus(database, { warn: (obj) => warnings.push(obj) });
    const cli: InvalidationBus[] = [];
    try {
      const messages = heard(server);
      rmSync(path);
      // The CLI makes the file anew if it finds none; the server must not go on watching the deleted one.
      cli.push(await fileBus(database, { warn() {} }));
      cli[0]!.publish({ keyId: 'K1' });
      await until(() => messages.some((m) => m.keyId === 'K1'), 'the server hears the key the CLI changed');
      assert.ok(messages.some((m) => m.all), 'what was written to the deleted file meanwhile is not trusted either');
      assert.equal(warnings.length, 1, 'said once');
      assert.ok(existsSync(path));
    } finally {
      await Promise.all([server, ...cli].map((bus) => bus.close()));
      drop();
    }
  });

  test('renamed away and made anew (logrotate): processes running before and after hear each other', async () => {
    const { database, path, drop } = place();
    const before = await fileBus(database, { warn() {} });
    const buses = [before];
    try {
      const heardBefore = heard(before);
      renameSync(path, `${path}.1`);
      writeFileSync(path, '');
      const after = await fileBus(database, { warn() {} });
      buses.push(after);
      const heardAfter = heard(after);
      before.publish({ keyId: 'K2' });
      await until(() => heardAfter.some((m) => m.keyId === 'K2'), 'a change published by a process running before is written to the new file');
      after.publish({ keyId: 'K3' });
      await until(() => heardBefore.some((m) => m.keyId === 'K3'), 'a process running before hears what is written to the new file');
    } finally {
      await Promise.all(buses.map((bus) => bus.close()));
      drop();
    }
  });

  test('a bus closed after following a new file leaves no descriptor or watch behind', async () => {
    const { database, path, drop } = place();
    // A watch closed goes from the list of active resources once the event loop has turned.
    const settled = async () => {
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
      return [readdirSync('/proc/self/fd').length, process.getActiveResourcesInfo().filter((r) => r === 'FSEventWrap').length];
    };
    try {
      const before = await settled();
      const bus = await fileBus(database, { warn() {} });
      const messages = heard(bus);
      rmSync(path);
      await until(() => messages.some((m) => m.all), 'the bus follows the file made anew');
      await bus.close();
      assert.deepEqual(await settled(), before);
    } finally {
      drop();
    }
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import { createChangeEventStore } from '../../src/storage/change-event-store.js';
import { connect, type Connection } from '../../src/storage/connect.js';
import { createDedupStore } from '../../src/storage/dedup-store.js';
import type { Incident } from '../../src/domain/incidents/incident.js';
import type { StoredChangeEvent } from '../../src/storage/change-event-store.js';
import { createTransactionalEventWriter, type DedupClaim, type EventWriter, type Settlement } from '../../src/storage/event-writes.js';
import { createGroupCommitter } from '../../src/storage/group-commit.js';
import { createIncidentStore } from '../../src/storage/incident-store.js';
import { migrateToLatest } from '../../src/storage/migrate.js';
import { isolatedDatabase, testDatabases } from '../support/database.js';

/**
 * The two event writers do the same work: the writer thread on an SQLite file (its own connection,
 * raw statements), and the group committer through Kysely elsewhere. Each scenario runs on both.
 */
type Setup = { name: string; open(): Promise<{ conn: Connection; writer: EventWriter; dispose(): Promise<void> }> };

const setups: Setup[] = [
  {
    name: 'the writer thread on an SQLite file',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'latchkey-writer-'));
      const conn = connect(`sqlite:${join(dir, 'latchkey.db')}`);
      await migrateToLatest(conn.db);
      assert.ok(conn.eventWriter, 'an SQLite file in WAL mode gets a writer thread');
      return {
        conn, writer: conn.eventWriter,
        async dispose() {
          await conn.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  ...testDatabases().map((database): Setup => ({
    name: `the group committer on ${database.name}`,
    async open() {
      const place = await isolatedDatabase(database);
      const conn = connect(database.url, place.schema ? { schema: place.schema } : {});
      await migrateToLatest(conn.db);
      assert.equal(conn.eventWriter, null, 'no writer thread in memory or on PostgreSQL');
      const writer = createTransactionalEventWriter(createGroupCommitter(conn.db, { maxBatch: 64 }), {
        dedup: createDedupStore(conn.db, conn.kind), incidents: createIncidentStore(conn.db), changes: createChangeEventStore(conn.db),
      });
      return {
        conn, writer,
        async dispose() {
          await conn.close();
          await place.drop();
        },
      };
    },
  })),
];

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
let n = 0;

/** Team T and its services, written directly: the incidents' foreign keys need them. */
async function seedServices(conn: Connection, ids: readonly string[]): Promise<void> {
  await conn.db.insertInto('teams').values({ id: 'T', name: 'team', description: '', created_at: 0, updated_at: 0 }).execute();
  await conn.db.insertInto('services').values(ids.map((id) => ({
    id, team_id: 'T', name: id, description: '', api_filter: null, created_at: 0, updated_at: 0, resolve_filter: null, field_mapping: null, deleted_at: null,
  }))).execute();
}

const MONITOR = { type: 'api_key', id: 'K', name: 'monitor' } as const;

function incident(serviceId: string, dedupKey: string, at = T0): Incident {
  n++;
  return {
    id: `01KINCIDENT${String(n).padStart(15, '0')}`, serviceId, teamId: 'T', title: `event ${n}`, description: '', severity: 'critical',
    status: 'triggered', dedupKey, source: 'events', createdBy: MONITOR, createdAt: new Date(at), updatedAt: new Date(at),
    acknowledgedAt: null, acknowledgedBy: null, resolvedAt: null, resolvedBy: null, alertCount: 1, lastPayload: { n },
  };
}

const claim = (fingerprint: string, at = T0, windowMs = 600_000): DedupClaim => ({ keyId: 'K', fingerprint, at: new Date(at), until: new Date(at + windowMs) });
const settling = (status: Settlement['status'], at: number): Settlement => ({ status, at: new Date(at), by: MONITOR });

for (const setup of setups) {
  describe(`event writes through ${setup.name}`, () => {
    let conn: Connection;
    let writer: EventWriter;
    let dispose: () => Promise<void>;

    before(async () => {
      ({ conn, writer, dispose } = await setup.open());
      await seedServices(conn, ['S1', 'S2']);
    });
    after(() => dispose());

    const row = (id: string) => conn.db.selectFrom('incidents').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

    test('a trigger opens its incident; another with the same dedup key adds an alert to it, on that service only', async () => {
      const first = incident('S1', 'disk-full');
      assert.deepEqual(await writer.write({ kind: 'trigger', reopens: false, claim: null, incidents: [first] }), { discarded: false, incidentIds: [first.id] });
      const again = incident('S1', 'disk-full', T0 + 5000);
      const other = incident('S2', 'disk-full', T0 + 5000);
      const written = await writer.write({ kind: 'trigger', reopens: false, claim: null, incidents: [again, other] });
      assert.deepEqual(written, { discarded: false, incidentIds: [first.id, other.id] }, 'the open one on S1, a new one on S2');
      const open = await row(first.id);
      assert.equal(open.alert_count, 2);
      assert.deepEqual(JSON.parse(open.last_payload), again.lastPayload, 'the latest payload');
      assert.equal(Number(open.updated_at), T0 + 5000);
      assert.equal(Number(open.created_at), T0, 'still the first trigger\'s incident');
      assert.equal((await row(other.id)).alert_count, 1);
    });

    test('a claimed body is discarded within its window, saying when it was first seen; nothing is written for it', async () => {
      const fresh = incident('S1', 'claimed-1');
      assert.equal((await writer.write({ kind: 'trigger', reopens: false, claim: claim('fp-1'), incidents: [fresh] })).discarded, false);
      const repeat = incident('S1', 'claimed-2');
      assert.deepEqual(await writer.write({ kind: 'trigger', reopens: false, claim: claim('fp-1', T0 + 1000), incidents: [repeat] }), { discarded: true, firstSeenAt: new Date(T0) });
      assert.equal(await conn.db.selectFrom('incidents').select('id').where('id', '=', repeat.id).executeTakeFirst(), undefined);
      const later = incident('S1', 'claimed-3');
      assert.equal((await writer.write({ kind: 'trigger', reopens: false, claim: claim('fp-1', T0 + 600_000), incidents: [later] })).discarded, false, 'past the window, taken again');
    });

    test('a repeat of a trigger that carried its dedup key opens a new incident once the one it opened is resolved; not while it is open', async () => {
      const first = incident('S1', 'flapping');
      assert.equal((await writer.write({ kind: 'trigger', reopens: true, claim: claim('fp-flap'), incidents: [first] })).discarded, false);
      const whileOpen = incident('S1', 'flapping');
      assert.deepEqual(await writer.write({ kind: 'trigger', reopens: true, claim: claim('fp-flap', T0 + 1000), incidents: [whileOpen] }), { discarded: true, firstSeenAt: new Date(T0) });
      assert.equal((await row(first.id)).alert_count, 1, 'a discarded repeat adds no alert');
      await writer.write({ kind: 'settle', claim: null, ids: [first.id], settlement: settling('resolved', T0 + 2000) });
      const plain = incident('S1', 'flapping');
      assert.equal((await writer.write({ kind: 'trigger', reopens: false, claim: claim('fp-flap', T0 + 2500), incidents: [plain] })).discarded, true, 'without its own dedup key a repeat stays a duplicate');
      const refired = incident('S1', 'flapping', T0 + 3000);
      assert.deepEqual(await writer.write({ kind: 'trigger', reopens: true, claim: claim('fp-flap', T0 + 3000), incidents: [refired] }), { discarded: false, incidentIds: [refired.id] });
      assert.equal((await row(refired.id)).status, 'triggered');
      const again = incident('S1', 'flapping');
      assert.deepEqual(await writer.write({ kind: 'trigger', reopens: true, claim: claim('fp-flap', T0 + 4000), incidents: [again] }), { discarded: true, firstSeenAt: new Date(T0 + 3000) }, 'the renewed claim holds from the re-fire');
    });

    test('a renewal that fails leaves the claim it would have replaced: a repeat while a later incident is open is still discarded', async () => {
      const first = incident('S1', 'renew-fails');
      assert.equal((await writer.write({ kind: 'trigger', reopens: true, claim: claim('fp-renew'), incidents: [first] })).discarded, false);
      await writer.write({ kind: 'settle', claim: null, ids: [first.id], settlement: settling('resolved', T0 + 1000) });
      // A re-fire would renew the claim, but its incident cannot be written (its id is taken): the write fails whole.
      const clash = { ...incident('S1', 'renew-fails', T0 + 2000), id: first.id };
      await assert.rejects(writer.write({ kind: 'trigger', reopens: true, claim: claim('fp-renew', T0 + 2000), incidents: [clash] }), /UNIQUE|unique|duplicate/);
      const other = incident('S1', 'renew-fails', T0 + 2500);
      assert.deepEqual(await writer.write({ kind: 'trigger', reopens: true, claim: null, incidents: [other] }), { discarded: false, incidentIds: [other.id] }, 'another body opens an incident on the same dedup key');
      const repeat = incident('S1', 'renew-fails', T0 + 3000);
      assert.deepEqual(await writer.write({ kind: 'trigger', reopens: true, claim: claim('fp-renew', T0 + 3000), incidents: [repeat] }), { discarded: true, firstSeenAt: new Date(T0) },
        'the first claim still holds; the repeat adds no alert');
      assert.equal((await row(other.id)).alert_count, 1);
    });

    test('two identical bodies racing each other: exactly one is written', async () => {
      const [a, b] = [incident('S1', 'race-a'), incident('S1', 'race-b')];
      const outcomes = await Promise.all([a, b].map((i) => writer.write({ kind: 'trigger', reopens: false, claim: claim('fp-race'), incidents: [i] })));
      assert.deepEqual(outcomes.map((o) => o.discarded).sort(), [false, true]);
    });

    test('acknowledge and resolve change what is still open; an incident resolved meanwhile is left as it was', async () => {
      const target = incident('S1', 'settle');
      await writer.write({ kind: 'trigger', reopens: false, claim: null, incidents: [target] });
      assert.deepEqual(await writer.write({ kind: 'settle', claim: null, ids: [target.id], settlement: settling('acknowledged', T0 + 1000) }), { discarded: false, incidentIds: [target.id] });
      const acknowledged = await row(target.id);
      assert.equal(acknowledged.status, 'acknowledged');
      assert.equal(Number(acknowledged.acknowledged_at), T0 + 1000);
      assert.deepEqual(await writer.write({ kind: 'settle', claim: null, ids: [target.id], settlement: settling('resolved', T0 + 2000) }), { discarded: false, incidentIds: [target.id] });
      const resolved = await row(target.id);
      assert.equal(resolved.status, 'resolved');
      assert.equal(Number(resolved.acknowledged_at), T0 + 1000, 'the acknowledgement is kept');
      assert.equal(Number(resolved.resolved_at), T0 + 2000);
      assert.deepEqual(await writer.write({ kind: 'settle', claim: null, ids: [target.id], settlement: settling('resolved', T0 + 3000) }), { discarded: false, incidentIds: [] });
      assert.equal(Number((await row(target.id)).resolved_at), T0 + 2000, 'resolving again changes nothing');
      // Resolved, it no longer holds its dedup key: the next trigger opens a new incident.
      const next = incident('S1', 'settle');
      assert.deepEqual(await writer.write({ kind: 'trigger', reopens: false, claim: null, incidents: [next] }), { discarded: false, incidentIds: [next.id] });
    });

    test('change events are stored', async () => {
      const change: StoredChangeEvent = {
        id: '01KCHANGE0000000000000000001', serviceId: 'S2', teamId: 'T', apiKeyId: 'K', summary: 'deploy 42', source: 'ci', timestamp: new Date(T0), event: {}, createdAt: new Date(T0),
      };
      assert.deepEqual(await writer.write({ kind: 'change', claim: null, changes: [change] }), { discarded: false, incidentIds: [] });
      const stored = await conn.db.selectFrom('change_events').select(['summary', 'service_id']).where('id', '=', change.id).executeTakeFirst();
      assert.deepEqual(stored, { summary: 'deploy 42', service_id: 'S2' });
    });

    test('writes arriving together all commit; one that fails (a service that does not exist) fails alone, its claim with it', async () => {
      const good = Array.from({ length: 20 }, (_, i) => incident('S1', `together-${i}`));
      const bad = incident('NO-SUCH-SERVICE', 'together-bad');
      const outcomes = await Promise.allSettled([
        ...good.slice(0, 10).map((i) => writer.write({ kind: 'trigger', reopens: false, claim: null, incidents: [i] })),
        writer.write({ kind: 'trigger', reopens: false, claim: claim('fp-bad'), incidents: [bad] }),
        ...good.slice(10).map((i) => writer.write({ kind: 'trigger', reopens: false, claim: null, incidents: [i] })),
      ]);
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 20);
      assert.match(String((outcomes[10] as PromiseRejectedResult).reason), /FOREIGN KEY|foreign key/);
      const stored = await conn.db.selectFrom('incidents').select('id').where('dedup_key', 'like', 'together-%').execute();
      assert.equal(stored.length, 20);
      const retry = incident('S1', 'together-retry');
      assert.equal((await writer.write({ kind: 'trigger', reopens: false, claim: claim('fp-bad'), incidents: [retry] })).discarded, false, 'the failed write left no claim behind');
    });
  });
}

describe('the writer thread', () => {
  let dir: string;
  let conn: Connection;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-writer-'));
    conn = connect(`sqlite:${join(dir, 'latchkey.db')}`);
    await migrateToLatest(conn.db);
    await seedServices(conn, ['S1']);
  });
  after(async () => {
    await conn.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('syncs the log itself before answering, and writes arriving together share syncs', async () => {
    const writer = conn.eventWriter!;
    await writer.write({ kind: 'trigger', reopens: false, claim: null, incidents: [incident('S1', 'warm-up')] });
    const before = { writer: writer.syncs, serving: conn.durability.syncs };
    assert.ok(before.writer >= 1, 'the first answered write was synced');
    await Promise.all(Array.from({ length: 100 }, (_, i) => writer.write({ kind: 'trigger', reopens: false, claim: null, incidents: [incident('S1', `shared-${i}`)] })));
    const syncs = writer.syncs - before.writer;
    assert.ok(syncs >= 1 && syncs < 100, `100 writes took ${syncs} fdatasyncs`);
    assert.equal(conn.durability.syncs, before.serving, 'the serving connection synced nothing for them');
  });

  test('a transaction on the serving connection that reads, waits, then writes is not failed by a thread commit meanwhile', async () => {
    const incidents = createIncidentStore(conn.db);
    // The thread running already (it starts at its first write), so it can commit within the wait below.
    await conn.eventWriter!.write({ kind: 'trigger', reopens: false, claim: null, incidents: [incident('S1', 'warm-up-gap')] });
    let threaded: Promise<unknown> = Promise.resolve();
    await conn.db.transaction().execute(async (trx) => {
      assert.equal(await incidents.findOpen('S1', 'gap-served', trx), undefined);
      // The thread writes while this transaction is between its read and its write. Begun deferred,
      // the transaction would then fail at its write (SQLITE_BUSY: its snapshot is stale); begun
      // immediate, it holds the write lock, and the thread waits its turn.
      threaded = conn.eventWriter!.write({ kind: 'trigger', reopens: false, claim: null, incidents: [incident('S1', 'gap-threaded')] });
      await new Promise((resolve) => setTimeout(resolve, 50));
      await incidents.insert(trx, incident('S1', 'gap-served'));
    });
    await threaded;
    const keys = (await conn.db.selectFrom('incidents').select('dedup_key').where('dedup_key', 'like', 'gap-%').orderBy('dedup_key').execute()).map((r) => r.dedup_key);
    assert.deepEqual(keys, ['gap-served', 'gap-threaded']);
  });

  test('while another connection holds the write lock past busy_timeout, a batch fails at once, not job by job; then writing resumes', async () => {
    await conn.eventWriter!.write({ kind: 'trigger', reopens: false, claim: null, incidents: [incident('S1', 'before-lock')] });
    const holder = new SQLite(join(dir, 'latchkey.db'));
    holder.exec('begin immediate');
    const started = performance.now();
    let elapsedMs: number;
    try {
      const outcomes = await Promise.allSettled(Array.from({ length: 5 }, (_, i) =>
        conn.eventWriter!.write({ kind: 'trigger', reopens: false, claim: null, incidents: [incident('S1', `locked-${i}`)] })));
      elapsedMs = performance.now() - started;
      assert.deepEqual(outcomes.map((o) => o.status), ['rejected', 'rejected', 'rejected', 'rejected', 'rejected']);
      assert.match(String((outcomes[0] as PromiseRejectedResult).reason), /locked|busy/i);
    } finally {
      holder.exec('rollback');
      holder.close();
    }
    // One busy_timeout (5 s) for the batch; job by job would be six of them.
    assert.ok(elapsedMs < 20_000, `the locked batch took ${Math.round(elapsedMs)} ms to fail`);
    const after = incident('S1', 'after-lock');
    assert.deepEqual(await conn.eventWriter!.write({ kind: 'trigger', reopens: false, claim: null, incidents: [after] }), { discarded: false, incidentIds: [after.id] });
  });

  test('with durability normal (LATCHKEY_SQLITE_SYNCHRONOUS=normal) the thread commits and answers without syncing', async () => {
    const file = join(dir, 'normal.db');
    const normal = connect(`sqlite:${file}`, { sqliteSynchronous: 'normal' });
    try {
      await migrateToLatest(normal.db);
      await seedServices(normal, ['S1']);
      const written = incident('S1', 'normal');
      assert.deepEqual(await normal.eventWriter!.write({ kind: 'trigger', reopens: false, claim: null, incidents: [written] }), { discarded: false, incidentIds: [written.id] });
      assert.equal(normal.eventWriter!.syncs, 0);
      assert.equal((await normal.db.selectFrom('incidents').select('id').execute()).length, 1, 'committed: the serving connection reads it');
    } finally {
      await normal.close();
    }
  });

  test('close() commits what the thread holds before it stops', async () => {
    const file = join(dir, 'closing.db');
    const closing = connect(`sqlite:${file}`);
    await migrateToLatest(closing.db);
    await seedServices(closing, ['S1']);
    const writes = Array.from({ length: 30 }, (_, i) => closing.eventWriter!.write({ kind: 'trigger', reopens: false, claim: null, incidents: [incident('S1', `closing-${i}`)] }));
    await closing.close();
    assert.equal((await Promise.allSettled(writes)).filter((o) => o.status === 'fulfilled').length, 30);
    const reopened = connect(`sqlite:${file}`);
    try {
      assert.equal((await reopened.db.selectFrom('incidents').select('id').execute()).length, 30);
    } finally {
      await reopened.close();
    }
  });
});

describe("the writer thread's deduplication claims: held in its memory, logged in the file", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-claims-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  let files = 0;
  /** A fresh file with its schema and service S1, or `file` opened again. */
  async function open(file = join(dir, `claims-${++files}.db`), options: { dedupMaxClaims?: number } = {}) {
    const conn = connect(`sqlite:${file}`, options);
    await migrateToLatest(conn.db);
    if ((await conn.db.selectFrom('services').select('id').execute()).length === 0) await seedServices(conn, ['S1']);
    return { conn, file, writer: conn.eventWriter! };
  }
  const keyClaim = (keyId: string, fingerprint: string, at = T0, windowMs = 600_000): DedupClaim =>
    ({ keyId, fingerprint, at: new Date(at), until: new Date(at + windowMs) });
  const trigger = (writer: EventWriter, c: DedupClaim) => writer.write({ kind: 'trigger', reopens: false, claim: c, incidents: [incident('S1', `claimed-${n}`, c.at.getTime())] });
  const logged = async (conn: Connection) => (await conn.db.selectFrom('dedup_claim_log').select(['api_key_id', 'fingerprint']).orderBy('id').execute());

  test('a claim survives a restart: the reopened file discards the duplicate and says when the first was seen', async () => {
    const first = await open();
    assert.equal((await trigger(first.writer, keyClaim('K', 'restart'))).discarded, false);
    assert.deepEqual(await logged(first.conn), [{ api_key_id: 'K', fingerprint: 'restart' }], 'logged in the file with the event');
    await first.conn.close();

    const again = await open(first.file);
    try {
      assert.deepEqual(await trigger(again.writer, keyClaim('K', 'restart', T0 + 5000)), { discarded: true, firstSeenAt: new Date(T0) });
      assert.equal((await trigger(again.writer, keyClaim('K', 'restart', T0 + 600_000))).discarded, false, 'past the window, taken again');
    } finally {
      await again.conn.close();
    }
  });

  test('two connections to one file, each with its writer thread: a claim made through either is held by the other', async () => {
    const one = await open();
    const other = await open(one.file);
    try {
      assert.equal((await trigger(one.writer, keyClaim('K', 'shared-1'))).discarded, false);
      assert.deepEqual(await trigger(other.writer, keyClaim('K', 'shared-1', T0 + 1)), { discarded: true, firstSeenAt: new Date(T0) });
      assert.equal((await trigger(other.writer, keyClaim('K', 'shared-2', T0 + 2))).discarded, false);
      assert.deepEqual(await trigger(one.writer, keyClaim('K', 'shared-2', T0 + 3)), { discarded: true, firstSeenAt: new Date(T0 + 2) });
      // Racing through both threads at once: one event written.
      const outcomes = await Promise.all([one.writer, other.writer, one.writer, other.writer].map((w) => trigger(w, keyClaim('K', 'shared-race', T0 + 4))));
      assert.equal(outcomes.filter((o) => !o.discarded).length, 1);
      assert.equal((await logged(one.conn)).length, 3, 'each claim logged once');
    } finally {
      await other.conn.close();
      await one.conn.close();
    }
  });

  test('at capacity the oldest claim of the key holding the most is forgotten; a quiet key keeps its claim', async () => {
    const { conn, writer } = await open(undefined, { dedupMaxClaims: 3 });
    try {
      assert.equal((await trigger(writer, keyClaim('QUIET', 'q'))).discarded, false);
      for (const fp of ['a', 'b']) assert.equal((await trigger(writer, keyClaim('NOISY', fp))).discarded, false);
      assert.deepEqual(writer.claims, { held: 3, evicted: 0 });
      // A fourth claim: NOISY holds the most, so its oldest ('a') is forgotten.
      assert.equal((await trigger(writer, keyClaim('NOISY', 'c', T0 + 1))).discarded, false);
      assert.deepEqual(writer.claims, { held: 3, evicted: 1 });
      assert.equal((await trigger(writer, keyClaim('QUIET', 'q', T0 + 2))).discarded, true, "the quiet key's claim is still held");
      assert.equal((await trigger(writer, keyClaim('NOISY', 'c', T0 + 2))).discarded, true, 'and the noisy key’s newest');
      assert.equal((await trigger(writer, keyClaim('NOISY', 'a', T0 + 3))).discarded, false, 'the forgotten body is let through, never lost');
    } finally {
      await conn.close();
    }
  });

  test('expired claims leave the log with the purge and the memory as later claims are made', async () => {
    const { conn, writer } = await open();
    try {
      for (const fp of ['old-1', 'old-2']) await trigger(writer, keyClaim('K', fp, T0, 60_000));
      await trigger(writer, keyClaim('K', 'long', T0, 3_600_000));
      assert.equal(writer.claims.held, 3);
      assert.equal(await createDedupStore(conn.db, conn.kind).purgeExpired(new Date(T0 + 60_000)), 2);
      assert.deepEqual(await logged(conn), [{ api_key_id: 'K', fingerprint: 'long' }]);
      await trigger(writer, keyClaim('K', 'later', T0 + 60_000));
      assert.equal(writer.claims.held, 2, 'the two expired claims were let go; the long one and the new one are held');
      assert.equal((await trigger(writer, keyClaim('K', 'long', T0 + 120_000))).discarded, true);
    } finally {
      await conn.close();
    }
  });
});

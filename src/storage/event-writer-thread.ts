/**
 * The SQLite writer thread: Events API writes, committed on a connection of its own, off the
 * event loop that serves HTTP. It takes every write that arrived while it was busy as one
 * transaction (group commit, synchronous NORMAL: the commit appends to the write-ahead log), then,
 * when the connection is durable, fdatasyncs the log, then answers the batch in one message.
 * Started by thread-event-writer.ts; the same work in Kysely is event-writes.ts.
 */
import { closeSync, fdatasyncSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';
import type { Insertable } from 'kysely';
import type { SettlementRow } from './event-writes.js';
import { walFileOf, walSyncFailure } from './durability.js';
import { configureConnection, isLockTimeout, SAFETY_CHECKPOINT_PAGES } from './sqlite-settings.js';
import type { Database } from './schema.js';

type ClaimRow = Database['dedup_claims'];
type IncidentRow = Insertable<Database['incidents']>;
type ChangeEventRow = Insertable<Database['change_events']>;

/** An EventWrite (event-writes.ts) as the rows it writes: what this thread binds to its statements. */
export type WriteRows =
  | { readonly kind: 'trigger'; readonly claim: ClaimRow | null; readonly incidents: readonly IncidentRow[] }
  | { readonly kind: 'settle'; readonly claim: ClaimRow | null; readonly ids: readonly string[]; readonly set: SettlementRow }
  | { readonly kind: 'change'; readonly claim: ClaimRow | null; readonly changes: readonly ChangeEventRow[] };
/** An EventWritten, the time as epoch milliseconds. */
export type RowsWritten = { readonly discarded: true; readonly firstSeenAt: number } | { readonly discarded: false; readonly incidentIds: readonly string[] };

export type WriterSetup = { readonly file: string; readonly durable: boolean; readonly maxBatch: number };
export type WriterJob = { readonly id: number; readonly write: WriteRows };
/** One answer per job: what it wrote, or why it failed (`sync`: committed, but the disk failed the sync). */
export type WriterAnswer = { readonly id: number } & ({ readonly written: RowsWritten } | { readonly error: string; readonly sync?: true });
/** A batch's answers, and whether an fdatasync made them durable. */
export type WriterMessage = { readonly synced: boolean; readonly answers: readonly WriterAnswer[] };

const INCIDENT_COLUMNS = [
  'id', 'service_id', 'team_id', 'title', 'description', 'severity', 'status', 'dedup_key', 'source', 'created_by', 'created_at',
  'updated_at', 'acknowledged_at', 'acknowledged_by', 'resolved_at', 'resolved_by', 'alert_count', 'last_payload',
] as const satisfies ReadonlyArray<keyof IncidentRow>;
const CHANGE_COLUMNS = [
  'id', 'service_id', 'team_id', 'api_key_id', 'summary', 'source', 'timestamp', 'event', 'created_at',
] as const satisfies ReadonlyArray<keyof ChangeEventRow>;

const insertInto = (table: string, columns: readonly string[]) =>
  `insert into ${table} (${columns.join(', ')}) values (${columns.map((c) => `@${c}`).join(', ')})`;

const setup = workerData as WriterSetup;
const port = parentPort!;
const db = configureConnection(new SQLite(setup.file, { fileMustExist: true }));
// As on the serving connection (connect.ts): commits append to the log; the sync is made below.
db.pragma('synchronous = NORMAL');
db.pragma(`wal_autocheckpoint = ${SAFETY_CHECKPOINT_PAGES}`);

const statements = {
  // Inserts the claim, or takes over one whose window has passed; returns a row only if it claimed.
  claim: db.prepare<[string, string, number, number]>(`insert into dedup_claims (api_key_id, fingerprint, first_seen_at, expires_at) values (?, ?, ?, ?)
    on conflict (api_key_id, fingerprint) do update set first_seen_at = excluded.first_seen_at, expires_at = excluded.expires_at
    where dedup_claims.expires_at <= excluded.first_seen_at returning first_seen_at`),
  held: db.prepare<[string, string], { first_seen_at: number }>('select first_seen_at from dedup_claims where api_key_id = ? and fingerprint = ?'),
  // `status != 'resolved'` literally, as the partial index's condition is written (see incident-store.ts).
  openIncident: db.prepare<[string, string], { id: string }>(`select id from incidents where dedup_key = ? and service_id = ? and status != 'resolved'`),
  addAlert: db.prepare<[string, number, string]>('update incidents set alert_count = alert_count + 1, last_payload = ?, updated_at = ? where id = ?'),
  insertIncident: db.prepare<[IncidentRow]>(insertInto('incidents', INCIDENT_COLUMNS)),
  settle: db.prepare(`update incidents set status = @status, updated_at = @updated_at,
    acknowledged_at = coalesce(@acknowledged_at, acknowledged_at), acknowledged_by = coalesce(@acknowledged_by, acknowledged_by),
    resolved_at = coalesce(@resolved_at, resolved_at), resolved_by = coalesce(@resolved_by, resolved_by)
    where id = @id and status != 'resolved'`),
  insertChange: db.prepare<[ChangeEventRow]>(insertInto('change_events', CHANGE_COLUMNS)),
};

function claimed(claim: ClaimRow): RowsWritten | null {
  if (statements.claim.all(claim.api_key_id, claim.fingerprint, claim.first_seen_at, claim.expires_at).length > 0) return null;
  const held = statements.held.get(claim.api_key_id, claim.fingerprint);
  return { discarded: true, firstSeenAt: held?.first_seen_at ?? claim.first_seen_at };
}

function apply(write: WriteRows): RowsWritten {
  const duplicate = write.claim && claimed(write.claim);
  if (duplicate) return duplicate;
  const incidentIds: string[] = [];
  switch (write.kind) {
    case 'trigger':
      for (const row of write.incidents) {
        const open = row.dedup_key ? statements.openIncident.get(row.dedup_key, row.service_id) : undefined;
        if (open) statements.addAlert.run(row.last_payload, row.updated_at, open.id);
        else statements.insertIncident.run(row);
        incidentIds.push(open?.id ?? row.id);
      }
      break;
    case 'settle':
      for (const id of write.ids) if (statements.settle.run({ ...write.set, id }).changes > 0) incidentIds.push(id);
      break;
    case 'change':
      for (const row of write.changes) statements.insertChange.run(row);
      break;
  }
  return { discarded: false, incidentIds };
}

const applyAll = db.transaction((jobs: readonly WriterJob[]) => jobs.map((job) => apply(job.write)));

/** Each job alone, after its batch failed: one bad write cannot sink the others. */
function applyEach(jobs: readonly WriterJob[]): Array<RowsWritten | Error> {
  return jobs.map((job) => {
    try {
      return applyAll.immediate([job])[0]!;
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  });
}

// Opened at the first sync and kept, as the serving connection's durability does (durability.ts).
const walFile = walFileOf(setup.file);
let log: number | null = null;
let syncFailure: string | null = null;

/** fdatasync of the log, here: the writes arriving meanwhile queue up and become the next batch. */
function sync(): void {
  if (syncFailure) throw new Error(syncFailure);
  try {
    if (log === null) {
      log = openSync(walFile, 'r');
      // The log's directory entry too, once: the file was created when the first connection opened.
      const directory = openSync(dirname(walFile), 'r');
      try {
        fdatasyncSync(directory);
      } finally {
        closeSync(directory);
      }
    }
    fdatasyncSync(log);
  } catch (err) {
    syncFailure = walSyncFailure(walFile, err).message;
    throw new Error(syncFailure);
  }
}

const answer = (answers: readonly WriterAnswer[], synced = false): void => port.postMessage({ synced, answers } satisfies WriterMessage);

let queue: WriterJob[] = [];
let scheduled = false;
let stopping = false;

/**
 * One batch: everything that arrived since the last one, up to maxBatch, in one transaction,
 * synced, then answered in one message. The sync blocks this thread only; an fdatasync in the
 * thread pool instead, overlapping the next batch's commit, measured slower: each batch was
 * smaller, so each event wrote more pages to the log, and every sync cost two thread handoffs.
 */
function drain(): void {
  scheduled = false;
  const jobs = queue.slice(0, setup.maxBatch);
  queue = queue.slice(jobs.length);
  let results: Array<RowsWritten | Error>;
  try {
    // IMMEDIATE: the write lock first, so a read inside cannot be overtaken by the serving connection's commit.
    results = applyAll.immediate(jobs);
  } catch (err) {
    results = isLockTimeout(err) ? jobs.map(() => err as Error) : applyEach(jobs);
  }
  let synced = false;
  let syncError: string | null = null;
  if (setup.durable && results.some((r) => !(r instanceof Error))) {
    try {
      sync();
      synced = true;
    } catch (err) {
      syncError = (err as Error).message;
    }
  }
  answer(jobs.map((job, i): WriterAnswer => {
    const result = results[i]!;
    if (result instanceof Error) return { id: job.id, error: result.message };
    return syncError ? { id: job.id, error: syncError, sync: true } : { id: job.id, written: result };
  }), synced);
  if (queue.length > 0) schedule();
  else if (stopping) finish();
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  // After the messages already waiting are taken in: they join this batch.
  setImmediate(drain);
}

function finish(): void {
  if (log !== null) closeSync(log);
  db.close();
  port.close();
}

port.on('message', (message: WriterJob | 'stop') => {
  if (message === 'stop') {
    stopping = true;
    if (!scheduled) finish();
    return;
  }
  if (syncFailure) return answer([{ id: message.id, error: syncFailure, sync: true }]);
  queue.push(message);
  schedule();
});

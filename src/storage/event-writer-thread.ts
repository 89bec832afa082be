/**
 * The SQLite writer thread: Events API writes, committed on a connection of its own, off the
 * event loop that serves HTTP. It takes every write that arrived while it was busy as one
 * transaction (group commit, synchronous NORMAL: the commit appends to the write-ahead log), then,
 * when the connection is durable, fdatasyncs the log, then answers the batch in one message.
 * Deduplication claims are held in this thread's memory (claim-index.ts) and appended to the claim
 * log in the same transaction as the event they admit, so claiming writes no random page.
 * Started by thread-event-writer.ts; the same work in Kysely is event-writes.ts.
 */
import { closeSync, fdatasyncSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';
import type { Insertable } from 'kysely';
import { ClaimIndex } from './claim-index.js';
import { awaitsSettlement, type ClaimCounts, type SettlementRow } from './event-writes.js';
import { walFileOf, walSyncFailure } from './durability.js';
import { configureConnection, isLockTimeout, SAFETY_CHECKPOINT_PAGES } from './sqlite-settings.js';
import type { Database } from './schema.js';

type ClaimRow = Database['dedup_claims'];
type IncidentRow = Insertable<Database['incidents']>;
type ChangeEventRow = Insertable<Database['change_events']>;

/** An EventWrite (event-writes.ts) as the rows it writes: what this thread binds to its statements. */
export type WriteRows =
  | { readonly kind: 'trigger'; readonly claim: ClaimRow | null; readonly incidents: readonly IncidentRow[]; readonly reopens: boolean }
  | { readonly kind: 'settle'; readonly claim: ClaimRow | null; readonly ids: readonly string[]; readonly set: SettlementRow }
  | { readonly kind: 'change'; readonly claim: ClaimRow | null; readonly changes: readonly ChangeEventRow[] };
/** An EventWritten, the time as epoch milliseconds. */
export type RowsWritten = { readonly discarded: true; readonly firstSeenAt: number } | { readonly discarded: false; readonly incidentIds: readonly string[] };

/** `claimCapacity`: the most deduplication claims held in memory (LATCHKEY_DEDUP_MAX_CLAIMS). */
export type WriterSetup = { readonly file: string; readonly durable: boolean; readonly maxBatch: number; readonly claimCapacity: number };
export type WriterJob = { readonly id: number; readonly write: WriteRows };
/** One answer per job: what it wrote, or why it failed (`sync`: committed, but the disk failed the sync). */
export type WriterAnswer = { readonly id: number } & ({ readonly written: RowsWritten } | { readonly error: string; readonly sync?: true });
/** A batch's answers, whether an fdatasync made them durable, and the claims held after it. */
export type WriterMessage = { readonly synced: boolean; readonly answers: readonly WriterAnswer[]; readonly claims: ClaimCounts };

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

type LoggedClaim = Pick<ClaimRow, 'api_key_id' | 'fingerprint' | 'first_seen_at' | 'expires_at'> & { readonly id: number };

const statements = {
  logClaim: db.prepare<[string, string, number, number]>('insert into dedup_claim_log (api_key_id, fingerprint, first_seen_at, expires_at) values (?, ?, ?, ?)'),
  loggedSince: db.prepare<[number], LoggedClaim>('select id, api_key_id, fingerprint, first_seen_at, expires_at from dedup_claim_log where id > ? order by id'),
  // `status != 'resolved'` literally, as the partial index's condition is written (see incident-store.ts).
  openIncident: db.prepare<[string, string], { id: string }>(`select id from incidents where dedup_key = ? and service_id = ? and status != 'resolved'`),
  statusOf: db.prepare<[string], { status: string }>('select status from incidents where id = ?'),
  addAlert: db.prepare<[string, number, string]>('update incidents set alert_count = alert_count + 1, last_payload = ?, updated_at = ? where id = ?'),
  insertIncident: db.prepare<[IncidentRow]>(insertInto('incidents', INCIDENT_COLUMNS)),
  settle: db.prepare(`update incidents set status = @status, updated_at = @updated_at,
    acknowledged_at = coalesce(@acknowledged_at, acknowledged_at), acknowledged_by = coalesce(@acknowledged_by, acknowledged_by),
    resolved_at = coalesce(@resolved_at, resolved_at), resolved_by = coalesce(@resolved_by, resolved_by)
    where id = @id and status != 'resolved'`),
  insertChange: db.prepare<[ChangeEventRow]>(insertInto('change_events', CHANGE_COLUMNS)),
};

const claims = new ClaimIndex(setup.claimCapacity);
/** The last claim log id this thread has in memory: its own, or another connection's read in. */
let loggedUpTo = 0;
/** The claims the running transaction made, given up if it rolls back, and its last log id. */
/** The claims taken in the running transaction, each with the one it took over (a renewal), if any. */
let madeInTransaction: Array<{ claim: ClaimRow; replaced: { firstSeen: number; expiresAt: number } | undefined }> = [];
let loggedInTransaction = 0;
/** The latest time a claim was made at: claims whose windows ended before it are forgotten. */
let latestClaimAt = 0;

/**
 * Takes in the claims other connections logged since this thread last looked (all of them, when
 * the thread has just started). Called holding the write lock, so nothing is logged meanwhile.
 */
function readLoggedClaims(): void {
  for (const row of statements.loggedSince.iterate(loggedUpTo)) {
    claims.add(row.api_key_id, row.fingerprint, row.first_seen_at, row.expires_at);
    loggedUpTo = row.id;
  }
}

// The claims still in the log, before the first batch: later transactions read only what was added since.
readLoggedClaims();

/** When the live claim on the body was first seen, if one is held. */
function heldClaim(claim: ClaimRow): number | undefined {
  // The key's window now is the new claim's: a held claim made before it began is stale (the window was shortened).
  const since = 2 * claim.first_seen_at - claim.expires_at;
  return claims.held(claim.api_key_id, claim.fingerprint, claim.first_seen_at, since);
}

/** Takes the claim (in place of any held one), logged in the running transaction. */
function take(claim: ClaimRow): void {
  loggedInTransaction = Number(statements.logClaim.run(claim.api_key_id, claim.fingerprint, claim.first_seen_at, claim.expires_at).lastInsertRowid);
  madeInTransaction.push({ claim, replaced: claims.claimOn(claim.api_key_id, claim.fingerprint) });
  claims.add(claim.api_key_id, claim.fingerprint, claim.first_seen_at, claim.expires_at);
  latestClaimAt = Math.max(latestClaimAt, claim.first_seen_at);
}

/**
 * A duplicate that still acts (event-writes.ts): a trigger that reopens, some service it routes to
 * having no incident open with its dedup key; a settlement some incident it was planned for still awaits.
 */
function actsAnew(write: WriteRows): boolean {
  if (write.kind === 'trigger') return write.reopens && write.incidents.some((row) => row.dedup_key && !statements.openIncident.get(row.dedup_key, row.service_id));
  return write.kind === 'settle' && write.ids.some((id) => {
    const incident = statements.statusOf.get(id);
    return incident !== undefined && awaitsSettlement(incident.status, write.set.status);
  });
}

function apply(write: WriteRows): RowsWritten {
  if (write.claim) {
    const firstSeenAt = heldClaim(write.claim);
    if (firstSeenAt !== undefined && !actsAnew(write)) return { discarded: true, firstSeenAt };
    take(write.claim);
  }
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

const applyInTransaction = db.transaction((jobs: readonly WriterJob[]) => {
  readLoggedClaims();
  return jobs.map((job) => apply(job.write));
});

/** The jobs in one transaction; the claims in memory follow its commit or its rollback. */
function applyAll(jobs: readonly WriterJob[]): RowsWritten[] {
  madeInTransaction = [];
  loggedInTransaction = 0;
  try {
    // IMMEDIATE: the write lock first, so a read inside cannot be overtaken by the serving connection's commit.
    const results = applyInTransaction.immediate(jobs);
    loggedUpTo = Math.max(loggedUpTo, loggedInTransaction);
    return results;
  } catch (err) {
    // Newest first: a body claimed twice in the transaction gets back what it held before either.
    for (const { claim, replaced } of madeInTransaction.reverse()) {
      claims.remove(claim.api_key_id, claim.fingerprint);
      if (replaced) claims.add(claim.api_key_id, claim.fingerprint, replaced.firstSeen, replaced.expiresAt);
    }
    throw err;
  }
}

/** Each job alone, after its batch failed: one bad write cannot sink the others. */
function applyEach(jobs: readonly WriterJob[]): Array<RowsWritten | Error> {
  return jobs.map((job) => {
    try {
      return applyAll([job])[0]!;
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

const answer = (answers: readonly WriterAnswer[], synced = false): void =>
  port.postMessage({ synced, answers, claims: { held: claims.size, evicted: claims.evicted } } satisfies WriterMessage);

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
    results = applyAll(jobs);
  } catch (err) {
    results = isLockTimeout(err) ? jobs.map(() => err as Error) : applyEach(jobs);
  }
  // Claims whose windows have passed are let go: a map deletion each, once, as time moves on.
  claims.forgetExpired(latestClaimAt);
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

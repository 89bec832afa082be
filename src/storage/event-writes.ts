import type { ActorRef } from '../domain/access/actor.js';
import type { Incident } from '../domain/incidents/incident.js';
import type { ChangeEventStore, StoredChangeEvent } from './change-event-store.js';
import type { DedupStore } from './dedup-store.js';
import type { GroupCommitter, Transaction } from './group-commit.js';
import type { IncidentStore } from './incident-store.js';
import type { Database } from './schema.js';

/** A deduplication claim on a body's fingerprint, made in the same transaction as the work it admits. */
export type DedupClaim = { readonly keyId: string; readonly fingerprint: string; readonly at: Date; readonly until: Date };

/** What an Events API acknowledge or resolve does to an incident, when, and who did it. */
export type Settlement = { readonly status: 'acknowledged' | 'resolved'; readonly at: Date; readonly by: ActorRef };

/**
 * Everything one Events API event writes, decided before the write: which services it routes to,
 * the ids and times, who sent it. Only what depends on the database's state at commit time is left
 * to the writer: whether the claim is taken, and whether a trigger's service already has the
 * incident open.
 */
export type EventWrite =
  /**
   * Each incident is opened, or its alert added to the open incident of its service with its dedup
   * key. `reopens` (the sender gave the dedup key): a duplicate still opens the incidents that are
   * no longer open, renewing its claim (DedupService.gatedWithin).
   */
  | { readonly kind: 'trigger'; readonly claim: DedupClaim | null; readonly incidents: readonly Incident[]; readonly reopens: boolean }
  /**
   * The incidents (found open when the event was planned) acknowledged or resolved, unless resolved
   * since. A duplicate still settles those that still await it (opened since the body was first
   * sent: a flapping alert's repeated resolve), renewing its claim.
   */
  | { readonly kind: 'settle'; readonly claim: DedupClaim | null; readonly ids: readonly string[]; readonly settlement: Settlement }
  | { readonly kind: 'change'; readonly claim: DedupClaim | null; readonly changes: readonly StoredChangeEvent[] };

/** Discarded as a duplicate of a body first seen then, or written: the incidents it opened or changed. */
export type EventWritten = { readonly discarded: true; readonly firstSeenAt: Date } | { readonly discarded: false; readonly incidentIds: readonly string[] };

/**
 * Deduplication claims held in memory (as last reported), and live ones forgotten to stay within
 * LATCHKEY_DEDUP_MAX_CLAIMS.
 */
export type ClaimCounts = { readonly held: number; readonly evicted: number };

/**
 * Commits event writes, many per transaction. `write` resolves once the write is committed and,
 * where the connection promises it, on disk.
 */
export type EventWriter = {
  write(write: EventWrite): Promise<EventWritten>;
  /** The disk failed a sync: no event can be reported as saved until the server restarts. */
  readonly failed: boolean;
  /** fdatasync calls the writer made itself (0 where the connection's commits or its durability make writes durable). */
  readonly syncs: number;
  /** Zeros where claims are rows in dedup_claims (PostgreSQL, SQLite without the thread). */
  readonly claims: ClaimCounts;
  close(): Promise<void>;
};

/** The columns acknowledging or resolving sets (the other action's null: left as they are). */
export type SettlementRow = Pick<Database['incidents'], 'acknowledged_at' | 'acknowledged_by' | 'resolved_at' | 'resolved_by' | 'updated_at'> & { readonly status: Settlement['status'] };

type Stores = { dedup: DedupStore; incidents: IncidentStore; changes: ChangeEventStore };

/** Whether an incident in `status` awaits a settlement to `to`: acknowledging changes a triggered one, resolving any open one. */
export const awaitsSettlement = (status: string, to: Settlement['status']): boolean =>
  status === 'triggered' || (to === 'resolved' && status === 'acknowledged');

/**
 * Event writes through Kysely, batched by the group committer with whatever else it commits:
 * PostgreSQL (whose commit is its flush), and SQLite where no writer thread runs (in memory, or a
 * file system without WAL). On an SQLite file in WAL mode the writer thread does the same work
 * (event-writer-thread.ts).
 */
export function createTransactionalEventWriter(committer: GroupCommitter, stores: Stores): EventWriter {
  /** Whether a trigger would open an incident anew on some service: none open there with its dedup key. */
  async function someClosed(trx: Transaction, incidents: readonly Incident[]): Promise<boolean> {
    for (const incident of incidents) if (incident.dedupKey !== null && !(await stores.incidents.findOpen(incident.serviceId, incident.dedupKey, trx))) return true;
    return false;
  }

  /** Whether some incident a settlement was planned for still awaits it. */
  async function someAwaiting(trx: Transaction, ids: readonly string[], to: Settlement['status']): Promise<boolean> {
    for (const id of ids) {
      const incident = await stores.incidents.findById(id, trx);
      if (incident && awaitsSettlement(incident.status, to)) return true;
    }
    return false;
  }

  /** Whether a duplicate still acts (DedupService.gatedWithin): a trigger that would open anew, a settlement still awaited. */
  async function actsAnew(trx: Transaction, write: EventWrite): Promise<boolean> {
    if (write.kind === 'trigger') return write.reopens && someClosed(trx, write.incidents);
    return write.kind === 'settle' && someAwaiting(trx, write.ids, write.settlement.status);
  }

  async function apply(trx: Transaction, write: EventWrite): Promise<EventWritten> {
    if (write.claim) {
      const { keyId, fingerprint, at, until } = write.claim;
      const claim = await stores.dedup.claim(keyId, fingerprint, at, until, trx);
      if (!claim.claimed) {
        const renewed = (await actsAnew(trx, write))
          && (await stores.dedup.renew(keyId, fingerprint, claim.firstSeenAt, at, until, trx));
        if (!renewed) return { discarded: true, firstSeenAt: claim.firstSeenAt };
      }
    }
    const incidentIds: string[] = [];
    switch (write.kind) {
      case 'trigger':
        for (const incident of write.incidents) {
          const open = incident.dedupKey === null ? undefined : await stores.incidents.findOpen(incident.serviceId, incident.dedupKey, trx);
          // Resolved since it was found open (PostgreSQL): the event opens a new incident instead.
          if (open && (await stores.incidents.addAlert(trx, open.id, incident.lastPayload, incident.updatedAt))) incidentIds.push(open.id);
          else {
            await stores.incidents.insert(trx, incident);
            incidentIds.push(incident.id);
          }
        }
        break;
      case 'settle':
        for (const id of write.ids) if (await stores.incidents.settle(trx, id, write.settlement)) incidentIds.push(id);
        break;
      case 'change':
        await stores.changes.insertMany(write.changes, trx);
        break;
    }
    return { discarded: false, incidentIds };
  }

  return {
    write: (write) => committer.run((trx) => apply(trx, write)),
    failed: false,
    syncs: 0,
    claims: { held: 0, evicted: 0 },
    close: () => Promise.resolve(),
  };
}

import { sql, type Insertable, type Selectable, type Transaction } from 'kysely';
import type { Reach } from '../domain/access/scope.js';
import type { Incident, IncidentSource, IncidentStatus, Severity } from '../domain/incidents/incident.js';
import type { Db } from './connect.js';
import { actorFromText, actorFromTextOrNull, actorToText, fromMs, fromMsOrNull, toMs, toMsOrNull } from './json.js';
import { reachCondition } from './reach.js';
import type { Database } from './schema.js';
import type { Settlement, SettlementRow } from './event-writes.js';

type Executor = Db | Transaction<Database>;

export function rowToIncident(row: Selectable<Database['incidents']>): Incident {
  return {
    id: row.id,
    serviceId: row.service_id,
    teamId: row.team_id,
    title: row.title,
    description: row.description,
    severity: row.severity as Severity,
    status: row.status as IncidentStatus,
    dedupKey: row.dedup_key,
    source: row.source as IncidentSource,
    createdBy: actorFromText(row.created_by),
    createdAt: fromMs(row.created_at),
    updatedAt: fromMs(row.updated_at),
    acknowledgedAt: fromMsOrNull(row.acknowledged_at),
    acknowledgedBy: actorFromTextOrNull(row.acknowledged_by),
    resolvedAt: fromMsOrNull(row.resolved_at),
    resolvedBy: actorFromTextOrNull(row.resolved_by),
    alertCount: row.alert_count,
    lastPayload: JSON.parse(row.last_payload) as unknown,
  };
}

/** The row an incident is stored as. */
export function incidentToRow(incident: Incident): Insertable<Database['incidents']> {
  return {
    id: incident.id,
    service_id: incident.serviceId,
    team_id: incident.teamId,
    title: incident.title,
    description: incident.description,
    severity: incident.severity,
    status: incident.status,
    dedup_key: incident.dedupKey,
    source: incident.source,
    created_by: actorToText(incident.createdBy),
    created_at: toMs(incident.createdAt),
    updated_at: toMs(incident.updatedAt),
    acknowledged_at: toMsOrNull(incident.acknowledgedAt),
    acknowledged_by: incident.acknowledgedBy && actorToText(incident.acknowledgedBy),
    resolved_at: toMsOrNull(incident.resolvedAt),
    resolved_by: incident.resolvedBy && actorToText(incident.resolvedBy),
    alert_count: incident.alertCount,
    last_payload: JSON.stringify(incident.lastPayload),
  };
}

/** What acknowledging or resolving sets, as columns (those of the other action null: left as they are). */
export function settlementToRow(s: Settlement): SettlementRow {
  const at = toMs(s.at);
  const by = actorToText(s.by);
  return s.status === 'acknowledged'
    ? { status: s.status, acknowledged_at: at, acknowledged_by: by, resolved_at: null, resolved_by: null, updated_at: at }
    : { status: s.status, acknowledged_at: null, acknowledged_by: null, resolved_at: at, resolved_by: by, updated_at: at };
}

export type IncidentChanges = Partial<Pick<Incident,
  'title' | 'description' | 'severity' | 'status' | 'acknowledgedAt' | 'acknowledgedBy' | 'resolvedAt' | 'resolvedBy' | 'updatedAt' | 'lastPayload'>>;

export type IncidentFilter = {
  readonly reach: Reach;
  readonly serviceId?: string;
  readonly teamId?: string;
  readonly status?: IncidentStatus;
  readonly before?: string;
  readonly limit: number;
};

export type IncidentStore = ReturnType<typeof createIncidentStore>;

/**
 * `status != 'resolved'` written out as a literal: the open-incident indexes are partial on that
 * very condition, and SQLite uses a partial index only when the query repeats its condition
 * literally (with a bound parameter it scans every incident instead).
 */
const STILL_OPEN = sql<boolean>`${sql.ref('status')} != 'resolved'`;

export function createIncidentStore(db: Db) {
  return {
    async insert(trx: Transaction<Database>, incident: Incident): Promise<void> {
      await trx.insertInto('incidents').values(incidentToRow(incident)).execute();
    },

    /**
     * One more alert on an open incident: the count goes up, the payload is the latest. False when it
     * has been resolved since it was found open (on PostgreSQL, by a write this waited for).
     */
    async addAlert(trx: Transaction<Database>, id: string, lastPayload: unknown, at: Date): Promise<boolean> {
      const result = await trx.updateTable('incidents')
        .set((eb) => ({ alert_count: eb('alert_count', '+', 1), last_payload: JSON.stringify(lastPayload), updated_at: toMs(at) }))
        .where('id', '=', id).where(STILL_OPEN).executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /** Acknowledges or resolves an incident unless it was resolved meanwhile; says whether it did. */
    async settle(trx: Transaction<Database>, id: string, settlement: Settlement): Promise<boolean> {
      const row = settlementToRow(settlement);
      const result = await trx.updateTable('incidents').set({
        status: row.status,
        updated_at: row.updated_at,
        ...(row.acknowledged_at !== null && { acknowledged_at: row.acknowledged_at, acknowledged_by: row.acknowledged_by }),
        ...(row.resolved_at !== null && { resolved_at: row.resolved_at, resolved_by: row.resolved_by }),
      }).where('id', '=', id).where(STILL_OPEN).executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async findById(id: string, ex: Executor = db): Promise<Incident | undefined> {
      const row = await ex.selectFrom('incidents').selectAll().where('id', '=', id).executeTakeFirst();
      return row && rowToIncident(row);
    },

    /** The open (not resolved) incident of a service with this dedup key, if any. */
    async findOpen(serviceId: string, dedupKey: string, ex: Executor = db): Promise<Incident | undefined> {
      const row = await ex.selectFrom('incidents').selectAll()
        .where('service_id', '=', serviceId).where('dedup_key', '=', dedupKey).where(STILL_OPEN)
        .orderBy('id', 'desc').limit(1).executeTakeFirst();
      return row && rowToIncident(row);
    },

    /** Open incidents with this dedup key on any service in reach (Events API acknowledge/resolve). */
    async findOpenInReach(dedupKey: string, reach: Reach): Promise<Incident[]> {
      let q = db.selectFrom('incidents').selectAll().where('dedup_key', '=', dedupKey).where(STILL_OPEN);
      const visible = reachCondition(reach);
      if (visible) q = q.where(visible);
      return (await q.orderBy('id').execute()).map(rowToIncident);
    },

    /**
     * Says whether it changed the incident: with `stillOpen`, only one not resolved (since it was
     * read); with `whileStatus`, only one still in the status it was read in.
     */
    async update(trx: Transaction<Database>, id: string, changes: IncidentChanges, options: { stillOpen?: boolean; whileStatus?: IncidentStatus } = {}): Promise<boolean> {
      let query = trx.updateTable('incidents').set({
        ...(changes.title !== undefined && { title: changes.title }),
        ...(changes.description !== undefined && { description: changes.description }),
        ...(changes.severity !== undefined && { severity: changes.severity }),
        ...(changes.status !== undefined && { status: changes.status }),
        ...(changes.acknowledgedAt !== undefined && { acknowledged_at: toMsOrNull(changes.acknowledgedAt) }),
        ...(changes.acknowledgedBy !== undefined && { acknowledged_by: changes.acknowledgedBy && actorToText(changes.acknowledgedBy) }),
        ...(changes.resolvedAt !== undefined && { resolved_at: toMsOrNull(changes.resolvedAt) }),
        ...(changes.resolvedBy !== undefined && { resolved_by: changes.resolvedBy && actorToText(changes.resolvedBy) }),
        ...(changes.lastPayload !== undefined && { last_payload: JSON.stringify(changes.lastPayload) }),
        ...(changes.updatedAt !== undefined && { updated_at: toMs(changes.updatedAt) }),
      }).where('id', '=', id);
      if (options.stillOpen) query = query.where(STILL_OPEN);
      if (options.whileStatus) query = query.where('status', '=', options.whileStatus);
      return Number((await query.executeTakeFirst()).numUpdatedRows) > 0;
    },

    /** Whether there was such an incident to delete (a concurrent delete may have taken it). */
    async delete(trx: Transaction<Database>, id: string): Promise<boolean> {
      const result = await trx.deleteFrom('incidents').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    async list(filter: IncidentFilter): Promise<Incident[]> {
      let q = db.selectFrom('incidents').selectAll();
      const visible = reachCondition(filter.reach);
      if (visible) q = q.where(visible);
      if (filter.serviceId) q = q.where('service_id', '=', filter.serviceId);
      if (filter.teamId) q = q.where('team_id', '=', filter.teamId);
      if (filter.status) q = q.where('status', '=', filter.status);
      if (filter.before) q = q.where('id', '<', filter.before);
      return (await q.orderBy('id', 'desc').limit(filter.limit).execute()).map(rowToIncident);
    },
  };
}

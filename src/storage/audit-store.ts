import type { Selectable, Transaction } from 'kysely';
import type { Reach } from '../domain/access/scope.js';
import type { AuditAction, AuditEvent } from '../domain/audit/audit-event.js';
import type { Db } from './connect.js';
import { reachCondition } from './reach.js';
import { actorFromText, actorToText, fromMs, toMs } from './json.js';
import type { Database } from './schema.js';

export type AuditFilter = {
  readonly reach: Reach;
  readonly targetId?: string;
  readonly action?: string;
  readonly actorId?: string;
  readonly since?: Date;
  readonly until?: Date;
  readonly before?: string;
  readonly limit: number;
};

export function rowToAuditEvent(row: Selectable<Database['audit_events']>): AuditEvent {
  return {
    id: row.id,
    at: fromMs(row.at),
    action: row.action as AuditAction,
    actor: actorFromText(row.actor),
    targetType: row.target_type as AuditEvent['targetType'],
    targetId: row.target_id,
    teamId: row.team_id,
    serviceId: row.service_id,
    ip: row.ip,
    requestId: row.request_id,
    details: JSON.parse(row.details) as Record<string, unknown>,
  };
}

export type AuditStore = ReturnType<typeof createAuditStore>;

export function createAuditStore(db: Db) {
  return {
    /** Always inside the transaction of the change it records. */
    async append(trx: Transaction<Database>, event: AuditEvent): Promise<void> {
      await trx.insertInto('audit_events').values({
        id: event.id,
        at: toMs(event.at),
        action: event.action,
        actor: actorToText(event.actor),
        actor_id: event.actor.id,
        target_type: event.targetType,
        target_id: event.targetId,
        team_id: event.teamId,
        service_id: event.serviceId,
        ip: event.ip,
        request_id: event.requestId,
        details: JSON.stringify(event.details),
      }).execute();
    },

    async list(filter: AuditFilter): Promise<AuditEvent[]> {
      let q = db.selectFrom('audit_events').selectAll();
      if (filter.targetId) q = q.where('target_id', '=', filter.targetId);
      if (filter.action) q = q.where('action', '=', filter.action);
      if (filter.actorId) q = q.where('actor_id', '=', filter.actorId);
      if (filter.since) q = q.where('at', '>=', toMs(filter.since));
      if (filter.until) q = q.where('at', '<', toMs(filter.until));
      if (filter.before) q = q.where('id', '<', filter.before);
      const visible = reachCondition(filter.reach);
      if (visible) q = q.where(visible);
      const rows = await q.orderBy('id', 'desc').limit(filter.limit).execute();
      return rows.map(rowToAuditEvent);
    },
  };
}

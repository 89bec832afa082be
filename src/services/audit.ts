import { reachFor, type Actor } from '../domain/access/actor.js';
import { equalAsJson } from '../domain/json.js';
import type { Transaction } from 'kysely';
import type { AuditEvent, AuditRecord, RequestContext } from '../domain/audit/audit-event.js';
import type { AuditStore } from '../storage/audit-store.js';
import type { Database } from '../storage/schema.js';
import { filterTime, paginate } from './paging.js';
import type { Clock, IdGenerator } from './runtime.js';

export type AuditQuery = {
  target_id?: string;
  action?: string;
  actor_id?: string;
  since?: string;
  until?: string;
  cursor?: string;
  limit?: number;
};

export function createAuditService(deps: { audit: AuditStore }) {
  return {
    /** The trail of what the caller can see: a team key sees its team's keys and services. */
    async list(actor: Actor, query: AuditQuery): Promise<{ items: AuditEvent[]; nextCursor: string | null }> {
      const limit = query.limit ?? 50;
      const rows = await deps.audit.list({
        reach: reachFor(actor, 'audit:read'),
        limit: limit + 1,
        ...(query.target_id && { targetId: query.target_id }),
        ...(query.action && { action: query.action }),
        ...(query.actor_id && { actorId: query.actor_id }),
        ...(query.since && { since: filterTime('since', query.since) }),
        ...(query.until && { until: filterTime('until', query.until) }),
        ...(query.cursor && { before: query.cursor }),
      });
      return paginate(rows, limit);
    },
  };
}

/**
 * What a change changes, for its audit event: field → {from, to}, named as the API names them
 * (`readOnly` → `read_only`), leaving out fields set to what they already were (as JSON, whatever
 * the order of keys in an object: a filter or field mapping sent again) and `updatedAt`.
 * Empty when the change changes nothing, which is then neither written nor audited.
 */
export function fieldChanges(before: object, changes: object): Record<string, { from: unknown; to: unknown }> {
  const out: Record<string, { from: unknown; to: unknown }> = {};
  for (const [field, to] of Object.entries(changes)) {
    if (field === 'updatedAt') continue;
    const from = (before as Record<string, unknown>)[field];
    if (!equalAsJson(from, to)) out[field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = { from, to };
  }
  return out;
}

/** Appends audit events inside the transaction of the change they record. */
export function createAuditWriter(deps: { audit: AuditStore; ids: IdGenerator; clock: Clock }) {
  return async (trx: Transaction<Database>, actor: Actor, ctx: RequestContext, record: AuditRecord): Promise<void> => {
    const { scope, ...rest } = record;
    await deps.audit.append(trx, {
      ...rest,
      id: deps.ids(),
      at: deps.clock.now(),
      actor: actor.ref,
      teamId: scope.type === 'global' ? null : scope.teamId,
      serviceId: scope.type === 'service' ? scope.serviceId : null,
      ip: ctx.ip,
      requestId: ctx.requestId,
    });
  };
}

export type AuditWriter = ReturnType<typeof createAuditWriter>;

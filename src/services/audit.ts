import { reachFor, type Actor } from '../domain/access/actor.js';
import type { AuditEvent } from '../domain/audit/audit-event.js';
import type { AuditStore } from '../storage/audit-store.js';

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
        ...(query.since && { since: new Date(query.since) }),
        ...(query.until && { until: new Date(query.until) }),
        ...(query.cursor && { before: query.cursor }),
      });
      const items = rows.slice(0, limit);
      return { items, nextCursor: rows.length > limit ? items[items.length - 1]!.id : null };
    },
  };
}

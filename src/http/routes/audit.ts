import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AuditEvent } from '../../domain/audit/audit-event.js';
import { LatchkeyError } from '../../domain/errors.js';
import type { Services } from '../../services.js';
import { ActorRefSchema, AUTH_ERRORS, Cursor, ErrorResponse, iso, Limit, Nullable, pageSize, Timestamp } from '../schemas/common.js';
import { actorOf } from './context.js';

const AuditEventSchema = Type.Object({
  id: Type.String(),
  at: Timestamp,
  action: Type.String(),
  actor: ActorRefSchema,
  target_type: Type.String(),
  target_id: Type.String(),
  team_id: Nullable(Type.String()),
  service_id: Nullable(Type.String()),
  ip: Nullable(Type.String()),
  request_id: Nullable(Type.String()),
  details: Type.Record(Type.String(), Type.Unknown()),
}, { $id: 'AuditEvent' });

const Query = Type.Object({
  target_id: Type.Optional(Type.String({ maxLength: 64 })),
  api_key_id: Type.Optional(Type.String({ maxLength: 64, description: 'same as target_id, for keys' })),
  action: Type.Optional(Type.String({ maxLength: 64 })),
  actor_id: Type.Optional(Type.String({ maxLength: 64 })),
  since: Type.Optional(Timestamp),
  until: Type.Optional(Timestamp),
  cursor: Type.Optional(Cursor),
  limit: Type.Optional(Limit),
}, { additionalProperties: false });

const present = (e: AuditEvent) => ({
  id: e.id, at: iso(e.at), action: e.action, actor: e.actor, target_type: e.targetType, target_id: e.targetId,
  team_id: e.teamId, service_id: e.serviceId, ip: e.ip, request_id: e.requestId, details: e.details,
});

export const auditRoutes = (services: Services): FastifyPluginAsyncTypebox => async (app) => {
  app.get('/audit_events', {
    config: { permission: 'audit:read' },
    schema: { tags: ['Audit'], summary: 'Who did what to which key, when, from where', querystring: Query, response: { 200: Type.Object({ audit_events: Type.Array(AuditEventSchema), next_cursor: Nullable(Type.String()) }), ...AUTH_ERRORS, 400: ErrorResponse } },
  }, async (request) => {
    const { api_key_id, target_id, limit, ...rest } = request.query;
    // Two names for one filter: naming two different targets would silently list one of them.
    if (target_id !== undefined && api_key_id !== undefined && target_id !== api_key_id) {
      throw new LatchkeyError('validation_failed', 'target_id and api_key_id name different records: give one of them');
    }
    const targetId = target_id ?? api_key_id;
    const page = await services.audit.list(actorOf(request), { ...rest, ...(targetId && { target_id: targetId }), limit: pageSize(limit) });
    return { audit_events: page.items.map(present), next_cursor: page.nextCursor };
  });
};

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { INCIDENT_STATUSES, SEVERITIES, type Incident } from '../../domain/incidents/incident.js';
import type { Services } from '../../services.js';
import { repeatActs } from '../../services/incidents.js';
import { ActorRefSchema, AUTH_ERRORS, Cursor, ErrorResponse, IdParams, iso, isoOrNull, Limit, Nullable, NullableTimestamp, pageSize, Timestamp, Ulid } from '../schemas/common.js';
import { discarded, DiscardedResponse } from '../dedup.js';
import { AnyPayload } from '../payload.js';
import { actorOf, contextOf } from './context.js';

export const IncidentSchema = Type.Object({
  id: Ulid, service_id: Ulid, team_id: Ulid, title: Type.String(), description: Type.String(),
  severity: Type.Enum([...SEVERITIES]), status: Type.Enum([...INCIDENT_STATUSES]), dedup_key: Nullable(Type.String()),
  source: Type.Enum(['api', 'events', 'workflow']), alert_count: Type.Integer(), last_payload: Type.Unknown(),
  created_by: ActorRefSchema, created_at: Timestamp, updated_at: Timestamp,
  acknowledged_at: NullableTimestamp, acknowledged_by: Nullable(ActorRefSchema),
  resolved_at: NullableTimestamp, resolved_by: Nullable(ActorRefSchema),
}, { $id: 'Incident' });

export const presentIncident = (i: Incident) => ({
  id: i.id, service_id: i.serviceId, team_id: i.teamId, title: i.title, description: i.description,
  severity: i.severity, status: i.status, dedup_key: i.dedupKey, source: i.source, alert_count: i.alertCount, last_payload: i.lastPayload,
  created_by: i.createdBy, created_at: iso(i.createdAt), updated_at: iso(i.updatedAt),
  acknowledged_at: isoOrNull(i.acknowledgedAt), acknowledged_by: i.acknowledgedBy,
  resolved_at: isoOrNull(i.resolvedAt), resolved_by: i.resolvedBy,
});

const Action = Type.Enum(['create', 'append', 'resolve', 'nothing_to_resolve']);
const RoutingResponse = Type.Object({
  status: Type.Enum(['created', 'resolved', 'no_match']),
  incidents: Type.Array(IncidentSchema),
  routing: Type.Array(Type.Object({ service_id: Type.String(), action: Action, incident_id: Nullable(Type.String()) })),
});
const DryRunResponse = Type.Object({
  status: Type.Literal('dry_run'),
  duplicate: Type.Boolean({ description: "whether the body would be discarded as a duplicate within the key's window" }),
  services: Type.Array(Type.Object({
    service_id: Type.String(), service_name: Type.String(), action: Action, title: Type.String(), severity: Type.String(), dedup_key: Nullable(Type.String()),
    decided_by: Type.Array(Type.Object({ pointer: Type.String(), condition: Type.String(), actual: Type.String(), result: Type.Boolean() })),
  })),
});
const errors = { ...AUTH_ERRORS, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse, 413: ErrorResponse };
const tags = ['Incidents'];
const IncidentResponse = Type.Object({ incident: IncidentSchema });

export const incidentRoutes = (services: Services): FastifyPluginAsyncTypebox => async (app) => {
  const incidents = services.incidents;

  app.get('/incidents', {
    config: { permission: 'incidents:read' },
    schema: {
      tags,
      querystring: Type.Object({
        service_id: Type.Optional(Type.String({ maxLength: 64 })), team_id: Type.Optional(Type.String({ maxLength: 64 })),
        status: Type.Optional(Type.Enum([...INCIDENT_STATUSES])), cursor: Type.Optional(Cursor), limit: Type.Optional(Limit),
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ incidents: Type.Array(IncidentSchema), next_cursor: Nullable(Type.String()) }), ...errors },
    },
  }, async (request) => {
    const page = await incidents.list(actorOf(request), { ...request.query, limit: pageSize(request.query.limit) });
    return { incidents: page.items.map(presentIncident), next_cursor: page.nextCursor };
  });

  app.post('/incidents', {
    // Deduplicated inside the routing transaction (not by the dedup hook): claim and incidents commit together.
    config: { permission: 'incidents:create' },
    schema: {
      tags, summary: "Route a payload through every in-scope service's API filter: one incident per matching service",
      querystring: Type.Object({ dry_run: Type.Optional(Type.Enum(['true', 'false'])) }, { additionalProperties: false }),
      body: AnyPayload,
      response: { 200: Type.Union([RoutingResponse, DryRunResponse, DiscardedResponse]), 201: RoutingResponse, ...errors },
    },
  }, async (request, reply) => {
    const actor = actorOf(request);
    if (request.query.dry_run === 'true') {
      const decisions = await incidents.explain(actor, request.body);
      const key = request.apiKey;
      return {
        status: 'dry_run' as const,
        // A repeat that would open a new incident with its dedup key (the old one resolved), or resolve one, is not discarded.
        duplicate: key && !decisions.some((d) => repeatActs(d.action, d.fields.dedupKey))
          ? await services.dedup.wouldDiscard(key, request.routeOptions.url!, request.body) : false,
        services: decisions.map((d) => ({
          service_id: d.entry.service.id, service_name: d.entry.service.name, action: d.action,
          title: d.fields.title, severity: d.fields.severity, dedup_key: d.fields.dedupKey, decided_by: [...d.explanation],
        })),
      };
    }
    const key = request.apiKey;
    // A key's requests are deduplicated inside the routing transaction (a session's are not).
    const gated = await incidents.route(actor, request.body, key && { key, route: request.routeOptions.url!, body: request.body });
    if (gated.discarded) return reply.code(200).send(discarded(key!, gated.firstSeenAt));
    const outcome = gated.result;
    request.incidentIds = outcome.decisions.filter((d) => d.action === 'create' && d.incidentId).map((d) => d.incidentId!);
    return reply.code(outcome.status === 'created' ? 201 : 200).send({
      status: outcome.status,
      incidents: outcome.incidents.map(presentIncident),
      routing: outcome.decisions.map((d) => ({ service_id: d.serviceId, action: d.action, incident_id: d.incidentId })),
    });
  });

  app.get('/incidents/:id', {
    config: { permission: 'incidents:read' },
    schema: { tags, params: IdParams, response: { 200: IncidentResponse, ...errors } },
  }, async (request) => ({ incident: presentIncident(await incidents.show(actorOf(request), request.params.id)) }));

  app.patch('/incidents/:id', {
    config: { permission: 'incidents:write' },
    schema: {
      tags, params: IdParams,
      body: Type.Object({ title: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })), description: Type.Optional(Type.String({ maxLength: 16_384 })), severity: Type.Optional(Type.Enum([...SEVERITIES])) }, { additionalProperties: false, minProperties: 1 }),
      response: { 200: IncidentResponse, ...errors },
    },
  }, async (request) => ({ incident: presentIncident(await incidents.update(actorOf(request), request.params.id, request.body)) }));

  app.delete('/incidents/:id', {
    config: { permission: 'incidents:write' },
    schema: { tags, params: IdParams, response: { 204: Type.Null(), ...errors } },
  }, async (request, reply) => {
    await incidents.delete(actorOf(request), request.params.id, contextOf(request));
    return reply.code(204).send(null);
  });

  for (const action of ['acknowledge', 'resolve'] as const) {
    app.post(`/incidents/:id/${action}`, {
      config: { permission: 'incidents:write' },
      schema: { tags, summary: `${action === 'acknowledge' ? 'Acknowledge' : 'Resolve'} an incident`, params: IdParams, response: { 200: IncidentResponse, ...errors } },
    }, async (request) => ({ incident: presentIncident(await incidents.transition(actorOf(request), request.params.id, action)) }));
  }
};

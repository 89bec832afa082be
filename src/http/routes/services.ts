import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Service } from '../../domain/services/service.js';
import type { Services } from '../../services.js';
import { AUTH_ERRORS, Cursor, ErrorResponse, IdParams, iso, Limit, Nullable, pageSize, Timestamp, Ulid } from '../schemas/common.js';
import { actorOf, contextOf } from './context.js';

const FieldPath = Type.String({ minLength: 1, maxLength: 256 });
const FieldMappingSchema = Type.Object({
  title: Type.Optional(FieldPath), description: Type.Optional(FieldPath), severity: Type.Optional(FieldPath), dedup_key: Type.Optional(FieldPath),
}, { additionalProperties: false, description: 'where incident fields are read in a payload: each a field path such as alert.labels.severity' });
const FilterSchema = Nullable(Type.Unknown({ description: 'filter: {"all"|"any":[…]}, {"not":…} or {"path","op","value"}' }));

export const ServiceSchema = Type.Object({
  id: Ulid, team_id: Ulid, name: Type.String(), description: Type.String(),
  api_filter: FilterSchema, resolve_filter: FilterSchema, field_mapping: FieldMappingSchema,
  created_at: Timestamp, updated_at: Timestamp,
}, { $id: 'Service' });

const Name = Type.String({ minLength: 1, maxLength: 200 });
const Description = Type.String({ maxLength: 2000 });
const Editable = {
  description: Type.Optional(Description),
  api_filter: Type.Optional(FilterSchema),
  resolve_filter: Type.Optional(FilterSchema),
  field_mapping: Type.Optional(FieldMappingSchema),
};
const errors = { ...AUTH_ERRORS, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse };
const tags = ['Services'];
const ServiceResponse = Type.Object({ service: ServiceSchema });

const presentService = (s: Service) => ({
  id: s.id, team_id: s.teamId, name: s.name, description: s.description,
  api_filter: s.apiFilter, resolve_filter: s.resolveFilter, field_mapping: s.fieldMapping,
  created_at: iso(s.createdAt), updated_at: iso(s.updatedAt),
});

const ChangeEventSchema = Type.Object({
  id: Type.String(), summary: Type.String(), source: Nullable(Type.String()), timestamp: Timestamp, event: Type.Unknown(), created_at: Timestamp,
});

const Explanation = Type.Object({ pointer: Type.String(), condition: Type.String(), actual: Type.String(), result: Type.Boolean() });

export const serviceRoutes = (services: Services): FastifyPluginAsyncTypebox => async (app) => {
  const catalog = services.catalog;

  app.get('/services', {
    config: { permission: 'services:read' },
    schema: { tags, querystring: Type.Object({ cursor: Type.Optional(Cursor), limit: Type.Optional(Limit), team_id: Type.Optional(Type.String({ maxLength: 64 })) }, { additionalProperties: false }), response: { 200: Type.Object({ services: Type.Array(ServiceSchema), next_cursor: Nullable(Type.String()) }), ...errors } },
  }, async (request) => {
    const page = await catalog.listServices(actorOf(request), { ...request.query, limit: pageSize(request.query.limit) });
    return { services: page.items.map(presentService), next_cursor: page.nextCursor };
  });

  app.post('/services', {
    config: { permission: 'services:write' },
    schema: { tags, body: Type.Object({ team_id: Type.String({ maxLength: 64 }), name: Name, ...Editable }, { additionalProperties: false }), response: { 201: ServiceResponse, ...errors } },
  }, async (request, reply) => reply.code(201).send({ service: presentService(await catalog.createService(actorOf(request), request.body, contextOf(request))) }));

  app.get('/services/:id', {
    config: { permission: 'services:read' },
    schema: { tags, params: IdParams, response: { 200: ServiceResponse, ...errors } },
  }, async (request) => ({ service: presentService(await catalog.showService(actorOf(request), request.params.id)) }));

  app.patch('/services/:id', {
    config: { permission: 'services:write' },
    schema: { tags, params: IdParams, body: Type.Object({ name: Type.Optional(Name), ...Editable }, { additionalProperties: false, minProperties: 1 }), response: { 200: ServiceResponse, ...errors } },
  }, async (request) => ({ service: presentService(await catalog.updateService(actorOf(request), request.params.id, request.body, contextOf(request))) }));

  app.delete('/services/:id', {
    config: { permission: 'services:write' },
    schema: { tags, summary: 'Delete a service (its incidents stay); its keys must be revoked first', params: IdParams, response: { 204: Type.Null(), ...errors } },
  }, async (request, reply) => {
    await catalog.deleteService(actorOf(request), request.params.id, contextOf(request));
    return reply.code(204).send(null);
  });

  app.get('/services/:id/change_events', {
    config: { permission: 'services:read' },
    schema: {
      tags, summary: 'Change events sent to this service through the Events API', params: IdParams,
      querystring: Type.Object({ cursor: Type.Optional(Cursor), limit: Type.Optional(Limit) }, { additionalProperties: false }),
      response: { 200: Type.Object({ change_events: Type.Array(ChangeEventSchema), next_cursor: Nullable(Type.String()) }), ...errors },
    },
  }, async (request) => {
    const page = await services.events.listChanges(actorOf(request), request.params.id, { ...request.query, limit: pageSize(request.query.limit) });
    return {
      change_events: page.items.map((e) => ({ id: e.id, summary: e.summary, source: e.source, timestamp: iso(e.timestamp), event: e.event, created_at: iso(e.createdAt) })),
      next_cursor: page.nextCursor,
    };
  });

  app.post('/services/:id/api_filter/test', {
    config: { permission: 'services:read' },
    schema: {
      tags, summary: "Run a payload through the service's API filter, with the conditions that decided", params: IdParams,
      body: Type.Object({ payload: Type.Unknown() }, { additionalProperties: false }),
      response: { 200: Type.Object({ matched: Type.Boolean(), filter: Type.Enum(['api_filter', 'none']), explanation: Type.Array(Explanation) }), ...errors },
    },
  }, async (request) => catalog.testFilter(actorOf(request), request.params.id, request.body.payload));
};

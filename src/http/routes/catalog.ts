import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Service } from '../../domain/services/service.js';
import type { Team } from '../../domain/teams/team.js';
import type { Services } from '../../services.js';
import { AUTH_ERRORS, Cursor, ErrorResponse, IdParams, iso, Limit, Nullable, pageSize, Timestamp, Ulid } from '../schemas/common.js';
import { actorOf, contextOf } from './context.js';

const TeamSchema = Type.Object({ id: Ulid, name: Type.String(), description: Type.String(), created_at: Timestamp, updated_at: Timestamp }, { $id: 'Team' });
const ServiceSchema = Type.Object({
  id: Ulid, team_id: Ulid, name: Type.String(), description: Type.String(),
  api_filter: Nullable(Type.Unknown()), created_at: Timestamp, updated_at: Timestamp,
}, { $id: 'Service' });

const Name = Type.String({ minLength: 1, maxLength: 200 });
const Description = Type.Optional(Type.String({ maxLength: 2000 }));
const Paging = { cursor: Type.Optional(Cursor), limit: Type.Optional(Limit) };
const errors = { ...AUTH_ERRORS, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse };

const presentTeam = (t: Team) => ({ id: t.id, name: t.name, description: t.description, created_at: iso(t.createdAt), updated_at: iso(t.updatedAt) });
const presentService = (s: Service) => ({
  id: s.id, team_id: s.teamId, name: s.name, description: s.description, api_filter: s.apiFilter,
  created_at: iso(s.createdAt), updated_at: iso(s.updatedAt),
});

export const catalogRoutes = (services: Services): FastifyPluginAsyncTypebox => async (app) => {
  const catalog = services.catalog;

  app.get('/teams', {
    config: { permission: 'teams:read' },
    schema: { tags: ['Teams'], querystring: Type.Object(Paging, { additionalProperties: false }), response: { 200: Type.Object({ teams: Type.Array(TeamSchema), next_cursor: Nullable(Type.String()) }), ...errors } },
  }, async (request) => {
    const page = await catalog.listTeams(actorOf(request), { ...request.query, limit: pageSize(request.query.limit) });
    return { teams: page.items.map(presentTeam), next_cursor: page.nextCursor };
  });

  app.post('/teams', {
    config: { permission: 'teams:write' },
    schema: { tags: ['Teams'], body: Type.Object({ name: Name, description: Description }, { additionalProperties: false }), response: { 201: Type.Object({ team: TeamSchema }), ...errors } },
  }, async (request, reply) => reply.code(201).send({ team: presentTeam(await catalog.createTeam(actorOf(request), request.body, contextOf(request))) }));

  app.get('/teams/:id', {
    config: { permission: 'teams:read' },
    schema: { tags: ['Teams'], params: IdParams, response: { 200: Type.Object({ team: TeamSchema }), ...errors } },
  }, async (request) => ({ team: presentTeam(await catalog.showTeam(actorOf(request), request.params.id)) }));

  app.get('/services', {
    config: { permission: 'services:read' },
    schema: { tags: ['Services'], querystring: Type.Object({ ...Paging, team_id: Type.Optional(Type.String({ maxLength: 64 })) }, { additionalProperties: false }), response: { 200: Type.Object({ services: Type.Array(ServiceSchema), next_cursor: Nullable(Type.String()) }), ...errors } },
  }, async (request) => {
    const page = await catalog.listServices(actorOf(request), { ...request.query, limit: pageSize(request.query.limit) });
    return { services: page.items.map(presentService), next_cursor: page.nextCursor };
  });

  app.post('/services', {
    config: { permission: 'services:write' },
    schema: { tags: ['Services'], body: Type.Object({ team_id: Type.String({ maxLength: 64 }), name: Name, description: Description }, { additionalProperties: false }), response: { 201: Type.Object({ service: ServiceSchema }), ...errors } },
  }, async (request, reply) => reply.code(201).send({ service: presentService(await catalog.createService(actorOf(request), request.body, contextOf(request))) }));

  app.get('/services/:id', {
    config: { permission: 'services:read' },
    schema: { tags: ['Services'], params: IdParams, response: { 200: Type.Object({ service: ServiceSchema }), ...errors } },
  }, async (request) => ({ service: presentService(await catalog.showService(actorOf(request), request.params.id)) }));
};

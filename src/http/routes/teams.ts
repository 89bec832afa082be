import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Team } from '../../domain/teams/team.js';
import type { Services } from '../../services.js';
import { AUTH_ERRORS, Cursor, ErrorResponse, IdParams, iso, Limit, Nullable, pageSize, Timestamp, Ulid } from '../schemas/common.js';
import { actorOf, contextOf } from './context.js';

const TeamSchema = Type.Object({ id: Ulid, name: Type.String(), description: Type.String(), created_at: Timestamp, updated_at: Timestamp }, { $id: 'Team' });
const Name = Type.String({ minLength: 1, maxLength: 200 });
const Description = Type.String({ maxLength: 2000 });
const errors = { ...AUTH_ERRORS, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse };
const tags = ['Teams'];
const TeamResponse = Type.Object({ team: TeamSchema });

const presentTeam = (t: Team) => ({ id: t.id, name: t.name, description: t.description, created_at: iso(t.createdAt), updated_at: iso(t.updatedAt) });

export const teamRoutes = (services: Services): FastifyPluginAsyncTypebox => async (app) => {
  const catalog = services.catalog;

  app.get('/teams', {
    config: { permission: 'teams:read' },
    schema: { tags, querystring: Type.Object({ cursor: Type.Optional(Cursor), limit: Type.Optional(Limit) }, { additionalProperties: false }), response: { 200: Type.Object({ teams: Type.Array(TeamSchema), next_cursor: Nullable(Type.String()) }), ...errors } },
  }, async (request) => {
    const page = await catalog.listTeams(actorOf(request), { ...request.query, limit: pageSize(request.query.limit) });
    return { teams: page.items.map(presentTeam), next_cursor: page.nextCursor };
  });

  app.post('/teams', {
    config: { permission: 'teams:write' },
    schema: { tags, body: Type.Object({ name: Name, description: Type.Optional(Description) }, { additionalProperties: false }), response: { 201: TeamResponse, ...errors } },
  }, async (request, reply) => reply.code(201).send({ team: presentTeam(await catalog.createTeam(actorOf(request), request.body, contextOf(request))) }));

  app.get('/teams/:id', {
    config: { permission: 'teams:read' },
    schema: { tags, params: IdParams, response: { 200: TeamResponse, ...errors } },
  }, async (request) => ({ team: presentTeam(await catalog.showTeam(actorOf(request), request.params.id)) }));

  app.patch('/teams/:id', {
    config: { permission: 'teams:write' },
    schema: { tags, params: IdParams, body: Type.Object({ name: Type.Optional(Name), description: Type.Optional(Description) }, { additionalProperties: false, minProperties: 1 }), response: { 200: TeamResponse, ...errors } },
  }, async (request) => ({ team: presentTeam(await catalog.updateTeam(actorOf(request), request.params.id, request.body, contextOf(request))) }));

  app.delete('/teams/:id', {
    config: { permission: 'teams:write' },
    schema: { tags, summary: 'Delete a team that has no services, keys or incidents left', params: IdParams, response: { 204: Type.Null(), ...errors } },
  }, async (request, reply) => {
    await catalog.deleteTeam(actorOf(request), request.params.id, contextOf(request));
    return reply.code(204).send(null);
  });
};

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Actor } from '../../domain/access/actor.js';
import type { User } from '../../domain/users/user.js';
import type { Services } from '../../services.js';
import { AUTH_ERRORS, Cursor, ErrorResponse, IdParams, Limit, Nullable, pageSize } from '../schemas/common.js';
import { AccountRoleSchema, Email, Password, presentUser, TeamRoleSchema, UpdateUserBody, UserName, UserSchema } from '../schemas/user.js';
import { actorOf, contextOf } from './context.js';

const UserResponse = Type.Object({ user: UserSchema });
const errors = { ...AUTH_ERRORS, 400: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse };
const tags = ['Users'];

export const userRoutes = (services: Services): FastifyPluginAsyncTypebox => async (app) => {
  const users = services.users;
  const withTeams = async (actor: Actor, user: User) => {
    const { memberships } = await users.withMemberships(actor, user);
    return { user: presentUser(user, memberships) };
  };
  /** `me` names the caller's own user (signed in, or the owner of a personal token). */
  const resolveId = (id: string, userId: string | null) => (id === 'me' && userId ? userId : id);

  app.get('/users', {
    config: { permission: 'users:read' },
    schema: { tags, querystring: Type.Object({ cursor: Type.Optional(Cursor), limit: Type.Optional(Limit) }, { additionalProperties: false }), response: { 200: Type.Object({ users: Type.Array(UserSchema), next_cursor: Nullable(Type.String()) }), ...errors } },
  }, async (request) => {
    const page = await users.list(actorOf(request), { ...request.query, limit: pageSize(request.query.limit) });
    return { users: page.items.map((u) => presentUser(u)), next_cursor: page.nextCursor };
  });

  app.post('/users', {
    config: { permission: 'users:write' },
    schema: { tags, body: Type.Object({ email: Email, name: Type.Optional(UserName), password: Password, role: Type.Optional(AccountRoleSchema) }, { additionalProperties: false }), response: { 201: UserResponse, ...errors } },
  }, async (request, reply) => reply.code(201).send({ user: presentUser(await users.create(actorOf(request), request.body, contextOf(request)), []) }));

  app.get('/users/:id', {
    schema: { tags, summary: 'A user, with their teams (`me` for the caller)', params: IdParams, response: { 200: UserResponse, ...errors } },
  }, async (request) => {
    const actor = actorOf(request);
    return withTeams(actor, await users.show(actor, resolveId(request.params.id, actor.userId)));
  });

  app.patch('/users/:id', {
    schema: {
      tags, summary: 'Change name and password (own: a password only while signed in, with current_password), or account role (user management)', params: IdParams,
      body: UpdateUserBody,
      response: { 200: UserResponse, ...errors },
    },
  }, async (request) => {
    const actor = actorOf(request);
    return withTeams(actor, await users.update(actor, resolveId(request.params.id, actor.userId), request.body, contextOf(request)));
  });

  app.post('/users/:id/deactivate', {
    config: { permission: 'users:write' },
    schema: { tags, summary: 'Deactivate: signs the user out and stops their personal tokens', params: IdParams, response: { 200: UserResponse, ...errors } },
  }, async (request) => {
    const actor = actorOf(request);
    return withTeams(actor, await users.deactivate(actor, request.params.id, contextOf(request)));
  });

  app.delete('/users/:id', {
    config: { permission: 'users:write' },
    schema: { tags, summary: 'Delete a user: signed out, personal tokens revoked, memberships removed, email set free; kept as a record (status deleted) for the audit trail. Deleting again changes nothing', params: IdParams, response: { 204: Type.Null(), ...errors } },
  }, async (request, reply) => {
    await users.remove(actorOf(request), request.params.id, contextOf(request));
    return reply.code(204).send(null);
  });

  app.get('/teams/:id/members', {
    config: { permission: 'teams:read' },
    schema: { tags: ['Teams'], params: IdParams, response: { 200: Type.Object({ members: Type.Array(Type.Object({ user_id: Type.String(), role: TeamRoleSchema })) }), ...errors } },
  }, async (request) => ({ members: (await users.members(actorOf(request), request.params.id)).map((m) => ({ user_id: m.userId, role: m.role })) }));

  const MemberParams = Type.Object({ id: Type.String({ maxLength: 64 }), user_id: Type.String({ maxLength: 64 }) }, { additionalProperties: false });
  app.put('/teams/:id/members/:user_id', {
    config: { permission: 'teams:write' },
    schema: { tags: ['Teams'], summary: 'Add a user to a team, or change their team role', params: MemberParams, body: Type.Object({ role: TeamRoleSchema }, { additionalProperties: false }), response: { 204: Type.Null(), ...errors } },
  }, async (request, reply) => {
    await users.setMembership(actorOf(request), request.params.id, request.params.user_id, request.body.role, contextOf(request));
    return reply.code(204).send(null);
  });

  app.delete('/teams/:id/members/:user_id', {
    config: { permission: 'teams:write' },
    schema: { tags: ['Teams'], params: MemberParams, response: { 204: Type.Null(), ...errors } },
  }, async (request, reply) => {
    await users.setMembership(actorOf(request), request.params.id, request.params.user_id, null, contextOf(request));
    return reply.code(204).send(null);
  });
};

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { allPermissions } from '../../domain/access/actor.js';
import { ROLES, sortPermissions } from '../../domain/access/permissions.js';
import type { Services } from '../../services.js';
import { ApiKeySchema, PermissionSchema, presentApiKey, RoleNameSchema } from '../schemas/api-key.js';
import { AUTH_ERRORS, Nullable } from '../schemas/common.js';
import { actorOf } from './context.js';

export const IdentityResponse = Type.Object({
  api_key: Nullable(ApiKeySchema),
  user: Nullable(Type.Object({ id: Type.String(), email: Type.String(), name: Type.String(), role: Type.String() })),
  permissions: Type.Array(PermissionSchema, { description: 'what the caller may do right now' }),
});

const RolesResponse = Type.Object({
  roles: Type.Array(Type.Object({ name: RoleNameSchema, description: Type.String(), permissions: Type.Array(PermissionSchema) })),
});

export const identityRoutes = (services: Services): FastifyPluginAsyncTypebox => async (app) => {
  app.get('/identity', {
    schema: { tags: ['Identity'], summary: 'The calling key, its user if any, and its effective permissions', response: { 200: IdentityResponse, ...AUTH_ERRORS } },
  }, async (request) => {
    const actor = actorOf(request);
    const key = request.apiKey;
    const user = actor.userId ? await services.userStore.findById(actor.userId) : undefined;
    return {
      api_key: key ? presentApiKey(key, services.clock.now(), services.recorder.pendingUse(key.id)) : null,
      user: user ? { id: user.id, email: user.email, name: user.name, role: user.role } : null,
      permissions: sortPermissions(allPermissions(actor)),
    };
  });

  app.get('/roles', {
    schema: { tags: ['Identity'], summary: 'Roles and their permissions', response: { 200: RolesResponse, ...AUTH_ERRORS } },
  }, async () => ({ roles: ROLES.map((r) => ({ name: r.name, description: r.description, permissions: [...r.permissions] })) }));
};

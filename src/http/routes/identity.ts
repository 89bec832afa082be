import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { sortedPermissionsOf } from '../../domain/access/actor.js';
import { ROLES } from '../../domain/access/permissions.js';
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
  }, (request) => {
    const actor = actorOf(request);
    const key = request.apiKey;
    const apiKey = key ? presentApiKey(key, request.authenticatedAt ?? services.clock.now(), services.recorder.pendingUse(key.id)) : null;
    const permissions = sortedPermissionsOf(actor);
    // A plain value when there is no user to read: no promise on the token hot path.
    if (!actor.userId) return { api_key: apiKey, user: null, permissions };
    return services.userStore.findById(actor.userId).then((user) => ({
      api_key: apiKey,
      user: user ? { id: user.id, email: user.email, name: user.name, role: user.role } : null,
      permissions,
    }));
  });

  app.get('/roles', {
    schema: { tags: ['Identity'], summary: 'Roles and their permissions', response: { 200: RolesResponse, ...AUTH_ERRORS } },
  }, async () => ({ roles: ROLES.map((r) => ({ name: r.name, description: r.description, permissions: [...r.permissions] })) }));
};

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { sortedPermissionsOf, type Actor } from '../../domain/access/actor.js';
import { PRIVILEGED_ROLES, ROLES, sortPermissions } from '../../domain/access/permissions.js';
import type { Services } from '../../services.js';
import { ApiKeySchema, PermissionSchema, presentApiKey, RoleNameSchema } from '../schemas/api-key.js';
import { AUTH_ERRORS, Nullable } from '../schemas/common.js';
import { actorOf } from './context.js';

/**
 * One place where some of the caller's permissions hold. One schema with optional id lists rather
 * than a union of three: the response serializer would run a validator over every branch of a
 * union on every response (see Nullable in ../schemas/common.ts).
 */
export const IdentityGrantSchema = Type.Object({
  scope: Type.Enum(['global', 'team', 'service'], {
    description: 'global: everywhere; team: in the teams of team_ids and their services; service: in the services of service_ids',
  }),
  team_ids: Type.Optional(Type.Array(Type.String(), { description: 'present when scope is team' })),
  service_ids: Type.Optional(Type.Array(Type.String(), { description: 'present when scope is service' })),
  permissions: Type.Array(PermissionSchema, { description: 'what the caller may do there' }),
}, { description: 'permissions and where they hold' });

export const IdentityResponse = Type.Object({
  api_key: Nullable(ApiKeySchema),
  user: Nullable(Type.Object({ id: Type.String(), email: Type.String(), name: Type.String(), role: Type.String() })),
  permissions: Type.Array(PermissionSchema, { description: 'what the caller may do right now, somewhere: the union of the permissions of grants' }),
  grants: Type.Array(IdentityGrantSchema, {
    description: 'where each permission holds. A permission holds on a resource when a grant lists it and covers the resource: '
      + 'a global grant covers everything, a team grant its teams and their services (with their incidents, workflows and keys), '
      + 'a service grant its services (with their incidents and keys). A team or service grant never covers global resources '
      + '(a global key or workflow, creating a team). The API still decides every call.',
  }),
  may_grant_privileged_roles: Type.Boolean({
    description: 'whether the caller may grant the privileged roles (api_keys_manage, admin; see GET /roles): true for a signed-in owner or admin only, '
      + 'never for an API key, a personal token included. Without it, the API also refuses to edit, rotate, disable or enable a key that holds one.',
  }),
});

export type IdentityGrant = Static<typeof IdentityGrantSchema>;

const deepFreeze = (grants: IdentityGrant[]): void => {
  for (const g of grants) {
    Object.freeze(g.permissions);
    if (g.team_ids) Object.freeze(g.team_ids);
    if (g.service_ids) Object.freeze(g.service_ids);
    Object.freeze(g);
  }
  Object.freeze(grants);
};

const grantsByActor = new WeakMap<Actor, IdentityGrant[]>();

/**
 * The actor's grants as the response shows them, in the actor's order (a user's account role first,
 * then the teams they manage). A reach naming both teams and services, which no grant built today
 * has, becomes two entries with the same permissions. Built once per actor and frozen, as
 * sortedPermissionsOf is: a token's actor is reused for as long as its key and user stay the same.
 * Shared between responses: never to be edited.
 */
export function identityGrantsOf(actor: Actor): IdentityGrant[] {
  let presented = grantsByActor.get(actor);
  if (presented) return presented;
  presented = [];
  for (const { reach, permissions } of actor.grants) {
    if (permissions.size === 0) continue;
    const sorted = sortPermissions(permissions);
    if (reach.global) presented.push({ scope: 'global', permissions: sorted });
    else {
      if (reach.teamIds.size > 0) presented.push({ scope: 'team', team_ids: [...reach.teamIds].sort(), permissions: sorted });
      if (reach.serviceIds.size > 0) presented.push({ scope: 'service', service_ids: [...reach.serviceIds].sort(), permissions: sorted });
    }
  }
  deepFreeze(presented);
  grantsByActor.set(actor, presented);
  return presented;
}

const RolesResponse = Type.Object({
  roles: Type.Array(Type.Object({
    name: RoleNameSchema,
    description: Type.String(),
    permissions: Type.Array(PermissionSchema),
    privileged: Type.Boolean({
      description: 'granted only by a signed-in owner or admin, or the operator CLI (GET /identity: may_grant_privileged_roles), never through an API key',
    }),
  })),
});

export const identityRoutes = (services: Services): FastifyPluginAsyncTypebox => async (app) => {
  app.get('/identity', {
    schema: { tags: ['Identity'], summary: 'The calling key, its user if any, its effective permissions and where each holds', response: { 200: IdentityResponse, ...AUTH_ERRORS } },
  }, (request) => {
    const actor = actorOf(request);
    const key = request.apiKey;
    const apiKey = key ? presentApiKey(key, request.authenticatedAt ?? services.clock.now(), services.recorder.pendingUse(key.id)) : null;
    const permissions = sortedPermissionsOf(actor);
    const grants = identityGrantsOf(actor);
    // A plain value when there is no user to read: no promise on the token hot path.
    const mayGrant = actor.mayGrantPrivilegedRoles;
    if (!actor.userId) return { api_key: apiKey, user: null, permissions, grants, may_grant_privileged_roles: mayGrant };
    return services.userStore.findById(actor.userId).then((user) => ({
      api_key: apiKey,
      user: user ? { id: user.id, email: user.email, name: user.name, role: user.role } : null,
      permissions,
      grants,
      may_grant_privileged_roles: mayGrant,
    }));
  });

  app.get('/roles', {
    schema: { tags: ['Identity'], summary: 'Roles and their permissions', response: { 200: RolesResponse, ...AUTH_ERRORS } },
  }, async () => ({
    roles: ROLES.map((r) => ({ name: r.name, description: r.description, permissions: [...r.permissions], privileged: PRIVILEGED_ROLES.has(r.name) })),
  }));
};

import type { Actor } from '../domain/access/actor.js';
import { reachOfScope } from '../domain/access/scope.js';
import { keyPermissions, type ApiKey } from '../domain/api-keys/api-key.js';
import { intersectGrants, userGrants } from '../domain/users/access.js';
import type { UserAccess } from './user-access.js';

// ApiKey and UserAccess objects are never changed in place: any change to a key or a user puts a
// new object in the caches. So an actor built from these very objects stays right for as long as
// they are the ones the verifier answers with, and is built once rather than on every request.
const actorsOfKeys = new WeakMap<ApiKey, Actor>();
const actorsOfPersonalKeys = new WeakMap<ApiKey, { readonly owner: UserAccess; readonly actor: Actor }>();

/**
 * What a request made with this key may do. A personal token holds its roles only where its user
 * holds them too, decided afresh for the user's access as it is now: demote the user and the token
 * follows (the demotion replaces the UserAccess object, so the remembered actor no longer applies).
 */
export function actorOfKey(key: ApiKey, owner: UserAccess | null = null): Actor {
  if (key.ownerUserId && owner) {
    const remembered = actorsOfPersonalKeys.get(key);
    if (remembered?.owner === owner) return remembered.actor;
    const actor = buildActor(key, owner);
    actorsOfPersonalKeys.set(key, { owner, actor });
    return actor;
  }
  let actor = actorsOfKeys.get(key);
  if (!actor) actorsOfKeys.set(key, (actor = buildActor(key, null)));
  return actor;
}

function buildActor(key: ApiKey, owner: UserAccess | null): Actor {
  const own = keyPermissions(key);
  const grants = key.ownerUserId && owner
    ? intersectGrants(userGrants(owner.user, owner.memberships), own)
    : [{ reach: reachOfScope(key.scope), permissions: own }];
  return Object.freeze({
    ref: Object.freeze({ type: 'api_key' as const, id: key.id, name: key.name }),
    grants: Object.freeze(grants),
    readOnly: key.readOnly,
    expiresAt: key.expiresAt,
    allowedCidrs: key.allowedCidrs,
    mayGrantPrivilegedRoles: false,
    apiKeyId: key.id,
    userId: key.ownerUserId,
  });
}

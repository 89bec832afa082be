import type { Actor } from '../domain/access/actor.js';
import { reachOfScope } from '../domain/access/scope.js';
import { keyPermissions, type ApiKey } from '../domain/api-keys/api-key.js';
import { intersectGrants, userGrants } from '../domain/users/access.js';
import type { UserAccess } from './user-access.js';

/**
 * What a request made with this key may do. A personal token holds its roles only where its user
 * holds them too, decided afresh on every request: demote the user and the token follows.
 */
export function actorOfKey(key: ApiKey, owner: UserAccess | null = null): Actor {
  const own = keyPermissions(key);
  const grants = key.ownerUserId && owner
    ? intersectGrants(userGrants(owner.user, owner.memberships), own)
    : [{ reach: reachOfScope(key.scope), permissions: own }];
  return {
    ref: { type: 'api_key', id: key.id, name: key.name },
    grants,
    readOnly: key.readOnly,
    expiresAt: key.expiresAt,
    mayGrantPrivilegedRoles: false,
    apiKeyId: key.id,
    userId: key.ownerUserId,
  };
}

import type { Actor } from '../domain/access/actor.js';
import { reachOfScope } from '../domain/access/scope.js';
import { keyPermissions, type ApiKey } from '../domain/api-keys/api-key.js';

/** What a request made with this key may do. */
export function actorOfKey(key: ApiKey): Actor {
  return {
    ref: { type: 'api_key', id: key.id, name: key.name },
    grants: [{ reach: reachOfScope(key.scope), permissions: keyPermissions(key) }],
    readOnly: key.readOnly,
    expiresAt: key.expiresAt,
    mayGrantPrivilegedRoles: false,
    apiKeyId: key.id,
    userId: key.ownerUserId,
  };
}

import { systemActor } from '../domain/access/actor.js';
import { PERMISSIONS } from '../domain/access/permissions.js';
import { NO_REQUEST } from '../domain/audit/audit-event.js';
import { LatchkeyError } from '../domain/errors.js';
import type { User } from '../domain/users/user.js';
import type { AuditStore } from '../storage/audit-store.js';
import type { Db } from '../storage/connect.js';
import type { UserStore } from '../storage/user-store.js';
import type { ApiKeyService, IssuedKey } from './api-keys.js';
import { createAuditWriter } from './audit.js';
import { hashPassword } from './passwords.js';
import type { Clock, IdGenerator } from './runtime.js';

export const OPERATOR = systemActor(new Set(PERMISSIONS));

type Deps = { db: Db; users: UserStore; audit: AuditStore; apiKeys: ApiKeyService; clock: Clock; ids: IdGenerator };

/** First-run setup: the owner and a global key with every permission, together or not at all. */
export function createSetupService(deps: Deps) {
  const writeAudit = createAuditWriter({ audit: deps.audit, ids: deps.ids, clock: deps.clock });
  return {
    async init(input: { email: string; password: string; name?: string }): Promise<{ user: User } & IssuedKey> {
      if (!/^[^\s@]+@[^\s@]+$/.test(input.email)) throw new LatchkeyError('validation_failed', 'email is not an address', { field: 'email' });
      if (input.password.length < 12) throw new LatchkeyError('validation_failed', 'password must be at least 12 characters', { field: 'password' });
      const passwordHash = await hashPassword(input.password);
      const now = deps.clock.now();
      const user: User = {
        id: deps.ids(), email: input.email.toLowerCase(), name: input.name ?? input.email.split('@')[0]!,
        role: 'owner', status: 'active', createdAt: now, updatedAt: now,
      };
      return deps.db.transaction().execute(async (trx) => {
        if ((await deps.users.countHoldingWritersOff(trx)) > 0) throw new LatchkeyError('conflict', 'Latchkey is already initialised');
        await deps.users.insert(trx, user, passwordHash);
        await writeAudit(trx, OPERATOR, NO_REQUEST, {
          action: 'user.created', targetType: 'user', targetId: user.id, scope: { type: 'global' }, details: { email: user.email, role: user.role },
        });
        const issued = await deps.apiKeys.create(OPERATOR, {
          name: 'Owner key (from init)', description: `Created by latchkey init for ${user.email}`, scope: 'global', roles: ['admin'],
          // The operator's own key is never throttled in the middle of an incident.
          rate_limit_per_minute: null,
        }, NO_REQUEST, { within: trx });
        return { user, ...issued };
      });
    },
  };
}

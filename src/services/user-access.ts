import type { Membership } from '../domain/users/access.js';
import type { User } from '../domain/users/user.js';
import type { UserStore } from '../storage/user-store.js';
import type { Clock } from './runtime.js';

/** What a personal token's owner may do now: read per request from memory, dropped on any change. */
export type UserAccess = { readonly user: User; readonly memberships: readonly Membership[] };

export function createUserAccessCache(deps: { users: UserStore; clock: Clock; ttlMs: number; maxEntries: number }) {
  const entries = new Map<string, { access: UserAccess | null; expiresAtMs: number }>();
  let generation = 0;

  async function load(userId: string, now: number): Promise<UserAccess | null> {
    const readGeneration = generation;
    const user = await deps.users.findById(userId);
    const access = user ? { user, memberships: await deps.users.membershipsOf(userId) } : null;
    if (readGeneration === generation) {
      if (entries.size >= deps.maxEntries) entries.delete(entries.keys().next().value!);
      entries.set(userId, { access, expiresAtMs: now + deps.ttlMs });
    }
    return access;
  }

  return {
    /** Answers with a plain value when the user is in memory, so the hot path awaits nothing. */
    get(userId: string): UserAccess | null | Promise<UserAccess | null> {
      const now = deps.clock.now().getTime();
      const hit = entries.get(userId);
      if (hit && hit.expiresAtMs > now) return hit.access;
      return load(userId, now);
    },

    invalidate(userId: string): void {
      generation++;
      entries.delete(userId);
    },

    clear(): void {
      generation++;
      entries.clear();
    },
  };
}

export type UserAccessCache = ReturnType<typeof createUserAccessCache>;

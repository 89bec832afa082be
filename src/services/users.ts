import { canIn, hasPermission, reachFor, type Actor } from '../domain/access/actor.js';
import type { RequestContext } from '../domain/audit/audit-event.js';
import { LatchkeyError, notFound } from '../domain/errors.js';
import { isAccountAdmin, type Membership, type TeamRole } from '../domain/users/access.js';
import type { AccountRole, User } from '../domain/users/user.js';
import type { Transaction } from 'kysely';
import type { ApiKeyStore } from '../storage/api-key-store.js';
import type { AuditStore } from '../storage/audit-store.js';
import type { CatalogStore } from '../storage/catalog-store.js';
import type { Database } from '../storage/schema.js';
import type { Db } from '../storage/connect.js';
import type { SessionStore } from '../storage/session-store.js';
import type { UserStore } from '../storage/user-store.js';
import { createAuditWriter, type AuditWriter } from './audit.js';
import type { InvalidationBus } from './invalidation.js';
import { paginate } from './paging.js';
import { hashPassword } from './passwords.js';
import type { Clock, IdGenerator } from './runtime.js';

type Deps = {
  db: Db;
  users: UserStore;
  sessions: SessionStore;
  keys: ApiKeyStore;
  catalog: CatalogStore;
  audit: AuditStore;
  invalidation: InvalidationBus;
  clock: Clock;
  ids: IdGenerator;
  /** Checks a signed-in user's current password (sessions.confirmPassword), counting wrong ones as failed sign-ins. */
  confirmPassword(user: User, password: string | undefined, ip: string): Promise<void>;
};

export const MIN_PASSWORD_LENGTH = 12;
const GLOBAL = { type: 'global' } as const;

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new LatchkeyError('validation_failed', `password must be at least ${MIN_PASSWORD_LENGTH} characters`, { field: 'password' });
  }
}

/** A deleted user is a record for the audit trail: nothing about it changes any more. */
function deletedUserError(): LatchkeyError {
  return new LatchkeyError('conflict', 'this user is deleted: it is kept only as a record for the audit trail');
}

/**
 * Who may give or take an account role: owners and admins are privileged (signed-in owner/admin
 * or the CLI only), and only an owner (or the CLI) touches owners.
 */
function checkRoleChange(actor: Actor, actorIsOwner: boolean, from: AccountRole | null, to: AccountRole): void {
  const roles = [from, to];
  if (roles.some((r) => r === 'owner' || r === 'admin') && !actor.mayGrantPrivilegedRoles) {
    throw new LatchkeyError('escalation_denied', 'owner and admin roles are given or taken only by a signed-in owner or admin, or the operator CLI');
  }
  if (roles.includes('owner') && actor.ref.type !== 'system' && !actorIsOwner) {
    throw new LatchkeyError('escalation_denied', 'only an owner makes or unmakes owners');
  }
}

export function createUserService(deps: Deps) {
  const { db, users, clock } = deps;
  const writeAudit: AuditWriter = createAuditWriter({ audit: deps.audit, ids: deps.ids, clock });

  /** Routes a user may call on themself too (PATCH /users/{id}) carry no permission of their own: checked here. */
  function requireGlobalWrite(actor: Actor): void {
    if (!hasPermission(actor, 'users:write')) {
      throw new LatchkeyError('insufficient_permissions', 'this request needs the users:write permission', { missing_permission: 'users:write' });
    }
    if (!canIn(actor, 'users:write', GLOBAL)) throw new LatchkeyError('out_of_scope', 'managing users needs users:write with global reach');
  }

  /** Users outside the caller's reach answer exactly like users that do not exist. */
  async function visibleUser(actor: Actor, id: string): Promise<User> {
    const user = await users.findById(id);
    if (!user) throw notFound('user');
    if (actor.userId === id) return user;
    const reach = reachFor(actor, 'users:read');
    if (reach.global) return user;
    const teams = (await users.membershipsOf(id)).map((m) => m.teamId);
    if (!teams.some((t) => reach.teamIds.has(t))) throw notFound('user');
    return user;
  }

  /**
   * A password opens a console session with everything its account may do, so setting one takes
   * what giving that account's role takes (an owner's or admin's: a signed-in owner or admin, an
   * owner's: an owner), and one's own takes being signed in: a personal token may be cut down to
   * less than its user, and would otherwise trade itself for all of it.
   */
  async function checkPasswordChange(actor: Actor, user: User, self: boolean, currentPassword: string | undefined, ctx: RequestContext): Promise<void> {
    if (self && actor.ref.type !== 'user') {
      throw new LatchkeyError('escalation_denied', 'a password is changed by its user signed in, never through an API token');
    }
    if (self) await deps.confirmPassword(user, currentPassword, ctx.ip ?? 'unknown');
    if (!self && isAccountAdmin(user)) checkRoleChange(actor, await isSignedInOwner(actor), user.role, user.role);
  }

  /** Only a signed-in owner counts: an owner's personal token is an API key. */
  async function isSignedInOwner(actor: Actor): Promise<boolean> {
    if (actor.ref.type !== 'user' || !actor.userId) return false;
    return (await users.findById(actor.userId))?.role === 'owner';
  }

  async function refuseLosingLastOwner(trx: Transaction<Database>, user: User): Promise<void> {
    if (user.role === 'owner' && (await users.lockActiveOwners(trx)).length <= 1) {
      throw new LatchkeyError('conflict', 'this is the last active owner');
    }
  }

  /**
   * The user as it is inside `trx` (UserStore.lockForChange), for a change decided on what
   * committed meanwhile rather than on `seen`, an earlier read. Every active owner is locked first
   * (there are few), in the one order refuseLosingLastOwner uses: locking the row first would let
   * two owners changing each other at once deadlock, including one promoted since `seen` was read.
   */
  async function lockedUser(trx: Transaction<Database>, seen: User): Promise<User> {
    await users.lockActiveOwners(trx);
    const user = await users.lockForChange(trx, seen.id);
    if (!user) throw notFound('user');
    return user;
  }

  async function end(actor: Actor, id: string, ctx: RequestContext, deleting: boolean): Promise<User> {
    const seen = await visibleUser(actor, id);
    requireGlobalWrite(actor);
    const actorIsOwner = await isSignedInOwner(actor);
    let revoked: string[] = [];
    const ended = await db.transaction().execute(async (trx) => {
      const user = await lockedUser(trx, seen);
      if (user.status === 'deleted') {
        if (deleting) return false;
        throw deletedUserError();
      }
      if (isAccountAdmin(user)) checkRoleChange(actor, actorIsOwner, user.role, user.role);
      if (user.status === 'deactivated' && !deleting) return false;
      if (user.status === 'active') await refuseLosingLastOwner(trx, user);
      const now = clock.now();
      if (deleting) await users.markDeleted(trx, id, now);
      else await users.update(trx, id, { status: 'deactivated', updatedAt: now });
      await deps.sessions.deleteForUser(trx, id);
      if (deleting) {
        const tokens = await deps.keys.revokeOwnedBy(trx, id, now, actor.ref);
        revoked = tokens.map((k) => k.id);
        await users.removeMemberships(trx, id);
        // Each token's own trail says it was revoked, and why, as a revoke by hand would.
        for (const token of tokens) {
          await writeAudit(trx, actor, ctx, {
            action: 'api_key.revoked', targetType: 'api_key', targetId: token.id, scope: GLOBAL,
            details: { reason: 'user_deleted', user_id: id, changes: { state: { from: token.state, to: 'revoked' }, revoked_at: { from: null, to: now }, revoked_by: { from: null, to: actor.ref } } },
          });
        }
      }
      await writeAudit(trx, actor, ctx, {
        action: deleting ? 'user.deleted' : 'user.deactivated', targetType: 'user', targetId: id, scope: GLOBAL,
        details: { email: user.email, ...(deleting && { revoked_api_keys: revoked }) },
      });
      return true;
    });
    if (ended) {
      deps.invalidation.publish({ userId: id });
      for (const keyId of revoked) deps.invalidation.publish({ keyId });
    }
    return (await users.findById(id))!;
  }

  return {
    async create(actor: Actor, input: { email: string; name?: string; password: string; role?: AccountRole }, ctx: RequestContext): Promise<User> {
      requireGlobalWrite(actor);
      const role = input.role ?? 'member';
      checkRoleChange(actor, await isSignedInOwner(actor), null, role);
      checkPassword(input.password);
      const email = input.email.trim().toLowerCase();
      if (await users.emailTaken(email)) throw new LatchkeyError('conflict', `a user with email ${email} exists`);
      const now = clock.now();
      const user: User = { id: deps.ids(), email, name: input.name ?? email.split('@')[0]!, role, status: 'active', createdAt: now, updatedAt: now };
      const passwordHash = await hashPassword(input.password);
      await db.transaction().execute(async (trx) => {
        await users.insert(trx, user, passwordHash);
        await writeAudit(trx, actor, ctx, { action: 'user.created', targetType: 'user', targetId: user.id, scope: GLOBAL, details: { email, role } });
      });
      return user;
    },

    async list(actor: Actor, page: { cursor?: string; limit?: number }) {
      const limit = page.limit ?? 50;
      const reach = reachFor(actor, 'users:read');
      const rows = await users.list({
        limit: limit + 1,
        ...(page.cursor && { before: page.cursor }),
        ...(!reach.global && { teamIds: [...reach.teamIds] }),
      });
      return paginate(rows, limit);
    },

    show: visibleUser,

    /** The user with this address (as sign-in reads it), answering like `show` for one the caller cannot see. */
    async showByEmail(actor: Actor, email: string): Promise<User> {
      const user = await users.findByEmail(email.trim().toLowerCase());
      if (!user) throw notFound('user');
      return visibleUser(actor, user.id);
    },

    /** The user's memberships in teams the caller can see (all of their own): another team answers as if absent. */
    async withMemberships(actor: Actor, user: User): Promise<{ user: User; memberships: Membership[] }> {
      const memberships = await users.membershipsOf(user.id);
      if (actor.userId === user.id) return { user, memberships };
      return { user, memberships: memberships.filter((m) => canIn(actor, 'teams:read', { type: 'team', teamId: m.teamId })) };
    },

    async update(actor: Actor, id: string, input: { name?: string; role?: AccountRole; password?: string; current_password?: string }, ctx: RequestContext): Promise<User> {
      const user = await visibleUser(actor, id);
      const self = actor.userId === id;
      // Everyone keeps their own name and password; anything else is user management.
      if (!self || input.role !== undefined) requireGlobalWrite(actor);
      if (user.status === 'deleted') throw deletedUserError();
      if (input.current_password !== undefined && input.password === undefined) {
        throw new LatchkeyError('validation_failed', 'current_password goes with a new password', { field: 'current_password' });
      }
      if (input.password !== undefined) {
        checkPassword(input.password);
        await checkPasswordChange(actor, user, self, input.current_password, ctx);
      }
      const actorIsOwner = await isSignedInOwner(actor);
      // Refused early on what was read; decided again below on the user as it is then.
      if (input.role !== undefined && input.role !== user.role) checkRoleChange(actor, actorIsOwner, user.role, input.role);
      const passwordHash = input.password === undefined ? undefined : await hashPassword(input.password);
      const changed = await db.transaction().execute(async (trx) => {
        const current = await lockedUser(trx, user);
        if (current.status === 'deleted') throw deletedUserError();
        const changes: { name?: string; role?: AccountRole; passwordHash?: string } = {};
        if (input.name !== undefined && input.name !== current.name) changes.name = input.name;
        if (input.role !== undefined && input.role !== current.role) {
          checkRoleChange(actor, actorIsOwner, current.role, input.role);
          changes.role = input.role;
        }
        if (passwordHash !== undefined) {
          // Promoted meanwhile: an owner's or admin's password takes what giving that role takes.
          if (!self && isAccountAdmin(current)) checkRoleChange(actor, actorIsOwner, current.role, current.role);
          changes.passwordHash = passwordHash;
        }
        // Nothing differs from what is stored: nothing is written, and no event claims a change.
        if (Object.keys(changes).length === 0) return false;
        if (changes.role && current.role === 'owner') await refuseLosingLastOwner(trx, current);
        await users.update(trx, id, { ...changes, updatedAt: clock.now() });
        // A new password signs the user out everywhere.
        if (changes.passwordHash) await deps.sessions.deleteForUser(trx, id);
        await writeAudit(trx, actor, ctx, {
          action: 'user.updated', targetType: 'user', targetId: id, scope: GLOBAL,
          details: {
            ...(changes.name !== undefined && { name: { from: current.name, to: changes.name } }),
            ...(changes.role !== undefined && { role: { from: current.role, to: changes.role } }),
            ...(changes.passwordHash !== undefined && { password: 'changed' }),
          },
        });
        return true;
      });
      if (changed) deps.invalidation.publish({ userId: id });
      return (await users.findById(id))!;
    },

    /** Deactivation signs the user out and stops every personal token on its next request. */
    async deactivate(actor: Actor, id: string, ctx: RequestContext): Promise<User> {
      return end(actor, id, ctx, false);
    },

    /**
     * Deletion: deactivates, revokes every personal token for good and removes team memberships.
     * The user stays as a record, so the audit trail and incidents keep naming who did what.
     */
    async remove(actor: Actor, id: string, ctx: RequestContext): Promise<void> {
      await end(actor, id, ctx, true);
    },

    async members(actor: Actor, teamId: string) {
      const team = await deps.catalog.findTeam(teamId);
      if (!team || !canIn(actor, 'teams:read', { type: 'team', teamId })) throw notFound('team');
      return users.membersOf(teamId);
    },

    /** Team managers (and admins) add people to their team and choose who manages it. */
    async setMembership(actor: Actor, teamId: string, userId: string, role: TeamRole | null, ctx: RequestContext): Promise<void> {
      const scope = { type: 'team', teamId } as const;
      const team = await deps.catalog.findTeam(teamId);
      if (!team || !canIn(actor, 'teams:read', scope)) throw notFound('team');
      if (!canIn(actor, 'teams:write', scope)) throw new LatchkeyError('out_of_scope', 'changing who is in a team needs teams:write in that team');
      const member = await users.findById(userId);
      if (!member) throw notFound('user');
      if (member.status === 'deleted' && role) throw deletedUserError();
      const changed = await db.transaction().execute(async (trx) => {
        // The team locked first: changes to its members take turns, each reading the role the last one left.
        if (!(await deps.catalog.lockTeam(trx, teamId))) throw notFound('team');
        // Then the user, when adding: one deleted meanwhile (its memberships removed) gets none back.
        if (role && (await users.lockForChange(trx, userId))?.status === 'deleted') throw deletedUserError();
        const previous = await users.membershipRole(teamId, userId, trx);
        if (!role && !previous) throw notFound('membership');
        // The role they already hold: nothing is written, and no event claims a change.
        if (role && role === previous) return false;
        if (role) await users.setMembership(trx, teamId, userId, role, clock.now());
        else if (!(await users.removeMembership(trx, teamId, userId))) throw notFound('membership');
        await writeAudit(trx, actor, ctx, {
          action: role ? 'team.member_set' : 'team.member_removed', targetType: 'team', targetId: teamId, scope,
          details: role ? { user_id: userId, role, previous_role: previous ?? null } : { user_id: userId, role: previous },
        });
        return true;
      });
      if (changed) deps.invalidation.publish({ userId });
    },
  };
}

export type UserService = ReturnType<typeof createUserService>;

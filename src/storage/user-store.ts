import { sql, type Selectable, type Transaction } from 'kysely';
import type { Membership, TeamRole } from '../domain/users/access.js';
import type { AccountRole, User, UserStatus } from '../domain/users/user.js';
import type { DatabaseKind, Db } from './connect.js';
import { fromMs, toMs } from './json.js';
import { lockedForChange } from './locks.js';
import type { Database } from './schema.js';

type Executor = Db | Transaction<Database>;

export function rowToUser(row: Selectable<Database['users']>): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role as AccountRole,
    status: row.status as UserStatus,
    createdAt: fromMs(row.created_at),
    updatedAt: fromMs(row.updated_at),
  };
}

export type UserChanges = Partial<Pick<User, 'name' | 'role' | 'status' | 'updatedAt'>> & { passwordHash?: string };

export type UserStore = ReturnType<typeof createUserStore>;

export function createUserStore(db: Db, kind: DatabaseKind) {
  return {
    async insert(trx: Transaction<Database>, user: User, passwordHash: string): Promise<void> {
      await trx.insertInto('users').values({
        id: user.id,
        email: user.email,
        name: user.name,
        password_hash: passwordHash,
        role: user.role,
        status: user.status,
        created_at: toMs(user.createdAt),
        updated_at: toMs(user.updatedAt),
      }).execute();
    },

    async findById(id: string, ex: Executor = db): Promise<User | undefined> {
      const row = await ex.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
      return row && rowToUser(row);
    },

    /** The user as it is now, locked for a change decided on it (lockedForChange). */
    async lockForChange(trx: Transaction<Database>, id: string): Promise<User | undefined> {
      const row = await lockedForChange(kind, trx.selectFrom('users').selectAll().where('id', '=', id)).executeTakeFirst();
      return row && rowToUser(row);
    },

    async findByEmail(email: string): Promise<User | undefined> {
      const row = await db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
      return row && rowToUser(row);
    },

    /** Replaces the password hash with another of the same password, unless the password changed meanwhile; says whether it did. */
    async rehashPassword(id: string, from: string, to: string): Promise<boolean> {
      const result = await db.updateTable('users').set({ password_hash: to }).where('id', '=', id).where('password_hash', '=', from).executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /** For sign-in only: the one read that returns a password hash. */
    async findCredentials(email: string): Promise<{ user: User; passwordHash: string } | undefined> {
      const row = await db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
      return row && { user: rowToUser(row), passwordHash: row.password_hash };
    },

    async emailTaken(email: string): Promise<boolean> {
      return (await db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst()) !== undefined;
    },

    async list(page: { before?: string; limit: number; teamIds?: readonly string[] }): Promise<User[]> {
      let q = db.selectFrom('users').selectAll();
      if (page.teamIds) {
        if (page.teamIds.length === 0) return [];
        const ids = [...page.teamIds];
        q = q.where('id', 'in', (eb) => eb.selectFrom('team_memberships').select('user_id').where('team_id', 'in', ids));
      }
      if (page.before) q = q.where('id', '<', page.before);
      return (await q.orderBy('id', 'desc').limit(page.limit).execute()).map(rowToUser);
    },

    /** Status `deleted`, and the email suffixed with the id: unique still, and free for a new account. */
    async markDeleted(trx: Transaction<Database>, id: string, at: Date): Promise<void> {
      await trx.updateTable('users')
        .set((eb) => ({ status: 'deleted', email: sql<string>`${eb.ref('email')} || ${' (deleted ' + id + ')'}`, updated_at: toMs(at) }))
        .where('id', '=', id).where('status', '<>', 'deleted').execute();
    },

    async update(trx: Transaction<Database>, id: string, changes: UserChanges): Promise<void> {
      await trx.updateTable('users').set({
        ...(changes.name !== undefined && { name: changes.name }),
        ...(changes.role !== undefined && { role: changes.role }),
        ...(changes.status !== undefined && { status: changes.status }),
        ...(changes.passwordHash !== undefined && { password_hash: changes.passwordHash }),
        ...(changes.updatedAt !== undefined && { updated_at: toMs(changes.updatedAt) }),
      }).where('id', '=', id).execute();
    },

    async count(ex: Executor = db): Promise<number> {
      const row = await ex.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return Number(row.n);
    },

    /**
     * Users so far, for first-run setup, with every other writer of users held off until the
     * transaction ends: two `init`s at once (one per replica's entrypoint) take turns, and the
     * second sees the first's owner. PostgreSQL locks the table in a mode that conflicts with
     * itself and with inserts (reads go on); SQLite lets one transaction write at a time.
     */
    async countHoldingWritersOff(trx: Transaction<Database>): Promise<number> {
      if (kind === 'postgres') await sql`LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE`.execute(trx);
      return this.count(trx);
    },

    /**
     * The active owners, locked until the transaction ends, for a change that may end one: two such
     * changes at once (two owners demoting each other) then take turns, and the second counts what
     * the first left. PostgreSQL locks the rows; SQLite lets one transaction write at a time.
     */
    async lockActiveOwners(trx: Transaction<Database>): Promise<string[]> {
      const q = trx.selectFrom('users').select('id').where('role', '=', 'owner').where('status', '=', 'active').orderBy('id'); // one order: no deadlock
      return (await lockedForChange(kind, q).execute()).map((r) => r.id);
    },

    async membershipsOf(userId: string, ex: Executor = db): Promise<Membership[]> {
      const rows = await ex.selectFrom('team_memberships').select(['team_id', 'role']).where('user_id', '=', userId).orderBy('team_id').execute();
      return rows.map((r) => ({ teamId: r.team_id, role: r.role as TeamRole }));
    },

    async membersOf(teamId: string): Promise<Array<{ userId: string; role: TeamRole }>> {
      const rows = await db.selectFrom('team_memberships').select(['user_id', 'role']).where('team_id', '=', teamId).orderBy('user_id').execute();
      return rows.map((r) => ({ userId: r.user_id, role: r.role as TeamRole }));
    },

    async setMembership(trx: Transaction<Database>, teamId: string, userId: string, role: TeamRole, at: Date): Promise<void> {
      await trx.insertInto('team_memberships').values({ team_id: teamId, user_id: userId, role, created_at: toMs(at) })
        .onConflict((oc) => oc.columns(['team_id', 'user_id']).doUpdateSet({ role }))
        .execute();
    },

    /** The user's role in the team, if they are in it. */
    async membershipRole(teamId: string, userId: string, ex: Executor = db): Promise<TeamRole | undefined> {
      const row = await ex.selectFrom('team_memberships').select('role').where('team_id', '=', teamId).where('user_id', '=', userId).executeTakeFirst();
      return row?.role as TeamRole | undefined;
    },

    async removeMemberships(trx: Transaction<Database>, userId: string): Promise<void> {
      await trx.deleteFrom('team_memberships').where('user_id', '=', userId).execute();
    },

    async removeMembership(trx: Transaction<Database>, teamId: string, userId: string): Promise<boolean> {
      const result = await trx.deleteFrom('team_memberships').where('team_id', '=', teamId).where('user_id', '=', userId).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}

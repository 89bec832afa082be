import type { Transaction } from 'kysely';
import type { DatabaseKind, Db } from './connect.js';
import { fromMs, toMs } from './json.js';
import type { Database } from './schema.js';

export type StoredSession = { digest: string; userId: string; createdAt: Date; expiresAt: Date };

export type SessionStore = ReturnType<typeof createSessionStore>;

export function createSessionStore(db: Db, kind: DatabaseKind) {
  return {
    /**
     * Opens a session for a sign-in that checked `passwordHash`, if that is still the user's
     * password and the user is active; else nothing, and false. Done under the user's row lock
     * (PostgreSQL; SQLite lets one transaction write at a time), so a password change committing
     * meanwhile either comes first (and this refuses) or waits and then ends this session too.
     */
    async insertIfCredentialsHold(session: StoredSession & { ip: string | null; userAgent: string | null }, passwordHash: string): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        const q = trx.selectFrom('users').select('id')
          .where('id', '=', session.userId).where('password_hash', '=', passwordHash).where('status', '=', 'active');
        if (!(await (kind === 'postgres' ? q.forShare() : q).executeTakeFirst())) return false;
        await trx.insertInto('sessions').values({
          digest: session.digest, user_id: session.userId, created_at: toMs(session.createdAt), expires_at: toMs(session.expiresAt),
          ip: session.ip, user_agent: session.userAgent,
        }).execute();
        return true;
      });
    },

    async find(digest: string): Promise<StoredSession | undefined> {
      const row = await db.selectFrom('sessions').selectAll().where('digest', '=', digest).executeTakeFirst();
      return row && { digest: row.digest, userId: row.user_id, createdAt: fromMs(row.created_at), expiresAt: fromMs(row.expires_at) };
    },

    async delete(digest: string): Promise<void> {
      await db.deleteFrom('sessions').where('digest', '=', digest).execute();
    },

    /** Signs a user out everywhere (deactivation, password change). Returns the digests removed. */
    async deleteForUser(trx: Transaction<Database>, userId: string): Promise<string[]> {
      const rows = await trx.selectFrom('sessions').select('digest').where('user_id', '=', userId).execute();
      await trx.deleteFrom('sessions').where('user_id', '=', userId).execute();
      return rows.map((r) => r.digest);
    },

    /** Deletes the sessions expired by `now`; says how many. */
    async purgeExpired(now: Date): Promise<number> {
      const result = await db.deleteFrom('sessions').where('expires_at', '<=', toMs(now)).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

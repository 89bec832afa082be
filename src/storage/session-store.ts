import type { Transaction } from 'kysely';
import type { Db } from './connect.js';
import { fromMs, toMs } from './json.js';
import type { Database } from './schema.js';

export type StoredSession = { digest: string; userId: string; createdAt: Date; expiresAt: Date };

export type SessionStore = ReturnType<typeof createSessionStore>;

export function createSessionStore(db: Db) {
  return {
    async insert(session: StoredSession & { ip: string | null; userAgent: string | null }): Promise<void> {
      await db.insertInto('sessions').values({
        digest: session.digest, user_id: session.userId, created_at: toMs(session.createdAt), expires_at: toMs(session.expiresAt),
        ip: session.ip, user_agent: session.userAgent,
      }).execute();
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

    async purgeExpired(now: Date): Promise<void> {
      await db.deleteFrom('sessions').where('expires_at', '<=', toMs(now)).execute();
    },
  };
}

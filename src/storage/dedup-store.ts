import type { Db } from './connect.js';
import { fromMs, toMs } from './json.js';

export type Claim = { claimed: true } | { claimed: false; firstSeenAt: Date };

export type DedupStore = ReturnType<typeof createDedupStore>;

export function createDedupStore(db: Db) {
  return {
    /**
     * Atomically claims a fingerprint for a window: inserts it, or takes over a row whose window
     * has passed. Of two racing identical requests exactly one gets `claimed: true`.
     */
    async claim(keyId: string, fingerprint: string, now: Date, until: Date): Promise<Claim> {
      const at = toMs(now);
      const taken = await db.insertInto('dedup_claims')
        .values({ api_key_id: keyId, fingerprint, first_seen_at: at, expires_at: toMs(until) })
        .onConflict((oc) => oc.columns(['api_key_id', 'fingerprint'])
          .doUpdateSet({ first_seen_at: at, expires_at: toMs(until) })
          .where('dedup_claims.expires_at', '<=', at))
        .returning('first_seen_at')
        .executeTakeFirst();
      if (taken) return { claimed: true };
      const held = await this.peek(keyId, fingerprint, now);
      return { claimed: false, firstSeenAt: held ?? now };
    },

    /** When the fingerprint was first seen in a live window, if it is held. */
    async peek(keyId: string, fingerprint: string, now: Date): Promise<Date | undefined> {
      const row = await db.selectFrom('dedup_claims').select('first_seen_at')
        .where('api_key_id', '=', keyId).where('fingerprint', '=', fingerprint).where('expires_at', '>', toMs(now))
        .executeTakeFirst();
      return row && fromMs(row.first_seen_at);
    },

    /** Gives a claim back (the request it admitted failed, so a retry must get through). */
    async release(keyId: string, fingerprint: string): Promise<void> {
      await db.deleteFrom('dedup_claims').where('api_key_id', '=', keyId).where('fingerprint', '=', fingerprint).execute();
    },

    async purgeExpired(now: Date): Promise<number> {
      const result = await db.deleteFrom('dedup_claims').where('expires_at', '<=', toMs(now)).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

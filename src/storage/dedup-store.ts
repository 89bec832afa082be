import { sql, type RawBuilder, type Transaction } from 'kysely';
import type { Db, DatabaseKind } from './connect.js';
import type { Database } from './schema.js';
import { fromMs, toMs } from './json.js';

export type Claim = { claimed: true } | { claimed: false; firstSeenAt: Date };

export type DedupStore = ReturnType<typeof createDedupStore>;

/** The earliest moment a live claim can have been made at `now`, for a window running to `until`. */
const windowStart = (now: Date, until: Date): number => 2 * toMs(now) - toMs(until);

/** Rows deleted per statement when purging, so a purge never holds the database for long. */
const PURGE_CHUNK = 5000;

export function createDedupStore(db: Db, kind: DatabaseKind) {
  /** Runs a chunk's delete until one deletes less than a chunk. */
  async function purgeChunked(deleteChunk: RawBuilder<unknown>): Promise<number> {
    let total = 0;
    for (;;) {
      const result = await deleteChunk.execute(db);
      const deleted = Number(result.numAffectedRows ?? 0n);
      total += deleted;
      if (deleted < PURGE_CHUNK) return total;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  return {
    /**
     * Atomically claims a fingerprint from `now` until `until` (the key's window now): inserts it,
     * or takes over a row that is no longer live (see `peek`). Of two racing identical requests
     * exactly one gets `claimed: true`.
     */
    async claim(keyId: string, fingerprint: string, now: Date, until: Date, ex: Db | Transaction<Database> = db): Promise<Claim> {
      const at = toMs(now);
      const since = windowStart(now, until);
      const taken = await ex.insertInto('dedup_claims')
        .values({ api_key_id: keyId, fingerprint, first_seen_at: at, expires_at: toMs(until) })
        .onConflict((oc) => oc.columns(['api_key_id', 'fingerprint'])
          .doUpdateSet({ first_seen_at: at, expires_at: toMs(until) })
          .where((eb) => eb.or([eb('dedup_claims.expires_at', '<=', at), eb('dedup_claims.first_seen_at', '<=', since)])))
        .returning('first_seen_at')
        .executeTakeFirst();
      if (taken) return { claimed: true };
      const held = await this.peek(keyId, fingerprint, now, until, ex);
      return { claimed: false, firstSeenAt: held ?? now };
    },

    /**
     * Takes over the live claim first seen at `held` (a repeat that reopens what it repeated: see
     * DedupService.gatedWithin), from `now` until `until`. False when another request took it over
     * first: of two racing repeats exactly one renews.
     */
    async renew(keyId: string, fingerprint: string, held: Date, now: Date, until: Date, ex: Db | Transaction<Database> = db): Promise<boolean> {
      const renewed = await ex.updateTable('dedup_claims').set({ first_seen_at: toMs(now), expires_at: toMs(until) })
        .where('api_key_id', '=', keyId).where('fingerprint', '=', fingerprint).where('first_seen_at', '=', toMs(held))
        .executeTakeFirst();
      return renewed.numUpdatedRows > 0n;
    },

    /**
     * When the fingerprint was first seen, if its claim is live at `now` for a key whose window
     * runs to `until`: its own window (set when it was made) has not passed, and it was made
     * within the key's window as it is now, so a shortened window takes effect at once.
     */
    async peek(keyId: string, fingerprint: string, now: Date, until: Date, ex: Db | Transaction<Database> = db): Promise<Date | undefined> {
      const row = await ex.selectFrom('dedup_claims').select('first_seen_at')
        .where('api_key_id', '=', keyId).where('fingerprint', '=', fingerprint)
        .where('expires_at', '>', toMs(now)).where('first_seen_at', '>', windowStart(now, until))
        .executeTakeFirst();
      return row && fromMs(row.first_seen_at);
    },

    /**
     * Gives back the claim made at `claimedAt` (the request it admitted failed, so a retry must get
     * through). A newer claim on the same body, made after this one's window passed, is not this
     * request's to give back, and stays.
     */
    async release(keyId: string, fingerprint: string, claimedAt: Date): Promise<void> {
      await db.deleteFrom('dedup_claims')
        .where('api_key_id', '=', keyId).where('fingerprint', '=', fingerprint).where('first_seen_at', '=', toMs(claimedAt))
        .execute();
    },

    /**
     * Deletes expired claims a chunk at a time, letting other work run between chunks: from
     * dedup_claims, and in SQLite from the event writer thread's log (dedup_claim_log) too.
     */
    async purgeExpired(now: Date): Promise<number> {
      const at = toMs(now);
      // Which rows: by primary key in SQLite (the table is its key, WITHOUT ROWID), by physical id (ctid) in PostgreSQL.
      const claimRows = kind === 'sqlite' ? '(api_key_id, fingerprint)' : 'ctid';
      const chosen = kind === 'sqlite' ? 'api_key_id, fingerprint' : 'ctid';
      let total = await purgeChunked(sql`delete from dedup_claims where ${sql.raw(claimRows)} in (select ${sql.raw(chosen)} from dedup_claims where expires_at <= ${at} limit ${PURGE_CHUNK})`);
      if (kind === 'sqlite') {
        total += await purgeChunked(sql`delete from dedup_claim_log where id in (select id from dedup_claim_log where expires_at <= ${at} limit ${PURGE_CHUNK})`);
      }
      return total;
    },
  };
}

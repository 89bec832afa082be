import { sql } from 'kysely';
import type { Db } from './connect.js';
import { toMs } from './json.js';

/** What the usage recorder accumulated between two flushes. */
export type UsageBatch = {
  /** Per key: latest use and the address it came from. */
  readonly lastUse: ReadonlyMap<string, { at: Date; ip: string }>;
  /** Per retired token still in its grace: latest use. */
  readonly tokenLastUse: ReadonlyMap<string, Date>;
  /** `keyId|day|outcome` → count. */
  readonly counts: ReadonlyMap<string, { keyId: string; day: string; outcome: string; count: number }>;
};

export type UsageDay = { day: string; outcome: string; count: number };

export type UsageStore = ReturnType<typeof createUsageStore>;

export function createUsageStore(db: Db) {
  return {
    /**
     * One transaction per flush, however many requests it covers. Rows are written in key order
     * (ids, digests), as every other writer of several keys locks them (ApiKeyStore.revokeOwnedBy):
     * in the order of first use, a flush and a user's deletion could each hold a key the other waited for.
     */
    async apply(batch: UsageBatch): Promise<void> {
      const byKey = <V>(entries: Iterable<[string, V]>) => [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      await db.transaction().execute(async (trx) => {
        for (const [keyId, use] of byKey(batch.lastUse)) {
          const at = toMs(use.at);
          await trx.updateTable('api_keys').set({ last_used_at: at, last_used_ip: use.ip })
            .where('id', '=', keyId)
            .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at)]))
            .execute();
        }
        for (const [digest, when] of byKey(batch.tokenLastUse)) {
          const at = toMs(when);
          await trx.updateTable('api_key_tokens').set({ last_used_at: at })
            .where('digest', '=', digest)
            .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at)]))
            .execute();
        }
        for (const [, c] of byKey(batch.counts)) {
          await trx.insertInto('api_key_usage')
            .values({ api_key_id: c.keyId, day: c.day, outcome: c.outcome, count: c.count })
            .onConflict((oc) => oc.columns(['api_key_id', 'day', 'outcome'])
              .doUpdateSet({ count: sql<number>`api_key_usage.count + excluded.count` }))
            .execute();
        }
      });
    },

    async daysOf(keyId: string, fromDay: string): Promise<UsageDay[]> {
      return db.selectFrom('api_key_usage').select(['day', 'outcome', 'count'])
        .where('api_key_id', '=', keyId).where('day', '>=', fromDay)
        .orderBy('day', 'asc').orderBy('outcome', 'asc')
        .execute();
    },
  };
}

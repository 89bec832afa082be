import { sql, SqliteAdapter, type Kysely } from 'kysely';

/**
 * SQLite: the event writer thread's deduplication claims as a log, appended in time order (one
 * page takes a hundred claims), looked up in the thread's memory (claim-index.ts) instead of in a
 * B-tree keyed by a hash, where every claim wrote a random page. AUTOINCREMENT keeps ids rising
 * even when the purge has emptied the table, so the thread can read what other connections
 * appended since the last id it saw. The expiry index serves the purge and the thread's start.
 * Claims still live are copied from dedup_claims, where the thread made them until now (which of
 * them came from the Events API cannot be told from a fingerprint; the others are never asked for
 * there). PostgreSQL has no writer thread and keeps dedup_claims for every claim.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof SqliteAdapter)) return;
  await sql`create table dedup_claim_log (
    id integer primary key autoincrement, api_key_id text not null, fingerprint text not null,
    first_seen_at bigint not null, expires_at bigint not null
  )`.execute(db);
  await db.schema.createIndex('dedup_claim_log_expiry_idx').on('dedup_claim_log').column('expires_at').execute();
  await sql`insert into dedup_claim_log (api_key_id, fingerprint, first_seen_at, expires_at)
    select api_key_id, fingerprint, first_seen_at, expires_at from dedup_claims where expires_at > ${Date.now()} order by first_seen_at`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof SqliteAdapter)) return;
  // Back where the thread looks for them before this migration; a claim in both keeps the later window.
  await sql`insert into dedup_claims (api_key_id, fingerprint, first_seen_at, expires_at)
    select api_key_id, fingerprint, first_seen_at, expires_at from dedup_claim_log where true
    on conflict (api_key_id, fingerprint) do update set first_seen_at = excluded.first_seen_at, expires_at = excluded.expires_at
    where dedup_claims.expires_at < excluded.expires_at`.execute(db);
  await db.schema.dropTable('dedup_claim_log').execute();
}

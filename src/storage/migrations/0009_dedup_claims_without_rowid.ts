import { sql, SqliteAdapter, type Kysely } from 'kysely';

/**
 * SQLite: claims in a WITHOUT ROWID table, the primary key being the table itself. A claim's
 * fingerprint is a hash, so each claim lands on a random page: one tree to write (not a table and
 * its primary-key index) halves what a claim dirties. PostgreSQL keeps its heap and index.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  if (db.getExecutor().adapter instanceof SqliteAdapter) await rebuildClaims(db, sql`without rowid`);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (db.getExecutor().adapter instanceof SqliteAdapter) await rebuildClaims(db, sql``);
}

/** SQLite cannot change a table's kind in place: a new table, the claims copied over, the old one dropped. */
async function rebuildClaims(db: Kysely<unknown>, kind: ReturnType<typeof sql>): Promise<void> {
  await sql`create table dedup_claims_next (
    api_key_id text not null, fingerprint text not null, first_seen_at bigint not null, expires_at bigint not null,
    constraint dedup_claims_pk primary key (api_key_id, fingerprint)
  ) ${kind}`.execute(db);
  await sql`insert into dedup_claims_next (api_key_id, fingerprint, first_seen_at, expires_at)
    select api_key_id, fingerprint, first_seen_at, expires_at from dedup_claims`.execute(db);
  await db.schema.dropTable('dedup_claims').execute();
  await sql`alter table dedup_claims_next rename to dedup_claims`.execute(db);
  await db.schema.createIndex('dedup_claims_expiry_idx').on('dedup_claims').column('expires_at').execute();
}

import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // One row per (key, fingerprint) seen within its window; expired rows are purged.
  await db.schema.createTable('dedup_claims')
    .addColumn('api_key_id', 'text', (c) => c.notNull())
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('first_seen_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('dedup_claims_pk', ['api_key_id', 'fingerprint'])
    .execute();
  await db.schema.createIndex('dedup_claims_expiry_idx').on('dedup_claims').column('expires_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('dedup_claims').execute();
}

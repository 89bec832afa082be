import { sql, type Kysely } from 'kysely';

/**
 * One index for open incidents by dedup key instead of two. The unique (service_id, dedup_key)
 * index and the (dedup_key) one both sat on a random page for every incident opened, and every
 * commit wrote each such page to the log. Led by dedup_key, the one unique index keeps the
 * invariant (at most one open incident per service and dedup key) and serves both lookups: a
 * trigger's (service and key) and an acknowledge's or resolve's (key, any service in reach).
 * Incidents without a dedup key are left out: no lookup asks for them, and the uniqueness never
 * applied to them (NULLs are distinct), but each would still have been written into the index,
 * at its service's place among them.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('incidents_open_by_dedup_key_service_idx').on('incidents').columns(['dedup_key', 'service_id'])
    .unique().where(sql.ref('status'), '!=', 'resolved').where(sql.ref('dedup_key'), 'is not', null).execute();
  await db.schema.dropIndex('incidents_open_dedup_idx').execute();
  await db.schema.dropIndex('incidents_open_by_dedup_key_idx').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('incidents_open_dedup_idx').on('incidents').columns(['service_id', 'dedup_key'])
    .unique().where(sql.ref('status'), '!=', 'resolved').execute();
  await db.schema.createIndex('incidents_open_by_dedup_key_idx').on('incidents').column('dedup_key')
    .where(sql.ref('status'), '!=', 'resolved').execute();
  await db.schema.dropIndex('incidents_open_by_dedup_key_service_idx').execute();
}

import { sql, type Kysely } from 'kysely';

/** Events API acknowledge/resolve find open incidents by dedup key alone, on whichever services are in reach. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('incidents_open_by_dedup_key_idx').on('incidents').column('dedup_key')
    .where(sql.ref('status'), '!=', 'resolved').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('incidents_open_by_dedup_key_idx').execute();
}

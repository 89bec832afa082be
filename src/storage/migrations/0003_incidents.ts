import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('services').addColumn('resolve_filter', 'text').execute();
  await db.schema.alterTable('services').addColumn('field_mapping', 'text').execute();
  // Deleted services stay as records: their incidents keep pointing at them.
  await db.schema.alterTable('services').addColumn('deleted_at', 'bigint').execute();

  await db.schema.createTable('incidents')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('service_id', 'text', (c) => c.notNull().references('services.id'))
    .addColumn('team_id', 'text', (c) => c.notNull().references('teams.id'))
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('severity', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('dedup_key', 'text')
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('acknowledged_at', 'bigint')
    .addColumn('acknowledged_by', 'text')
    .addColumn('resolved_at', 'bigint')
    .addColumn('resolved_by', 'text')
    .addColumn('alert_count', 'integer', (c) => c.notNull())
    .addColumn('last_payload', 'text', (c) => c.notNull())
    .execute();
  // At most one open incident per service and dedup key, even under concurrent triggers.
  await db.schema.createIndex('incidents_open_dedup_idx').on('incidents').columns(['service_id', 'dedup_key'])
    .unique().where(sql.ref('status'), '!=', 'resolved').execute();
  await db.schema.createIndex('incidents_team_idx').on('incidents').columns(['team_id', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('incidents').execute();
  for (const column of ['deleted_at', 'field_mapping', 'resolve_filter']) {
    await db.schema.alterTable('services').dropColumn(column).execute();
  }
}

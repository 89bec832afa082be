import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('api_logs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('api_key_id', 'text', (c) => c.notNull())
    .addColumn('team_id', 'text')
    .addColumn('service_id', 'text')
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('error_code', 'text')
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .addColumn('ip', 'text')
    .addColumn('entry', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('api_logs_key_idx').on('api_logs').columns(['api_key_id', 'id']).execute();
  await db.schema.createIndex('api_logs_at_idx').on('api_logs').column('at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('api_logs').execute();
}

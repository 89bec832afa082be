import { sql, type Kysely } from 'kysely';

/**
 * A deleted workflow stays as a record, as a deleted team or service does: a request's runs point
 * at it (run history is kept), and a run still under way when its workflow was deleted must be
 * stored when it finishes, which a removed row refused on the foreign key. Going down, deleted
 * workflows are removed with their runs, as deleting one did before.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('workflows').addColumn('deleted_at', 'bigint').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`delete from workflow_runs where workflow_id in (select id from workflows where deleted_at is not null)`.execute(db);
  await sql`delete from workflows where deleted_at is not null`.execute(db);
  await db.schema.alterTable('workflows').dropColumn('deleted_at').execute();
}

import type { Kysely } from 'kysely';

/**
 * A deleted team stays as a record, as a deleted service does: its revoked keys (kept for ever as
 * tombstones) and its deleted services still point at it, so removing the row failed on their
 * foreign keys. Its name is set free (suffixed with its id). Going down, deleted teams show again.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('teams').addColumn('deleted_at', 'bigint').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('teams').dropColumn('deleted_at').execute();
}

import { sql, type Kysely } from 'kysely';

/**
 * A deleted user gets a status of its own, `deleted`, where it used to look deactivated, and its
 * email is set free for a new account (the record keeps it, suffixed with the id; the audit trail's
 * `user.deleted` keeps it as it was). Users deleted before this migration are known by that audit
 * event. Going down leaves them deactivated, which is how they looked then; their emails stay
 * suffixed, since a new account may hold the old address by now.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // Down and up again: the suffix is there already.
  await sql`update users set status = 'deleted',
      email = case when email like ('%' || ' (deleted ' || id || ')') then email else email || ' (deleted ' || id || ')' end
    where status <> 'deleted' and id in (select target_id from audit_events where action = 'user.deleted' and target_type = 'user')`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`update users set status = 'deactivated' where status = 'deleted'`.execute(db);
}

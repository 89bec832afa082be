import { Migrator, PostgresAdapter, sql, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely';
import type { Db } from './connect.js';
import * as initial from './migrations/0001_initial.js';
import * as usersAndSessions from './migrations/0002_users_and_sessions.js';
import * as incidents from './migrations/0003_incidents.js';
import * as workflows from './migrations/0004_workflows.js';
import * as dedup from './migrations/0005_dedup.js';
import * as apiLogs from './migrations/0006_api_logs.js';
import * as changeEvents from './migrations/0007_change_events.js';
import * as openIncidentsByDedupKey from './migrations/0008_open_incidents_by_dedup_key.js';
import * as dedupClaimsWithoutRowid from './migrations/0009_dedup_claims_without_rowid.js';
import * as oneOpenIncidentIndex from './migrations/0010_one_open_incident_index.js';
import * as dedupClaimLog from './migrations/0011_dedup_claim_log.js';
import * as deletedUsers from './migrations/0012_deleted_users.js';
import * as deletedTeams from './migrations/0013_deleted_teams.js';
import * as deletedWorkflows from './migrations/0014_deleted_workflows.js';

const MIGRATIONS: Record<string, Migration> = {
  '0001_initial': initial,
  '0002_users_and_sessions': usersAndSessions,
  '0003_incidents': incidents,
  '0004_workflows': workflows,
  '0005_dedup': dedup,
  '0006_api_logs': apiLogs,
  '0007_change_events': changeEvents,
  '0008_open_incidents_by_dedup_key': openIncidentsByDedupKey,
  '0009_dedup_claims_without_rowid': dedupClaimsWithoutRowid,
  '0010_one_open_incident_index': oneOpenIncidentIndex,
  '0011_dedup_claim_log': dedupClaimLog,
  '0012_deleted_users': deletedUsers,
  '0013_deleted_teams': deletedTeams,
  '0014_deleted_workflows': deletedWorkflows,
};

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

const INVALID_SCHEMA_NAME = '3F000';

/** Brings the schema up to date; safe to run on every start and from several instances. */
export async function migrateToLatest(db: Db): Promise<string[]> {
  return migrate(db, (migrator) => migrator.migrateToLatest());
}

/** Brings the schema to `name` (up or down): for checking that a migration keeps what is there. */
export async function migrateTo(db: Db, name: keyof typeof MIGRATIONS & string): Promise<string[]> {
  return migrate(db, (migrator) => migrator.migrateTo(name));
}

async function migrate(db: Db, step: (migrator: Migrator) => Promise<MigrationResultSet>): Promise<string[]> {
  // Kysely looks for its bookkeeping tables in every schema unless told which: another schema's
  // tables (another app, or another instance in its own schema) would hide ours.
  const schema = db.getExecutor().adapter instanceof PostgresAdapter
    ? (await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db)).rows[0]?.schema ?? undefined
    : undefined;
  const migrator = new Migrator({ db, provider, ...(schema && { migrationTableSchema: schema }) });
  for (let attempt = 1; ; attempt++) {
    const { error, results } = await step(migrator);
    // That look through every schema fails if another schema is dropped meanwhile (3F000):
    // nothing of ours changed, so look again.
    if (error && (error as { code?: string }).code === INVALID_SCHEMA_NAME && attempt < 5) continue;
    if (error) throw error instanceof Error ? error : new Error(String(error));
    return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  }
}

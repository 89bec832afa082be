import type { Selectable, Transaction } from 'kysely';
import type { Reach } from '../domain/access/scope.js';
import type { Filter } from '../domain/filters/index.js';
import type { FieldMapping, Service } from '../domain/services/service.js';
import type { Team } from '../domain/teams/team.js';
import type { DatabaseKind, Db } from './connect.js';
import { fromMs, toMs } from './json.js';
import { lockedForChange } from './locks.js';
import type { Database } from './schema.js';

export function rowToTeam(row: Selectable<Database['teams']>): Team {
  return { id: row.id, name: row.name, description: row.description, createdAt: fromMs(row.created_at), updatedAt: fromMs(row.updated_at) };
}

export function rowToService(row: Selectable<Database['services']>): Service {
  return {
    id: row.id,
    teamId: row.team_id,
    name: row.name,
    description: row.description,
    apiFilter: parseStoredFilter(row.api_filter),
    resolveFilter: parseStoredFilter(row.resolve_filter),
    fieldMapping: row.field_mapping === null ? {} : (JSON.parse(row.field_mapping) as FieldMapping),
    createdAt: fromMs(row.created_at),
    updatedAt: fromMs(row.updated_at),
  };
}

/** Stored filters were validated on write. */
const parseStoredFilter = (text: string | null): Filter | null => (text === null ? null : (JSON.parse(text) as Filter));
const filterText = (filter: Filter | null): string | null => (filter === null ? null : JSON.stringify(filter));

export type ServiceChanges = Partial<Pick<Service, 'name' | 'description' | 'apiFilter' | 'resolveFilter' | 'fieldMapping' | 'updatedAt'>>;
export type TeamChanges = Partial<Pick<Team, 'name' | 'description' | 'updatedAt'>>;

export type Page = { readonly before?: string; readonly limit: number };

export type CatalogStore = ReturnType<typeof createCatalogStore>;

/** Teams and the services they own. */
export function createCatalogStore(db: Db, kind: DatabaseKind) {
  return {
    async insertTeam(trx: Transaction<Database>, team: Team): Promise<void> {
      await trx.insertInto('teams').values({
        id: team.id, name: team.name, description: team.description, created_at: toMs(team.createdAt), updated_at: toMs(team.updatedAt), deleted_at: null,
      }).execute();
    },

    /**
     * A team that has not been deleted. Read in the transaction that adds something to the team,
     * after the insert (whose foreign key check waits for a delete of the team that is committing):
     * a deleted team's row stays, so the foreign key alone no longer refuses what joins it.
     */
    async findTeam(id: string, ex: Db | Transaction<Database> = db): Promise<Team | undefined> {
      const row = await ex.selectFrom('teams').selectAll().where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
      return row && rowToTeam(row);
    },

    /** The team, not deleted, locked for a change decided on it (lockedForChange). */
    async lockTeam(trx: Transaction<Database>, id: string): Promise<Team | undefined> {
      const row = await lockedForChange(kind, trx.selectFrom('teams').selectAll().where('id', '=', id).where('deleted_at', 'is', null)).executeTakeFirst();
      return row && rowToTeam(row);
    },

    async teamNameTaken(name: string): Promise<boolean> {
      return (await db.selectFrom('teams').select('id').where('name', '=', name).executeTakeFirst()) !== undefined;
    },

    async listTeams(reach: Reach, page: Page): Promise<Team[]> {
      let q = db.selectFrom('teams').selectAll().where('deleted_at', 'is', null);
      if (!reach.global) {
        const ids = [...reach.teamIds];
        if (ids.length === 0) return [];
        q = q.where('id', 'in', ids);
      }
      if (page.before) q = q.where('id', '<', page.before);
      return (await q.orderBy('id', 'desc').limit(page.limit).execute()).map(rowToTeam);
    },

    async insertService(trx: Transaction<Database>, service: Service): Promise<void> {
      await trx.insertInto('services').values({
        id: service.id,
        team_id: service.teamId,
        name: service.name,
        description: service.description,
        api_filter: filterText(service.apiFilter),
        resolve_filter: filterText(service.resolveFilter),
        field_mapping: JSON.stringify(service.fieldMapping),
        deleted_at: null,
        created_at: toMs(service.createdAt),
        updated_at: toMs(service.updatedAt),
      }).execute();
    },

    async updateTeam(trx: Transaction<Database>, id: string, changes: TeamChanges): Promise<void> {
      await trx.updateTable('teams').set({
        ...(changes.name !== undefined && { name: changes.name }),
        ...(changes.description !== undefined && { description: changes.description }),
        ...(changes.updatedAt !== undefined && { updated_at: toMs(changes.updatedAt) }),
      }).where('id', '=', id).execute();
    },

    /**
     * Deleted teams stay (their revoked keys and deleted services point at them), renamed so the
     * name is free again; their memberships go.
     */
    async deleteTeam(trx: Transaction<Database>, team: Team, at: Date): Promise<void> {
      // The team row first, as a membership change locks it (UserService.setMembership): taken in
      // the other order, a delete and a membership change each held what the other waited for.
      await trx.updateTable('teams').set({ deleted_at: toMs(at), name: `${team.name} (deleted ${team.id})` })
        .where('id', '=', team.id).execute();
      await trx.deleteFrom('team_memberships').where('team_id', '=', team.id).execute();
    },

    /** What still lives in a team: it can be deleted only when nothing does. */
    async teamDependents(id: string, ex: Db | Transaction<Database> = db): Promise<{ services: number; keys: number; incidents: number; workflows: number }> {
      const count = async (table: 'services' | 'api_keys' | 'incidents' | 'workflows') => {
        let q = ex.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where('team_id', '=', id);
        if (table === 'services' || table === 'workflows') q = q.where('deleted_at', 'is', null);
        if (table === 'api_keys') q = q.where('state', '!=', 'revoked');
        return Number((await q.executeTakeFirstOrThrow()).n);
      };
      return { services: await count('services'), keys: await count('api_keys'), incidents: await count('incidents'), workflows: await count('workflows') };
    },

    /** Changes a live service; false when it has been deleted (on PostgreSQL, by a delete this waited for). */
    async updateService(trx: Transaction<Database>, id: string, changes: ServiceChanges): Promise<boolean> {
      const result = await trx.updateTable('services').set({
        ...(changes.name !== undefined && { name: changes.name }),
        ...(changes.description !== undefined && { description: changes.description }),
        ...(changes.apiFilter !== undefined && { api_filter: filterText(changes.apiFilter) }),
        ...(changes.resolveFilter !== undefined && { resolve_filter: filterText(changes.resolveFilter) }),
        ...(changes.fieldMapping !== undefined && { field_mapping: JSON.stringify(changes.fieldMapping) }),
        ...(changes.updatedAt !== undefined && { updated_at: toMs(changes.updatedAt) }),
      }).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /**
     * Deleted services stay (their incidents point at them), renamed so the name is free again.
     * False when it was deleted already (by a delete this waited for).
     */
    async deleteService(trx: Transaction<Database>, service: Service, at: Date): Promise<boolean> {
      const result = await trx.updateTable('services').set({ deleted_at: toMs(at), name: `${service.name} (deleted ${service.id})` })
        .where('id', '=', service.id).where('deleted_at', 'is', null).executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async liveKeysOfService(id: string): Promise<number> {
      const row = await db.selectFrom('api_keys').select((eb) => eb.fn.countAll<number>().as('n'))
        .where('service_id', '=', id).where('state', '!=', 'revoked').executeTakeFirstOrThrow();
      return Number(row.n);
    },

    /** Every live service: what incident routing compiles and indexes. */
    async allServices(): Promise<Service[]> {
      return (await db.selectFrom('services').selectAll().where('deleted_at', 'is', null).execute()).map(rowToService);
    },

    async findService(id: string): Promise<Service | undefined> {
      const row = await db.selectFrom('services').selectAll().where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
      return row && rowToService(row);
    },

    /** The service, not deleted, locked for a change decided on it (lockedForChange). */
    async lockService(trx: Transaction<Database>, id: string): Promise<Service | undefined> {
      const row = await lockedForChange(kind, trx.selectFrom('services').selectAll().where('id', '=', id).where('deleted_at', 'is', null)).executeTakeFirst();
      return row && rowToService(row);
    },

    async serviceNameTaken(teamId: string, name: string): Promise<boolean> {
      const row = await db.selectFrom('services').select('id').where('team_id', '=', teamId).where('name', '=', name).executeTakeFirst();
      return row !== undefined;
    },

    async listServices(reach: Reach, filter: Page & { teamId?: string }): Promise<Service[]> {
      let q = db.selectFrom('services').selectAll().where('deleted_at', 'is', null);
      if (!reach.global) {
        const teamIds = [...reach.teamIds];
        const serviceIds = [...reach.serviceIds];
        if (teamIds.length === 0 && serviceIds.length === 0) return [];
        q = q.where((eb) => eb.or([
          ...(teamIds.length ? [eb('team_id', 'in', teamIds)] : []),
          ...(serviceIds.length ? [eb('id', 'in', serviceIds)] : []),
        ]));
      }
      if (filter.teamId) q = q.where('team_id', '=', filter.teamId);
      if (filter.before) q = q.where('id', '<', filter.before);
      return (await q.orderBy('id', 'desc').limit(filter.limit).execute()).map(rowToService);
    },
  };
}

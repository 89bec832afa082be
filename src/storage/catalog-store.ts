import type { Selectable, Transaction } from 'kysely';
import type { Reach } from '../domain/access/scope.js';
import type { Service } from '../domain/services/service.js';
import type { Team } from '../domain/teams/team.js';
import type { Db } from './connect.js';
import { fromMs, toMs } from './json.js';
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
    apiFilter: row.api_filter === null ? null : (JSON.parse(row.api_filter) as unknown),
    createdAt: fromMs(row.created_at),
    updatedAt: fromMs(row.updated_at),
  };
}

export type Page = { readonly before?: string; readonly limit: number };

export type CatalogStore = ReturnType<typeof createCatalogStore>;

/** Teams and the services they own. */
export function createCatalogStore(db: Db) {
  return {
    async insertTeam(trx: Transaction<Database>, team: Team): Promise<void> {
      await trx.insertInto('teams').values({
        id: team.id, name: team.name, description: team.description, created_at: toMs(team.createdAt), updated_at: toMs(team.updatedAt),
      }).execute();
    },

    async findTeam(id: string): Promise<Team | undefined> {
      const row = await db.selectFrom('teams').selectAll().where('id', '=', id).executeTakeFirst();
      return row && rowToTeam(row);
    },

    async teamNameTaken(name: string): Promise<boolean> {
      return (await db.selectFrom('teams').select('id').where('name', '=', name).executeTakeFirst()) !== undefined;
    },

    async listTeams(reach: Reach, page: Page): Promise<Team[]> {
      let q = db.selectFrom('teams').selectAll();
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
        api_filter: service.apiFilter === null ? null : JSON.stringify(service.apiFilter),
        created_at: toMs(service.createdAt),
        updated_at: toMs(service.updatedAt),
      }).execute();
    },

    async findService(id: string): Promise<Service | undefined> {
      const row = await db.selectFrom('services').selectAll().where('id', '=', id).executeTakeFirst();
      return row && rowToService(row);
    },

    async serviceNameTaken(teamId: string, name: string): Promise<boolean> {
      const row = await db.selectFrom('services').select('id').where('team_id', '=', teamId).where('name', '=', name).executeTakeFirst();
      return row !== undefined;
    },

    async listServices(reach: Reach, filter: Page & { teamId?: string }): Promise<Service[]> {
      let q = db.selectFrom('services').selectAll();
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

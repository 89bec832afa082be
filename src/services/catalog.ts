import { canIn, reachFor, type Actor } from '../domain/access/actor.js';
import type { Scope } from '../domain/access/scope.js';
import type { RequestContext } from '../domain/audit/audit-event.js';
import { LatchkeyError, notFound } from '../domain/errors.js';
import type { Service } from '../domain/services/service.js';
import type { Team } from '../domain/teams/team.js';
import type { AuditStore } from '../storage/audit-store.js';
import type { CatalogStore } from '../storage/catalog-store.js';
import type { Db } from '../storage/connect.js';
import { isUniqueViolation } from '../storage/unique-violation.js';
import { createAuditWriter } from './audit.js';
import { paginate } from './paging.js';
import type { Clock, IdGenerator } from './runtime.js';

type Deps = { db: Db; catalog: CatalogStore; audit: AuditStore; clock: Clock; ids: IdGenerator };

export type Paging = { cursor?: string; limit?: number };

const teamScope = (team: Team): Scope => ({ type: 'team', teamId: team.id });
const serviceScope = (s: Service): Scope => ({ type: 'service', teamId: s.teamId, serviceId: s.id });

/** The name checks race concurrent creates: the unique constraint has the last word, as a 409. */
function conflictOnDuplicate(message: string) {
  return (error: unknown): never => {
    throw isUniqueViolation(error) ? new LatchkeyError('conflict', message) : error;
  };
}

/** Teams and services: what team- and service-scoped keys point at. */
export function createCatalogService(deps: Deps) {
  const { db, catalog, clock } = deps;
  const writeAudit = createAuditWriter({ audit: deps.audit, ids: deps.ids, clock });

  return {
    async createTeam(actor: Actor, input: { name: string; description?: string }, ctx: RequestContext): Promise<Team> {
      if (!canIn(actor, 'teams:write', { type: 'global' })) throw new LatchkeyError('out_of_scope', 'only a caller with global reach creates teams');
      if (await catalog.teamNameTaken(input.name)) throw new LatchkeyError('conflict', `a team named "${input.name}" exists`);
      const now = clock.now();
      const team: Team = { id: deps.ids(), name: input.name, description: input.description ?? '', createdAt: now, updatedAt: now };
      await db.transaction().execute(async (trx) => {
        await catalog.insertTeam(trx, team);
        await writeAudit(trx, actor, ctx, { action: 'team.created', targetType: 'team', targetId: team.id, scope: teamScope(team), details: { name: team.name } });
      }).catch(conflictOnDuplicate(`a team named "${input.name}" exists`));
      return team;
    },

    async showTeam(actor: Actor, id: string): Promise<Team> {
      const team = await catalog.findTeam(id);
      if (!team || !canIn(actor, 'teams:read', teamScope(team))) throw notFound('team');
      return team;
    },

    async listTeams(actor: Actor, page: Paging) {
      const limit = page.limit ?? 50;
      const rows = await catalog.listTeams(reachFor(actor, 'teams:read'), { limit: limit + 1, ...(page.cursor && { before: page.cursor }) });
      return paginate(rows, limit);
    },

    async createService(actor: Actor, input: { team_id: string; name: string; description?: string }, ctx: RequestContext): Promise<Service> {
      const team = await catalog.findTeam(input.team_id);
      if (!team || !canIn(actor, 'teams:read', teamScope(team))) {
        if (!reachFor(actor, 'services:write').global) throw new LatchkeyError('out_of_scope', 'the team lies outside what the caller reaches');
        throw notFound('team');
      }
      if (!canIn(actor, 'services:write', teamScope(team))) throw new LatchkeyError('out_of_scope', 'the team lies outside what the caller may change');
      if (await catalog.serviceNameTaken(team.id, input.name)) throw new LatchkeyError('conflict', `team "${team.name}" has a service named "${input.name}"`);
      const now = clock.now();
      const service: Service = {
        id: deps.ids(), teamId: team.id, name: input.name, description: input.description ?? '', apiFilter: null, createdAt: now, updatedAt: now,
      };
      await db.transaction().execute(async (trx) => {
        await catalog.insertService(trx, service);
        await writeAudit(trx, actor, ctx, { action: 'service.created', targetType: 'service', targetId: service.id, scope: serviceScope(service), details: { name: service.name } });
      }).catch(conflictOnDuplicate(`team "${team.name}" has a service named "${input.name}"`));
      return service;
    },

    async showService(actor: Actor, id: string): Promise<Service> {
      const service = await catalog.findService(id);
      if (!service || !canIn(actor, 'services:read', serviceScope(service))) throw notFound('service');
      return service;
    },

    async listServices(actor: Actor, page: Paging & { team_id?: string }) {
      const limit = page.limit ?? 50;
      const rows = await catalog.listServices(reachFor(actor, 'services:read'), {
        limit: limit + 1, ...(page.cursor && { before: page.cursor }), ...(page.team_id && { teamId: page.team_id }),
      });
      return paginate(rows, limit);
    },
  };
}

export type CatalogService = ReturnType<typeof createCatalogService>;

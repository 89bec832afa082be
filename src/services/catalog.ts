import { canIn, reachFor, type Actor } from '../domain/access/actor.js';
import type { Scope } from '../domain/access/scope.js';
import type { RequestContext } from '../domain/audit/audit-event.js';
import { LatchkeyError, notFound } from '../domain/errors.js';
import { parseFieldPath, type FilterExplanation } from '../domain/filters/index.js';
import type { FieldMapping, Service } from '../domain/services/service.js';
import type { Team } from '../domain/teams/team.js';
import type { AuditStore } from '../storage/audit-store.js';
import type { CatalogStore, ServiceChanges } from '../storage/catalog-store.js';
import type { Db } from '../storage/connect.js';
import { isUniqueViolation } from '../storage/unique-violation.js';
import { createAuditWriter, fieldChanges } from './audit.js';
import { filterFromInput } from './filter-input.js';
import type { InvalidationBus } from './invalidation.js';
import { paginate } from './paging.js';
import type { ServiceRouter } from './routing.js';
import type { Clock, IdGenerator } from './runtime.js';

type Deps = { db: Db; catalog: CatalogStore; audit: AuditStore; router: ServiceRouter; invalidation: InvalidationBus; clock: Clock; ids: IdGenerator };

export type Paging = { cursor?: string; limit?: number };

export type ServiceInput = {
  name?: string;
  description?: string;
  api_filter?: unknown;
  resolve_filter?: unknown;
  field_mapping?: FieldMapping;
};

const teamScope = (teamId: string): Scope => ({ type: 'team', teamId });
const serviceScope = (s: Service): Scope => ({ type: 'service', teamId: s.teamId, serviceId: s.id });

/** The name checks race concurrent creates: the unique constraint has the last word, as a 409. */
function conflictOnDuplicate(message: string) {
  return (error: unknown): never => {
    throw isUniqueViolation(error) ? new LatchkeyError('conflict', message) : error;
  };
}

function mappingFrom(mapping: FieldMapping): FieldMapping {
  const errors = Object.entries(mapping).flatMap(([field, path]) => {
    const parsed = parseFieldPath(path as string);
    return parsed.ok ? [] : [{ field: `field_mapping.${field}`, message: parsed.message }];
  });
  if (errors.length > 0) throw new LatchkeyError('validation_failed', `${errors[0]!.field}: ${errors[0]!.message}`, { problems: errors });
  return mapping;
}

function serviceChanges(input: ServiceInput): ServiceChanges {
  return {
    ...(input.name !== undefined && { name: input.name }),
    ...(input.description !== undefined && { description: input.description }),
    ...(input.api_filter !== undefined && { apiFilter: filterFromInput('api_filter', input.api_filter) }),
    ...(input.resolve_filter !== undefined && { resolveFilter: filterFromInput('resolve_filter', input.resolve_filter) }),
    ...(input.field_mapping !== undefined && { fieldMapping: mappingFrom(input.field_mapping) }),
  };
}

/** Teams and the services they own, with the filters that route incidents to them. */
export function createCatalogService(deps: Deps) {
  const { db, catalog, clock } = deps;
  const writeAudit = createAuditWriter({ audit: deps.audit, ids: deps.ids, clock });

  /** Anything outside the caller's reach answers exactly like something that does not exist. */
  async function visibleTeam(actor: Actor, id: string): Promise<Team> {
    const team = await catalog.findTeam(id);
    if (!team || !canIn(actor, 'teams:read', teamScope(team.id))) throw notFound('team');
    return team;
  }

  async function visibleService(actor: Actor, id: string): Promise<Service> {
    const service = await catalog.findService(id);
    if (!service || !canIn(actor, 'services:read', serviceScope(service))) throw notFound('service');
    return service;
  }

  function requireIn(actor: Actor, permission: 'teams:write' | 'services:write', scope: Scope): void {
    if (!canIn(actor, permission, scope)) throw new LatchkeyError('out_of_scope', `this change needs ${permission} in that ${scope.type}`);
  }

  function serviceChanged(id: string): void {
    deps.invalidation.publish({ serviceId: id });
  }

  return {
    async createTeam(actor: Actor, input: { name: string; description?: string }, ctx: RequestContext): Promise<Team> {
      requireIn(actor, 'teams:write', { type: 'global' });
      if (await catalog.teamNameTaken(input.name)) throw new LatchkeyError('conflict', `a team named "${input.name}" exists`);
      const now = clock.now();
      const team: Team = { id: deps.ids(), name: input.name, description: input.description ?? '', createdAt: now, updatedAt: now };
      await db.transaction().execute(async (trx) => {
        await catalog.insertTeam(trx, team);
        await writeAudit(trx, actor, ctx, { action: 'team.created', targetType: 'team', targetId: team.id, scope: teamScope(team.id), details: { name: team.name } });
      }).catch(conflictOnDuplicate(`a team named "${input.name}" exists`));
      return team;
    },

    showTeam: visibleTeam,

    async listTeams(actor: Actor, page: Paging) {
      const limit = page.limit ?? 50;
      const rows = await catalog.listTeams(reachFor(actor, 'teams:read'), { limit: limit + 1, ...(page.cursor && { before: page.cursor }) });
      return paginate(rows, limit);
    },

    async updateTeam(actor: Actor, id: string, input: { name?: string; description?: string }, ctx: RequestContext): Promise<Team> {
      const team = await visibleTeam(actor, id);
      requireIn(actor, 'teams:write', teamScope(id));
      // Names are unique across teams, so a refused rename says another team has the name: only
      // a caller who may read every team (and so sees every name already) may rename. A team's
      // own key may still change its description.
      if (input.name !== undefined && input.name !== team.name && !reachFor(actor, 'teams:read').global) {
        throw new LatchkeyError('global_token_required', 'renaming a team needs teams:read over every team (team names are unique across teams): a global key, or a signed-in user');
      }
      // Nothing differs from what is stored: nothing is written, and no event claims a change.
      if ((input.name ?? team.name) === team.name && (input.description ?? team.description) === team.description) return team;
      await db.transaction().execute(async (trx) => {
        await catalog.updateTeam(trx, id, { ...input, updatedAt: clock.now() });
        await writeAudit(trx, actor, ctx, { action: 'team.updated', targetType: 'team', targetId: id, scope: teamScope(id), details: { from: { name: team.name, description: team.description }, to: input } });
      }).catch(conflictOnDuplicate(`a team named "${input.name}" exists`));
      return (await catalog.findTeam(id))!;
    },

    /** Only an empty team goes: its services, keys, incidents and workflows would otherwise be orphaned. */
    async deleteTeam(actor: Actor, id: string, ctx: RequestContext): Promise<void> {
      const team = await visibleTeam(actor, id);
      requireIn(actor, 'teams:write', { type: 'global' });
      await db.transaction().execute(async (trx) => {
        // Marked deleted first, then counted: what joined the team before the mark is counted (on
        // PostgreSQL the mark waits for it to commit), and what comes after finds it deleted.
        await catalog.deleteTeam(trx, team, clock.now());
        const dependents = await catalog.teamDependents(id, trx);
        if (dependents.services + dependents.keys + dependents.incidents + dependents.workflows > 0) {
          throw new LatchkeyError('conflict', `team "${team.name}" still has ${dependents.services} services, ${dependents.keys} live API keys, ${dependents.incidents} incidents and ${dependents.workflows} workflows`, dependents);
        }
        await writeAudit(trx, actor, ctx, { action: 'team.deleted', targetType: 'team', targetId: id, scope: teamScope(id), details: { name: team.name } });
      });
    },

    async createService(actor: Actor, input: ServiceInput & { team_id: string; name: string }, ctx: RequestContext): Promise<Service> {
      const team = await catalog.findTeam(input.team_id);
      if (!team || !canIn(actor, 'teams:read', teamScope(input.team_id))) {
        if (!reachFor(actor, 'services:write').global) throw new LatchkeyError('out_of_scope', 'the team lies outside what the caller reaches');
        throw notFound('team');
      }
      requireIn(actor, 'services:write', teamScope(team.id));
      const changes = serviceChanges(input);
      if (await catalog.serviceNameTaken(team.id, input.name)) throw new LatchkeyError('conflict', `team "${team.name}" has a service named "${input.name}"`);
      const now = clock.now();
      const service: Service = {
        id: deps.ids(), teamId: team.id, name: input.name, description: input.description ?? '',
        apiFilter: changes.apiFilter ?? null, resolveFilter: changes.resolveFilter ?? null, fieldMapping: changes.fieldMapping ?? {},
        createdAt: now, updatedAt: now,
      };
      await db.transaction().execute(async (trx) => {
        await catalog.insertService(trx, service);
        // The team may have been deleted since it was looked up (see CatalogStore.findTeam).
        if (!(await catalog.findTeam(team.id, trx))) throw notFound('team');
        await writeAudit(trx, actor, ctx, { action: 'service.created', targetType: 'service', targetId: service.id, scope: serviceScope(service), details: { name: service.name } });
      }).catch(conflictOnDuplicate(`team "${team.name}" has a service named "${input.name}"`));
      serviceChanged(service.id);
      return service;
    },

    showService: visibleService,

    async listServices(actor: Actor, page: Paging & { team_id?: string }) {
      const limit = page.limit ?? 50;
      const rows = await catalog.listServices(reachFor(actor, 'services:read'), {
        limit: limit + 1, ...(page.cursor && { before: page.cursor }), ...(page.team_id && { teamId: page.team_id }),
      });
      return paginate(rows, limit);
    },

    async updateService(actor: Actor, id: string, input: ServiceInput, ctx: RequestContext): Promise<Service> {
      const service = await visibleService(actor, id);
      requireIn(actor, 'services:write', serviceScope(service));
      const changes = serviceChanges(input);
      // Decided on the service as it is inside the transaction, locked: what is audited, from → to,
      // is what this change changes, whatever committed since the first read.
      const updatedAt = clock.now();
      const { after, changed } = await db.transaction().execute(async (trx) => {
        // Deleted since it was looked up: the change would land on the deleted row and undo its rename.
        const current = await catalog.lockService(trx, id);
        if (!current) throw notFound('service');
        const audited = fieldChanges(current, changes);
        // Nothing differs from what is stored: nothing is written, and no event claims a change.
        if (Object.keys(audited).length === 0) return { after: current, changed: false };
        await catalog.updateService(trx, id, { ...changes, updatedAt });
        await writeAudit(trx, actor, ctx, { action: 'service.updated', targetType: 'service', targetId: id, scope: serviceScope(service), details: { changes: audited } });
        return { after: { ...current, ...changes, updatedAt }, changed: true };
      }).catch(conflictOnDuplicate(`the team has a service named "${input.name}"`));
      if (changed) serviceChanged(id);
      // As this transaction left it: a deletion committed since does not undo the answer.
      return after;
    },

    /** A deleted service stops receiving incidents at once; its history stays. */
    async deleteService(actor: Actor, id: string, ctx: RequestContext): Promise<void> {
      const service = await visibleService(actor, id);
      requireIn(actor, 'services:write', serviceScope(service));
      const liveKeys = await catalog.liveKeysOfService(id);
      if (liveKeys > 0) throw new LatchkeyError('conflict', `service "${service.name}" has ${liveKeys} live API keys: revoke them first`, { live_keys: liveKeys });
      await db.transaction().execute(async (trx) => {
        if (!(await catalog.deleteService(trx, service, clock.now()))) throw notFound('service');
        await writeAudit(trx, actor, ctx, { action: 'service.deleted', targetType: 'service', targetId: id, scope: serviceScope(service), details: { name: service.name } });
      });
      serviceChanged(id);
    },

    /** Runs a payload through the service's API filter and says which conditions decided. */
    async testFilter(actor: Actor, id: string, payload: unknown): Promise<{ matched: boolean; explanation: FilterExplanation[]; filter: 'api_filter' | 'none' }> {
      const service = await visibleService(actor, id);
      const entry = await deps.router.entry(service.id);
      if (!entry?.apiFilter) {
        return { matched: false, filter: 'none', explanation: [{ pointer: '', condition: 'no api_filter: only keys scoped to this service create its incidents', actual: 'n/a', result: false }] };
      }
      const { matched, explanation } = entry.apiFilter.evaluate(payload);
      return { matched, explanation: [...explanation], filter: 'api_filter' };
    },
  };
}

export type CatalogService = ReturnType<typeof createCatalogService>;

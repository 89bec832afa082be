import type { Transaction } from 'kysely';
import { canIn, reachFor, type Actor } from '../domain/access/actor.js';
import type { Scope } from '../domain/access/scope.js';
import { LatchkeyError, notFound } from '../domain/errors.js';
import type { FilterExplanation } from '../domain/filters/index.js';
import {
  decideTransition, incidentFieldsFrom, type Incident, type IncidentSource, type IncidentStatus, type Severity, type Transition,
} from '../domain/incidents/incident.js';
import type { RequestContext } from '../domain/audit/audit-event.js';
import type { AlertEvent } from '../domain/events/event.js';
import type { Service } from '../domain/services/service.js';
import type { Db } from '../storage/connect.js';
import type { Settlement } from '../storage/event-writes.js';
import type { AuditStore } from '../storage/audit-store.js';
import type { IncidentChanges, IncidentStore } from '../storage/incident-store.js';
import type { GroupCommitter } from '../storage/group-commit.js';
import type { Database } from '../storage/schema.js';
import { isUniqueViolation } from '../storage/unique-violation.js';
import type { DedupService, Gated, Sender } from './dedup.js';
import { createAuditWriter } from './audit.js';
import { paginate } from './paging.js';
import type { RouteEntry, ServiceRouter } from './routing.js';
import type { Clock, IdGenerator } from './runtime.js';

type Deps = {
  db: Db; incidents: IncidentStore; audit: AuditStore; router: ServiceRouter; dedup: DedupService; committer: GroupCommitter; clock: Clock; ids: IdGenerator;
};

export type RoutingAction = 'create' | 'append' | 'resolve' | 'nothing_to_resolve';

/** A service whose API filter accepts the payload, and why. */
type Accepting = { readonly entry: RouteEntry; readonly explanation: readonly FilterExplanation[] };

/** An accepting service, with what a REST payload would make of an incident there. */
type Match = Accepting & {
  /** Whether its resolve filter matched too. */
  readonly resolving: boolean;
  readonly fields: ReturnType<typeof incidentFieldsFrom>;
};

/** What routing would do for one service (dry run). */
export type RoutingDecision = Match & { readonly action: RoutingAction };

function actionFor(resolving: boolean, open: Incident | undefined): RoutingAction {
  if (resolving) return open ? 'resolve' : 'nothing_to_resolve';
  return open ? 'append' : 'create';
}

/**
 * Whether a repeat of a body (a duplicate within its window) still acts, because what it repeated
 * is over: it would open an incident with its dedup key (the one it opened has been resolved since),
 * or resolve one (opened since it last resolved). Adding to the incident still open is what a
 * duplicate is; a body without a dedup key names nothing it repeats.
 */
export function repeatActs(action: RoutingAction, dedupKey: string | null): boolean {
  return (action === 'create' && dedupKey !== null) || action === 'resolve';
}

export type RoutingOutcome = {
  status: 'created' | 'resolved' | 'no_match';
  incidents: Incident[];
  decisions: Array<{ serviceId: string; action: RoutingAction; incidentId: string | null }>;
};

const incidentScope = (i: Pick<Incident, 'teamId' | 'serviceId'>): Scope => ({ type: 'service', teamId: i.teamId, serviceId: i.serviceId });

const UNFILTERED: FilterExplanation = {
  pointer: '', condition: 'no api_filter: accepts what a key scoped to this service sends', actual: 'n/a', result: true,
};

/** Incidents: routing payloads through every in-scope service's filters, and their lifecycle. */
export function createIncidentService(deps: Deps) {
  const { db, incidents, router, clock } = deps;
  const writeAudit = createAuditWriter({ audit: deps.audit, ids: deps.ids, clock });

  /** Which services in the actor's reach accept the payload, by id. */
  async function acceptingServices(actor: Actor, payload: unknown, explain: boolean): Promise<Accepting[]> {
    const reach = reachFor(actor, 'incidents:create');
    const accepting: Accepting[] = [];
    for (const entry of await router.route(reach, payload)) {
      if (entry.apiFilter) {
        if (explain) {
          const evaluation = entry.apiFilter.evaluate(payload);
          if (evaluation.matched) accepting.push({ entry, explanation: evaluation.explanation });
        } else if (entry.apiFilter.matches(payload)) {
          accepting.push({ entry, explanation: [] });
        }
      } else if (router.acceptsUnfiltered(reach, entry.service)) {
        accepting.push({ entry, explanation: [UNFILTERED] });
      }
    }
    return accepting.sort((a, b) => a.entry.service.id.localeCompare(b.entry.service.id));
  }

  /**
   * The services that accept a REST payload, each with the incident fields its field mapping
   * reads and whether its resolve filter matches. (Events carry their own fields and actions.)
   */
  async function matchServices(actor: Actor, payload: unknown, explain: boolean): Promise<Match[]> {
    return (await acceptingServices(actor, payload, explain)).map(({ entry, explanation }) => ({
      entry, explanation,
      resolving: entry.resolveFilter?.matches(payload) ?? false,
      fields: incidentFieldsFrom(payload, entry.service.fieldMapping, actor.ref.name),
    }));
  }

  const openIncident = (m: Match, ex?: Transaction<Database>) =>
    (m.fields.dedupKey ? incidents.findOpen(m.entry.service.id, m.fields.dedupKey, ex) : Promise.resolve(undefined));

  const newIncident = (actor: Actor, m: Pick<Match, 'entry' | 'fields'>, payload: unknown, source: IncidentSource, now: Date): Incident => ({
    id: deps.ids(), serviceId: m.entry.service.id, teamId: m.entry.service.teamId, ...m.fields, status: 'triggered', source,
    createdBy: actor.ref, createdAt: now, updatedAt: now, acknowledgedAt: null, acknowledgedBy: null, resolvedAt: null, resolvedBy: null,
    alertCount: 1, lastPayload: payload,
  });

  /** Applies one match; returns the incident touched (null when there was nothing to resolve). */
  async function apply(trx: Transaction<Database>, actor: Actor, d: Match, payload: unknown, source: IncidentSource): Promise<{ action: RoutingAction; incident: Incident | null }> {
    const now = clock.now();
    const open = await openIncident(d, trx);
    const action = actionFor(d.resolving, open);
    if (action === 'nothing_to_resolve') return { action, incident: null };
    // The incident found open may have been resolved since (on PostgreSQL, by a write the change
    // below waits for): only a still open one is changed.
    if (action === 'resolve') {
      const resolved = await incidents.update(trx, open!.id, { status: 'resolved', resolvedAt: now, resolvedBy: actor.ref, updatedAt: now, lastPayload: payload }, { stillOpen: true });
      if (!resolved) return { action: 'nothing_to_resolve', incident: null };
      return { action, incident: (await incidents.findById(open!.id, trx))! };
    }
    // Counted in SQL, not from the count read above: concurrent appends on PostgreSQL each add one.
    // Resolved meanwhile: the alert opens a new incident, as it would have a moment later.
    if (action === 'append' && (await incidents.addAlert(trx, open!.id, payload, now))) {
      return { action, incident: (await incidents.findById(open!.id, trx))! };
    }
    const incident = newIncident(actor, d, payload, source, now);
    await incidents.insert(trx, incident);
    return { action: 'create', incident };
  }

  async function visibleIncident(actor: Actor, id: string): Promise<Incident> {
    const incident = await incidents.findById(id);
    if (!incident || !canIn(actor, 'incidents:read', incidentScope(incident))) throw notFound('incident');
    return incident;
  }

  /**
   * Decides on the incident as read, and writes only while it is still in the status it was read
   * in: an acknowledge racing a resolve must not reopen the incident the resolve closed. When the
   * status changed meanwhile, the incident is read and the change decided again (an acknowledge
   * then finds it resolved: 409 conflict); when it was deleted meanwhile, 404. Statuses only move
   * forward (triggered, acknowledged, resolved), so it is decided again at most twice.
   */
  async function change(actor: Actor, id: string, changes: (incident: Incident) => IncidentChanges | null): Promise<Incident> {
    for (;;) {
      const incident = await visibleIncident(actor, id);
      if (!canIn(actor, 'incidents:write', incidentScope(incident))) throw new LatchkeyError('out_of_scope', 'changing this incident needs incidents:write on its service');
      const wanted = changes(incident);
      if (!wanted) return incident;
      const written = await db.transaction().execute((trx) => incidents.update(trx, id, { ...wanted, updatedAt: clock.now() }, { whileStatus: incident.status }));
      if (!written) continue;
      const saved = await incidents.findById(id);
      if (!saved) throw notFound('incident');
      return saved;
    }
  }

  return {
    /** Dry run: what routing would do, and why, with nothing written. */
    async explain(actor: Actor, payload: unknown): Promise<RoutingDecision[]> {
      const matches = await matchServices(actor, payload, true);
      return Promise.all(matches.map(async (m) => ({ ...m, action: actionFor(m.resolving, await openIncident(m)) })));
    },

    /**
     * One incident per matching service (or an alert added to the open one with the same dedup
     * key, or a resolution where the resolve filter matches), all in one transaction, behind the
     * sender's deduplication claim when there is one.
     */
    async route(actor: Actor, payload: unknown, sender?: Sender): Promise<Gated<RoutingOutcome>> {
      const matches = await matchServices(actor, payload, false);
      const applyAll = async (trx: Transaction<Database>) => {
        const out: Array<{ action: RoutingAction; incident: Incident | null }> = [];
        for (const m of matches) out.push(await apply(trx, actor, m, payload, 'api'));
        return out;
      };
      // A repeat acts anew (see gatedWithin) where it would open an incident with its dedup key (the
      // one it opened has been resolved since) or resolve one (opened since it last resolved).
      const actsAnew = async (trx: Transaction<Database>) => {
        for (const m of matches) if (repeatActs(actionFor(m.resolving, await openIncident(m, trx)), m.fields.dedupKey)) return true;
        return false;
      };
      // In a group commit: requests arriving together share one transaction and its commit.
      const run = () => deps.committer.run(async (trx) =>
        sender ? deps.dedup.gatedWithin(trx, sender, applyAll, actsAnew) : { discarded: false as const, result: await applyAll(trx) });
      // Two triggers racing on one dedup key: the second finds the first's incident on retry.
      const gated = await run().catch((err: unknown) => (isUniqueViolation(err) ? run() : Promise.reject(err)));
      if (gated.discarded) return gated;
      const applied = gated.result;
      const created = applied.some((a) => a.action === 'create' || a.action === 'append');
      const resolved = applied.some((a) => a.action === 'resolve');
      return {
        discarded: false,
        result: {
          status: created ? 'created' : resolved ? 'resolved' : 'no_match',
          incidents: applied.flatMap((a) => (a.incident ? [a.incident] : [])),
          decisions: applied.map((a, i) => ({ serviceId: matches[i]!.entry.service.id, action: a.action, incidentId: a.incident?.id ?? null })),
        },
      };
    },

    /**
     * Opens (or adds to) an incident on one named service, its filter not consulted: for
     * automation workflows, whose own filter already decided.
     */
    async openOn(actor: Actor, serviceId: string, payload: unknown, source: IncidentSource): Promise<Incident | null> {
      const entry = await router.entry(serviceId);
      if (!entry) return null;
      const match: Match = { entry, resolving: false, explanation: [], fields: incidentFieldsFrom(payload, entry.service.fieldMapping, actor.ref.name) };
      const run = () => db.transaction().execute((trx) => apply(trx, actor, match, payload, source));
      const applied = await run().catch((err: unknown) => (isUniqueViolation(err) ? run() : Promise.reject(err)));
      return applied.incident;
    },

    /**
     * Events API trigger, as the incidents to write: routed like any payload (filters see the
     * whole event), the incident's fields taken from the event. The writer opens each, or adds an
     * alert to the incident its service already has open with that dedup key (event-writes.ts).
     */
    async planTrigger(actor: Actor, event: AlertEvent, dedupKey: string): Promise<Incident[]> {
      const { routing_key: _credential, ...stored } = event;
      const fields = {
        title: event.payload!.summary,
        description: event.payload!.custom_details === undefined ? '' : JSON.stringify(event.payload!.custom_details).slice(0, 16_384),
        severity: event.payload!.severity,
        dedupKey,
      };
      const now = clock.now();
      return (await acceptingServices(actor, stored, false)).map((a) => newIncident(actor, { entry: a.entry, fields }, stored, 'events', now));
    },

    /** Events API acknowledge/resolve, as what to write: every open incident in reach with that dedup key, and what it becomes. */
    async planSettle(actor: Actor, dedupKey: string, action: Transition): Promise<{ ids: string[]; settlement: Settlement }> {
      const open = await incidents.findOpenInReach(dedupKey, reachFor(actor, 'incidents:write'));
      const touched = open.filter((i) => decideTransition(i, action).ok && !(action === 'acknowledge' && i.status === 'acknowledged'));
      return { ids: touched.map((i) => i.id), settlement: { status: action === 'acknowledge' ? 'acknowledged' : 'resolved', at: clock.now(), by: actor.ref } };
    },

    /** The services in the actor's reach whose filters accept the payload (change events). */
    async matchingServices(actor: Actor, payload: unknown): Promise<Service[]> {
      return (await acceptingServices(actor, payload, false)).map((a) => a.entry.service);
    },

    show: visibleIncident,

    async list(actor: Actor, query: { service_id?: string; team_id?: string; status?: IncidentStatus; cursor?: string; limit?: number }) {
      const limit = query.limit ?? 50;
      const rows = await incidents.list({
        reach: reachFor(actor, 'incidents:read'), limit: limit + 1,
        ...(query.service_id && { serviceId: query.service_id }),
        ...(query.team_id && { teamId: query.team_id }),
        ...(query.status && { status: query.status }),
        ...(query.cursor && { before: query.cursor }),
      });
      return paginate(rows, limit);
    },

    update: (actor: Actor, id: string, input: { title?: string; description?: string; severity?: Severity }) =>
      change(actor, id, () => input),

    /**
     * Gone for good (a later trigger with its dedup key opens a new incident), but not unrecorded:
     * the audit trail keeps who deleted what, in the same transaction.
     */
    async delete(actor: Actor, id: string, ctx: RequestContext): Promise<void> {
      const incident = await visibleIncident(actor, id);
      if (!canIn(actor, 'incidents:write', incidentScope(incident))) throw new LatchkeyError('out_of_scope', 'deleting this incident needs incidents:write on its service');
      await db.transaction().execute(async (trx) => {
        // Deleted meanwhile by another request: that one answers 204 and writes the audit event.
        if (!(await incidents.delete(trx, id))) throw notFound('incident');
        await writeAudit(trx, actor, ctx, {
          action: 'incident.deleted', targetType: 'incident', targetId: id, scope: incidentScope(incident),
          details: { title: incident.title, status: incident.status, severity: incident.severity, dedup_key: incident.dedupKey, created_at: incident.createdAt.toISOString() },
        });
      });
    },

    /** triggered → acknowledged → resolved, recording who did each step. */
    transition: (actor: Actor, id: string, action: Transition) =>
      change(actor, id, (incident) => {
        const decision = decideTransition(incident, action);
        if (!decision.ok) throw new LatchkeyError(decision.code, decision.message);
        if (!decision.changes) return null;
        const now = clock.now();
        return action === 'acknowledge'
          ? { status: 'acknowledged', acknowledgedAt: now, acknowledgedBy: actor.ref }
          : { status: 'resolved', resolvedAt: now, resolvedBy: actor.ref };
      }),
  };
}

export type IncidentService = ReturnType<typeof createIncidentService>;

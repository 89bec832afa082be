import type { Reach } from '../domain/access/scope.js';
import { compileFilter, createFilterIndex, type CompiledFilter } from '../domain/filters/index.js';
import type { Service } from '../domain/services/service.js';
import type { CatalogStore } from '../storage/catalog-store.js';

export type RouteEntry = {
  readonly service: Service;
  readonly apiFilter: CompiledFilter | null;
  readonly resolveFilter: CompiledFilter | null;
};

// Below this many services in reach, checking each beats asking the index.
const SMALL_REACH = 64;

/**
 * Every live service's filters, compiled once when they change and indexed by their equality
 * conditions, so a payload sent with a global key is evaluated against the few services it could
 * match rather than all of them. A change marks a service stale (locally or by broadcast); the
 * next routing call reloads it before deciding.
 */
export function createServiceRouter(deps: { catalog: CatalogStore }) {
  const entries = new Map<string, RouteEntry>();
  const byTeam = new Map<string, Set<string>>();
  let index = createFilterIndex<string>();
  const stale = new Set<string>();
  let loaded = false;
  let loading: Promise<void> | undefined;
  // The last reload of stale services (settled, never rejected): the next load or reload chains after it.
  let reloading: Promise<void> = Promise.resolve();
  // Bumped when everything is marked stale: a full load started before that is discarded.
  let generation = 0;

  function forget(id: string): void {
    const old = entries.get(id);
    if (!old) return;
    entries.delete(id);
    byTeam.get(old.service.teamId)?.delete(id);
    index.remove(id);
  }

  function put(service: Service): void {
    forget(service.id);
    const entry: RouteEntry = {
      service,
      apiFilter: service.apiFilter ? compileFilter(service.apiFilter) : null,
      resolveFilter: service.resolveFilter ? compileFilter(service.resolveFilter) : null,
    };
    entries.set(service.id, entry);
    let team = byTeam.get(service.teamId);
    if (!team) byTeam.set(service.teamId, (team = new Set()));
    team.add(service.id);
    if (entry.apiFilter) index.add(service.id, entry.apiFilter);
  }

  /**
   * Loads what changed before this call, so a caller never routes by a service's old state. A
   * reload in flight covers changes marked before it started: callers arriving meanwhile wait for
   * it (and for a newer one if more changes were marked since), instead of routing without them.
   */
  async function refresh(): Promise<void> {
    while (!loaded) {
      if (!loading) {
        // The full load covers every change marked before it starts; marks made meanwhile are loaded after it.
        stale.clear();
        const started = generation;
        loading = reloading.then(() => deps.catalog.allServices()).then((all) => {
          // Everything was marked stale while this load ran: what it read may be older. Load again.
          if (started !== generation) return;
          all.forEach(put);
          loaded = true;
        }).finally(() => (loading = undefined));
      }
      await loading;
    }
    if (stale.size === 0) return reloading;
    const ids = [...stale];
    stale.clear();
    // After the reload before it, so each service's states are applied in the order they were read.
    const reload = reloading.then(async () => {
      for (const id of ids) {
        const service = await deps.catalog.findService(id);
        if (service) put(service);
        else forget(id);
      }
    }).catch((err: unknown) => {
      // Not loaded: the next caller tries again.
      for (const id of ids) stale.add(id);
      throw err;
    });
    reloading = reload.catch(() => undefined);
    return reload;
  }

  /** Services in reach whose filters could accept the payload (each still to be evaluated). */
  function candidates(reach: Reach, payload: unknown): RouteEntry[] {
    if (reach.global) return index.candidates(payload).map((id) => entries.get(id)!);
    const ids = new Set<string>(reach.serviceIds);
    for (const teamId of reach.teamIds) for (const id of byTeam.get(teamId) ?? []) ids.add(id);
    const inReach = [...ids].map((id) => entries.get(id)).filter((e): e is RouteEntry => e !== undefined);
    if (inReach.length <= SMALL_REACH) return inReach;
    const wanted = new Set(index.candidates(payload));
    return inReach.filter((e) => wanted.has(e.service.id) || (e.apiFilter === null && reach.serviceIds.has(e.service.id)));
  }

  return {
    async route(reach: Reach, payload: unknown): Promise<RouteEntry[]> {
      await refresh();
      return candidates(reach, payload);
    },

    async entry(serviceId: string): Promise<RouteEntry | undefined> {
      await refresh();
      return entries.get(serviceId);
    },

    markStale(serviceId: string): void {
      stale.add(serviceId);
    },

    markAllStale(): void {
      generation++;
      loaded = false;
      entries.clear();
      byTeam.clear();
      stale.clear();
      index = createFilterIndex<string>();
    },

    /** A null api_filter accepts only what a key scoped to that very service sends. */
    acceptsUnfiltered(reach: Reach, service: Service): boolean {
      return !reach.global && reach.serviceIds.has(service.id) && !reach.teamIds.has(service.teamId);
    },
  };
}

export type ServiceRouter = ReturnType<typeof createServiceRouter>;

/**
 * The routing benchmark's catalogue: teams and services with equality-led API filters, written
 * straight through the catalog store (10,000 services over HTTP would take longer than the
 * benchmark), and the payloads that each match exactly one of them.
 */
import { parseFilter, type Filter } from '../src/domain/filters/index.js';
import type { Service } from '../src/domain/services/service.js';
import type { Team } from '../src/domain/teams/team.js';
import { createIdGenerator, systemClock } from '../src/services/runtime.js';
import { createCatalogStore } from '../src/storage/catalog-store.js';
import type { Connection } from '../src/storage/connect.js';

/** The same number of teams whatever the service count, so incidents spread over the team index alike. */
export const ROUTING_TEAMS = 10;

const source = (i: number) => `svc-${i}`;

/**
 * Service i's api_filter: an equality on `source` first, as real filters are, then one of three
 * shapes (an `in`, an `any` of two conditions, a `matches`), so the index and the evaluation
 * both see some variety.
 */
export function apiFilterFor(i: number): Filter {
  const equality = { path: 'source', op: 'equals', value: source(i) };
  const rest = [
    { path: 'severity', op: 'in', value: ['critical', 'error'] },
    { any: [{ path: 'env', op: 'equals', value: 'production' }, { path: 'severity', op: 'equals', value: 'critical' }] },
    { path: 'title', op: 'matches', value: '^(db|api|disk) .+ on svc-[0-9]+$' },
  ][i % 3];
  // An `any` goes first now and then: the index must still find the equality behind it.
  const all = i % 6 === 1 ? [rest, equality] : [equality, rest];
  const parsed = parseFilter({ all });
  if (!parsed.ok) throw new Error(`bench filter ${i} is invalid: ${parsed.errors[0]!.path} ${parsed.errors[0]!.message}`);
  return parsed.filter;
}

/**
 * Accepted by service i's filter alone (whichever shape it has). No dedup_key, so no incident is
 * appended to: each opens one. A distinct `event_id` keeps the key's deduplication window (which
 * discards identical bodies) from discarding repeats.
 */
export function routingPayload(i: number, eventId: number): string {
  return JSON.stringify({
    source: source(i), severity: 'critical', env: 'production', title: `db latency above 2 s on ${source(i)}`, host: `db-${i % 97}`, event_id: eventId,
  });
}

/** Inserts `count` services over ROUTING_TEAMS teams in one transaction; service i is in team i mod ROUTING_TEAMS. */
export async function seedRoutingCatalog({ db, kind }: Connection, count: number): Promise<void> {
  const catalog = createCatalogStore(db, kind);
  const ids = createIdGenerator(systemClock);
  const now = systemClock.now();
  const teams: Team[] = Array.from({ length: ROUTING_TEAMS }, (_, t) => ({ id: ids(), name: `bench-team-${t}`, description: '', createdAt: now, updatedAt: now }));
  await db.transaction().execute(async (trx) => {
    for (const team of teams) await catalog.insertTeam(trx, team);
    for (let i = 0; i < count; i++) {
      const service: Service = {
        id: ids(), teamId: teams[i % ROUTING_TEAMS]!.id, name: `bench-service-${i}`, description: '',
        apiFilter: apiFilterFor(i), resolveFilter: null, fieldMapping: {}, createdAt: now, updatedAt: now,
      };
      await catalog.insertService(trx, service);
    }
  });
}

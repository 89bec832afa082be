/**
 * What the events benchmark needs on its server: one service with no api_filter (it takes what a
 * key scoped to it sends) and two integration keys scoped to it, written through the services as
 * the CLI operator would. They differ only in the traffic gates: one has deduplication on and a
 * rate limit too high ever to refuse, the other has neither.
 */
import { NO_REQUEST } from '../src/domain/audit/audit-event.js';
import type { Services } from '../src/services.js';
import { OPERATOR } from '../src/services/setup.js';

/** A limit the benchmark never reaches: the bucket is checked (and its headers set) on every request, and always allows. */
export const NEVER_REFUSING_LIMIT = 1_000_000;
export const BENCH_DEDUP_WINDOW_SECONDS = 600;

export type EventKeys = {
  /** Deduplication window 600 s, rate limit 1,000,000/min. */
  readonly gated: string;
  /** dedup_window_seconds 0, rate_limit_per_minute null. */
  readonly plain: string;
};

export async function seedEventKeys(services: Services): Promise<EventKeys> {
  const team = await services.catalog.createTeam(OPERATOR, { name: 'bench-events' }, NO_REQUEST);
  const service = await services.catalog.createService(OPERATOR, { team_id: team.id, name: 'bench-ingest' }, NO_REQUEST);
  const key = async (name: string, gates: { dedup_window_seconds: number; rate_limit_per_minute: number | null }) =>
    (await services.apiKeys.create(OPERATOR, { name, kind: 'events', scope: 'service', service_id: service.id, ...gates }, NO_REQUEST)).token;
  return {
    gated: await key('bench events, dedup and rate limit', { dedup_window_seconds: BENCH_DEDUP_WINDOW_SECONDS, rate_limit_per_minute: NEVER_REFUSING_LIMIT }),
    plain: await key('bench events, no gates', { dedup_window_seconds: 0, rate_limit_per_minute: null }),
  };
}

/**
 * A REST key like the init owner key (global, admin, so GET /identity answers the same body)
 * except that it has a rate limit, which never refuses here: its requests pay for the bucket.
 * Deduplication stays at its default; GET requests are never deduplicated.
 */
export async function createLimitedRestKey(services: Services): Promise<string> {
  const issued = await services.apiKeys.create(OPERATOR, {
    name: 'Bench key with a rate limit', scope: 'global', roles: ['admin'], rate_limit_per_minute: NEVER_REFUSING_LIMIT,
  }, NO_REQUEST);
  return issued.token;
}

/** A REST key like the init owner key except that deduplication is off: what deduplication costs a POST. */
export async function createUndedupedRestKey(services: Services): Promise<string> {
  const issued = await services.apiKeys.create(OPERATOR, {
    name: 'Bench key without deduplication', scope: 'global', roles: ['admin'], dedup_window_seconds: 0, rate_limit_per_minute: null,
  }, NO_REQUEST);
  return issued.token;
}

import { reachFor, type Actor } from '../domain/access/actor.js';
import type { ApiLogEntry } from '../domain/api-logs/api-log.js';
import type { ApiLogStore } from '../storage/api-log-store.js';
import { filterTime, paginate } from './paging.js';
import type { Clock, IdGenerator } from './runtime.js';

type Logger = { error(obj: unknown, msg?: string): void; warn(obj: unknown, msg?: string): void };

export type ApiLogQuery = { api_key_id?: string; status?: number; since?: string; until?: string; cursor?: string; limit?: number };

// Past this many unwritten entries, new ones are dropped (and counted) rather than growing memory.
const MAX_PENDING = 10_000;

/**
 * Debug API logs: entries are buffered and written in batches, off the request path; entries
 * older than the retention are purged.
 */
export function createApiLogService(deps: { store: ApiLogStore; clock: Clock; ids: IdGenerator; retentionDays: number; flushIntervalMs: number; logger: Logger }) {
  let pending: ApiLogEntry[] = [];
  let dropped = 0;
  let flushing: Promise<void> = Promise.resolve();
  let purging: Promise<void> = Promise.resolve();
  const timers: NodeJS.Timeout[] = [];
  const sweep = (): void => {
    purging = purging.then(() => service.purge()).then(() => undefined, (err: unknown) => deps.logger.error({ err }, 'API log purge failed'));
  };

  const service = {
    record(entry: Omit<ApiLogEntry, 'id'>): void {
      if (pending.length >= MAX_PENDING) {
        dropped++;
        return;
      }
      pending.push({ id: deps.ids(), ...entry });
    },

    flush(): Promise<void> {
      flushing = flushing.then(async () => {
        if (dropped > 0) {
          deps.logger.warn({ dropped }, 'debug API log entries dropped: the writer fell behind');
          dropped = 0;
        }
        const batch = pending;
        pending = [];
        try {
          await deps.store.insertMany(batch);
        } catch (err) {
          deps.logger.error({ err }, 'debug API log write failed; entries lost');
        }
      });
      return flushing;
    },

    /** Logs of the keys the caller can see, newest first. */
    async list(actor: Actor, query: ApiLogQuery) {
      await service.flush();
      const limit = query.limit ?? 50;
      const rows = await deps.store.list({
        reach: reachFor(actor, 'api_logs:read'), limit: limit + 1,
        ...(query.api_key_id && { apiKeyId: query.api_key_id }),
        ...(query.status !== undefined && { status: query.status }),
        ...(query.since && { since: filterTime('since', query.since) }),
        ...(query.until && { until: filterTime('until', query.until) }),
        ...(query.cursor && { before: query.cursor }),
      });
      return paginate(rows, limit);
    },

    purge(): Promise<number> {
      return deps.store.purgeOlderThan(new Date(deps.clock.now().getTime() - deps.retentionDays * 86_400_000));
    },

    start(): void {
      timers.push(setInterval(() => void service.flush(), deps.flushIntervalMs));
      // At once, then hourly: a server restarted more often than hourly would otherwise never purge.
      sweep();
      timers.push(setInterval(sweep, 3_600_000));
      timers.forEach((t) => t.unref());
    },

    async stop(): Promise<void> {
      timers.forEach((t) => clearInterval(t));
      await purging;
      await service.flush();
    },
  };
  return service;
}

export type ApiLogService = ReturnType<typeof createApiLogService>;

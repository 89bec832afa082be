import type { Selectable } from 'kysely';
import { scopeOf, type Reach } from '../domain/access/scope.js';
import type { ApiLogEntry } from '../domain/api-logs/api-log.js';
import type { Db } from './connect.js';
import { fromMs, toMs } from './json.js';
import { reachCondition } from './reach.js';
import type { Database } from './schema.js';

type Stored = Pick<ApiLogEntry, 'headers' | 'requestBody' | 'responseBody' | 'truncated' | 'incidentIds'>;

function rowToApiLog(row: Selectable<Database['api_logs']>): ApiLogEntry {
  const entry = JSON.parse(row.entry) as Stored;
  return {
    id: row.id, apiKeyId: row.api_key_id, scope: scopeOf(row.team_id, row.service_id), at: fromMs(row.at),
    method: row.method, path: row.path, status: row.status, errorCode: row.error_code, durationMs: row.duration_ms, ip: row.ip, ...entry,
  };
}

export type ApiLogFilter = {
  readonly reach: Reach;
  readonly apiKeyId?: string;
  readonly status?: number;
  readonly since?: Date;
  readonly until?: Date;
  readonly before?: string;
  readonly limit: number;
};

export type ApiLogStore = ReturnType<typeof createApiLogStore>;

export function createApiLogStore(db: Db) {
  return {
    async insertMany(entries: readonly ApiLogEntry[]): Promise<void> {
      if (entries.length === 0) return;
      await db.insertInto('api_logs').values(entries.map((e) => {
        const stored: Stored = { headers: e.headers, requestBody: e.requestBody, responseBody: e.responseBody, truncated: e.truncated, incidentIds: e.incidentIds };
        return {
          id: e.id, api_key_id: e.apiKeyId,
          team_id: e.scope.type === 'global' ? null : e.scope.teamId, service_id: e.scope.type === 'service' ? e.scope.serviceId : null,
          at: toMs(e.at), method: e.method, path: e.path, status: e.status, error_code: e.errorCode, duration_ms: e.durationMs, ip: e.ip,
          entry: JSON.stringify(stored),
        };
      })).execute();
    },

    async list(filter: ApiLogFilter): Promise<ApiLogEntry[]> {
      let q = db.selectFrom('api_logs').selectAll();
      const visible = reachCondition(filter.reach);
      if (visible) q = q.where(visible);
      if (filter.apiKeyId) q = q.where('api_key_id', '=', filter.apiKeyId);
      if (filter.status !== undefined) q = q.where('status', '=', filter.status);
      if (filter.since) q = q.where('at', '>=', toMs(filter.since));
      if (filter.until) q = q.where('at', '<', toMs(filter.until));
      if (filter.before) q = q.where('id', '<', filter.before);
      return (await q.orderBy('id', 'desc').limit(filter.limit).execute()).map(rowToApiLog);
    },

    async purgeOlderThan(cutoff: Date): Promise<number> {
      const result = await db.deleteFrom('api_logs').where('at', '<', toMs(cutoff)).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

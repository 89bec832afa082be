import type { Insertable, Selectable, Transaction } from 'kysely';
import type { Db } from './connect.js';
import { fromMs, toMs } from './json.js';
import type { Database } from './schema.js';

/** A change on a service (a deploy, a config push): recorded for context, never paged on. */
export type StoredChangeEvent = {
  readonly id: string;
  readonly serviceId: string;
  readonly teamId: string;
  readonly apiKeyId: string | null;
  readonly summary: string;
  readonly source: string | null;
  readonly timestamp: Date;
  readonly event: unknown;
  readonly createdAt: Date;
};

function rowToChangeEvent(row: Selectable<Database['change_events']>): StoredChangeEvent {
  return {
    id: row.id, serviceId: row.service_id, teamId: row.team_id, apiKeyId: row.api_key_id, summary: row.summary, source: row.source,
    timestamp: fromMs(row.timestamp), event: JSON.parse(row.event) as unknown, createdAt: fromMs(row.created_at),
  };
}

/** The row a change event is stored as. */
export function changeEventToRow(e: StoredChangeEvent): Insertable<Database['change_events']> {
  return {
    id: e.id, service_id: e.serviceId, team_id: e.teamId, api_key_id: e.apiKeyId, summary: e.summary, source: e.source,
    timestamp: toMs(e.timestamp), event: JSON.stringify(e.event), created_at: toMs(e.createdAt),
  };
}

export type ChangeEventStore = ReturnType<typeof createChangeEventStore>;

export function createChangeEventStore(db: Db) {
  return {
    async insertMany(events: readonly StoredChangeEvent[], ex: Db | Transaction<Database> = db): Promise<void> {
      if (events.length === 0) return;
      await ex.insertInto('change_events').values(events.map(changeEventToRow)).execute();
    },

    async listForService(serviceId: string, page: { before?: string; limit: number }): Promise<StoredChangeEvent[]> {
      let q = db.selectFrom('change_events').selectAll().where('service_id', '=', serviceId);
      if (page.before) q = q.where('id', '<', page.before);
      return (await q.orderBy('id', 'desc').limit(page.limit).execute()).map(rowToChangeEvent);
    },
  };
}

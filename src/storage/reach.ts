import { sql, type RawBuilder, type SqlBool } from 'kysely';
import type { Reach } from '../domain/access/scope.js';

/**
 * The rows a non-global reach may see, for any table with `team_id` and `service_id` columns;
 * `undefined` for a global reach, which sees everything.
 */
export function reachCondition(reach: Reach): RawBuilder<SqlBool> | undefined {
  if (reach.global) return undefined;
  const parts: RawBuilder<unknown>[] = [];
  if (reach.teamIds.size > 0) parts.push(sql`team_id in (${sql.join([...reach.teamIds])})`);
  if (reach.serviceIds.size > 0) parts.push(sql`service_id in (${sql.join([...reach.serviceIds])})`);
  if (parts.length === 0) return sql<SqlBool>`1 = 0`;
  return sql<SqlBool>`(${sql.join(parts, sql` or `)})`;
}

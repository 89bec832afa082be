import type { DatabaseKind } from './connect.js';

/**
 * A read for a change decided on what it reads: the rows stay locked until the transaction ends,
 * so a change committed meanwhile is seen and one begun meanwhile waits its turn. On PostgreSQL,
 * FOR NO KEY UPDATE rather than FOR UPDATE: changes to the rows still take turns, but rows
 * referring to them (a usage flush inserting a key's counts, whose foreign key takes FOR KEY
 * SHARE) neither wait for them nor hold them up; FOR UPDATE let a flush and a key rotation each
 * hold what the other waited for. SQLite has no row locks: its transactions take the write lock
 * at BEGIN (./sqlite-dialect.ts), which serialises the same changes.
 */
export function lockedForChange<Q extends { forNoKeyUpdate(): Q }>(kind: DatabaseKind, query: Q): Q {
  return kind === 'postgres' ? query.forNoKeyUpdate() : query;
}

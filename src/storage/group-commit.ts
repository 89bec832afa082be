import type { Transaction as KyselyTransaction } from 'kysely';
import type { Db } from './connect.js';
import type { Database } from './schema.js';
import { isLockTimeout } from './sqlite-settings.js';

export type Transaction = KyselyTransaction<Database>;
export type Work<T> = (trx: Transaction) => Promise<T>;

type Pending = { work: Work<unknown>; resolve: (value: unknown) => void; reject: (err: unknown) => void };

/**
 * Group commit: work submitted while a commit is in progress waits and goes in the next
 * transaction with everything else that arrived meanwhile, so many writers share one commit (one
 * BEGIN/COMMIT, one write of each page they share; on PostgreSQL one WAL flush) without adding
 * latency when the load is light. Each caller's promise settles only
 * after the transaction holding its work has committed. If a batch fails, its items are retried
 * one transaction each, so one bad item cannot sink the others (unless SQLite's lock was not to
 * be had: then every item fails at once, as each alone would only wait as long again).
 */
export function createGroupCommitter(db: Db, options: { maxBatch: number }) {
  let queue: Pending[] = [];
  let running = false;

  async function drain(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.slice(0, options.maxBatch);
      queue = queue.slice(batch.length);
      try {
        const results = await db.transaction().execute(async (trx) => {
          const out: unknown[] = [];
          for (const item of batch) out.push(await item.work(trx));
          return out;
        });
        batch.forEach((item, i) => item.resolve(results[i]));
      } catch (err) {
        if (isLockTimeout(err)) {
          for (const item of batch) item.reject(err);
          continue;
        }
        for (const item of batch) {
          try {
            item.resolve(await db.transaction().execute(item.work));
          } catch (err) {
            item.reject(err);
          }
        }
      }
    }
    running = false;
  }

  return {
    run<T>(work: Work<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ work, resolve: resolve as (v: unknown) => void, reject });
        if (!running) {
          running = true;
          // Start on the next turn of the event loop: a synchronous driver (SQLite) would otherwise
          // commit the first writer before any other request is even read, and nothing would batch.
          setImmediate(() => void drain());
        }
      });
    },
  };
}

export type GroupCommitter = ReturnType<typeof createGroupCommitter>;

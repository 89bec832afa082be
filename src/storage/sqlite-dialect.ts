import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import {
  CompiledQuery, SqliteDialect, SqliteDriver, SqliteQueryCompiler, ValueNode, type DatabaseConnection, type Driver, type LimitNode, type OffsetNode,
  type QueryCompiler, type SqliteDatabase as KyselySqliteDatabase, type SqliteDialectConfig, type SqliteStatement,
} from 'kysely';
import type { WriteCounter } from './durability.js';
import { isLockTimeout, LOCK_WAIT_MS } from './sqlite-settings.js';

/**
 * Kysely's SQLite dialect over `sqlite`, with the statement cache and write counting below, LIMIT
 * written as a literal, transactions that take the write lock when they begin, and the wait for
 * that lock made without blocking the event loop when the connection's busy_timeout is 0 (see
 * LockWaitingSqliteDriver).
 */
export function sqliteDialect(sqlite: SqliteDatabase, counter: WriteCounter, options: { lockWaitMs?: number } = {}): SqliteDialect {
  return new LatchkeySqliteDialect({ database: kyselySqlite(sqlite, counter) }, sqlite, options.lockWaitMs ?? LOCK_WAIT_MS);
}

class LatchkeySqliteDialect extends SqliteDialect {
  constructor(private readonly config: SqliteDialectConfig, private readonly sqlite: SqliteDatabase, private readonly lockWaitMs: number) {
    super(config);
  }

  override createDriver(): Driver {
    return new LockWaitingSqliteDriver(this.config, this.sqlite, this.lockWaitMs);
  }

  override createQueryCompiler(): QueryCompiler {
    return new LiteralLimitCompiler();
  }
}

/** The longest pause between two tries for the write lock. */
const LOCK_RETRY_MAX_PAUSE_MS = 20;

/**
 * BEGIN IMMEDIATE rather than Kysely's BEGIN (deferred). The event writer thread commits on a
 * connection of its own: a deferred transaction that read before it wrote would fail with
 * SQLITE_BUSY (not waited out) if that thread committed in between. Taking the write lock first,
 * the transaction waits its turn instead and then reads the latest state.
 *
 * And the wait is made here, not by SQLite. SQLite's busy_timeout sleeps inside the call, which on
 * the serving connection means on the event loop: every request stopped while a REST write waited
 * for the writer thread's commit. So that connection runs with busy_timeout 0 (connect.ts): a
 * statement outside a transaction (BEGIN IMMEDIATE among them) that finds the lock taken fails at
 * once having done nothing, and is tried again after a pause (the next turn of the event loop,
 * then 1, 2, 4… ms, at most 20), until `lockWaitMs` have passed; then its SQLITE_BUSY goes to the
 * caller as before. Inside a transaction the lock is already held, so nothing is retried there.
 */
class LockWaitingSqliteDriver extends SqliteDriver {
  constructor(config: SqliteDialectConfig, private readonly sqlite: SqliteDatabase, private readonly lockWaitMs: number) {
    super(config);
  }

  /** SQLite's one connection, and the same with the lock wait around its queries (made once). */
  private waiting: { readonly connection: DatabaseConnection; readonly wrapped: DatabaseConnection } | undefined;

  override async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await super.acquireConnection();
    if (this.waiting?.connection !== connection) {
      this.waiting = {
        connection,
        wrapped: {
          executeQuery: (query) => this.waitingForLock(() => connection.executeQuery(query)),
          streamQuery: (query, chunkSize) => connection.streamQuery(query, chunkSize),
        },
      };
    }
    return this.waiting.wrapped;
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }

  private async waitingForLock<T>(attempt: () => Promise<T>): Promise<T> {
    const deadline = performance.now() + this.lockWaitMs;
    for (let pauseMs = 0; ; pauseMs = Math.min(LOCK_RETRY_MAX_PAUSE_MS, Math.max(1, pauseMs * 2))) {
      try {
        return await attempt();
      } catch (err) {
        if (!isLockTimeout(err) || this.sqlite.inTransaction || performance.now() + pauseMs > deadline) throw err;
      }
      await new Promise<void>((resolve) => (pauseMs === 0 ? setImmediate(resolve) : setTimeout(resolve, pauseMs)));
    }
  }
}

/**
 * Kysely binds LIMIT and OFFSET as parameters. SQLite's planner reads a bound LIMIT, so binding
 * one marks the statement expired and the next run parses and plans it again: a lookup with
 * `LIMIT ?` cost five times one with `LIMIT 1`, prepared statement or not. Integers are written
 * into the SQL instead (each page size is then its own statement, and the cache keeps them).
 */
class LiteralLimitCompiler extends SqliteQueryCompiler {
  protected override visitLimit(node: LimitNode): void {
    if (!this.appendInteger('limit ', node.limit)) super.visitLimit(node);
  }

  protected override visitOffset(node: OffsetNode): void {
    if (!this.appendInteger('offset ', node.offset)) super.visitOffset(node);
  }

  private appendInteger(keyword: string, node: LimitNode['limit']): boolean {
    if (!ValueNode.is(node) || !Number.isSafeInteger(node.value)) return false;
    this.append(`${keyword}${node.value as number}`);
    return true;
  }
}

/** Prepared statements kept per connection: enough for every query the stores build, a bound for any others. */
const STATEMENT_CACHE_SIZE = 1000;

/**
 * better-sqlite3 as Kysely's SQLite dialect sees it, with two additions. Statements are prepared
 * once per SQL text and reused (Kysely prepares on every query otherwise, and preparing costs
 * more than running most of ours). And statements that may write are counted for
 * createWalDurability: every `run()` (Kysely's choice for statements that return no rows: BEGIN,
 * COMMIT, INSERT, UPDATE, DELETE) and every `all()` of a statement that is not read-only
 * (INSERT … RETURNING).
 */
export function kyselySqlite(sqlite: SqliteDatabase, counter: WriteCounter): KyselySqliteDatabase {
  const statements = new Map<string, Statement>();

  function prepared(sql: string): Statement {
    let statement = statements.get(sql);
    if (statement) {
      // Most recently used last: the first entry is the one to drop when full.
      statements.delete(sql);
    } else {
      statement = sqlite.prepare(sql);
      if (statements.size >= STATEMENT_CACHE_SIZE) statements.delete(statements.keys().next().value!);
    }
    statements.set(sql, statement);
    return statement;
  }

  return {
    close: () => void sqlite.close(),
    prepare(sql: string): SqliteStatement {
      const statement = prepared(sql);
      return {
        reader: statement.reader,
        all(parameters: ReadonlyArray<unknown>) {
          const rows = statement.all(parameters) as unknown[];
          if (!statement.readonly) counter.written++;
          return rows;
        },
        run(parameters: ReadonlyArray<unknown>) {
          const result = statement.run(parameters);
          counter.written++;
          return result;
        },
        // A statement being iterated cannot run again until the iteration ends: streams get their own.
        iterate(parameters: ReadonlyArray<unknown>) {
          return sqlite.prepare(sql).iterate(parameters) as IterableIterator<unknown>;
        },
      };
    },
  };
}

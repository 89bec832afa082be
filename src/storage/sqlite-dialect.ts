import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import {
  CompiledQuery, SqliteDialect, SqliteDriver, SqliteQueryCompiler, ValueNode, type DatabaseConnection, type Driver, type LimitNode, type OffsetNode,
  type QueryCompiler, type SqliteDatabase as KyselySqliteDatabase, type SqliteDialectConfig, type SqliteStatement,
} from 'kysely';
import type { WriteCounter } from './durability.js';

/**
 * Kysely's SQLite dialect over `sqlite`, with the statement cache and write counting below, LIMIT
 * written as a literal, and transactions that take the write lock when they begin.
 */
export function sqliteDialect(sqlite: SqliteDatabase, counter: WriteCounter): SqliteDialect {
  return new LatchkeySqliteDialect({ database: kyselySqlite(sqlite, counter) });
}

class LatchkeySqliteDialect extends SqliteDialect {
  constructor(private readonly config: SqliteDialectConfig) {
    super(config);
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.config);
  }

  override createQueryCompiler(): QueryCompiler {
    return new LiteralLimitCompiler();
  }
}

/**
 * BEGIN IMMEDIATE rather than Kysely's BEGIN (deferred). The event writer thread commits on a
 * connection of its own: a deferred transaction that read before it wrote would fail with
 * SQLITE_BUSY (not waited out) if that thread committed in between. Taking the write lock first,
 * the transaction waits its turn instead (busy_timeout) and then reads the latest state.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
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

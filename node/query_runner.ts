// Runs kysely-built queries on our synchronous SQLite connection (sqlite.ts), so storage code
// writes typed queries and stays synchronous. kysely only compiles here: its Kysely instance has a
// DummyDriver (no connection, nothing executed), and the SQL and parameters it produces run through
// prepared statements of the connection it is given (storage's, or the offline log tools'
// read-only one). kysely's own execution is async (every query a promise, the connection taken
// from a pool), which the Raft core's synchronous LogStorage reads and the member's
// one-transaction Ready cannot wait on.
// Must not hold queries (schema.ts, storage_sqlite.ts and the offline tools' cli/log/source.ts
// do) and must not open or close connections.

import {
  type Compilable,
  type CompiledQuery,
  DummyDriver,
  Kysely,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from "kysely";
import type { SqliteDb, SqliteStatement } from "./sqlite.ts";

/** A query builder for `DB` that compiles SQLite SQL and can execute nothing itself. */
export function compileOnly<DB>(): Kysely<DB> {
  return new Kysely<DB>({
    dialect: {
      createAdapter: () => new SqliteAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new SqliteIntrospector(db),
      createQueryCompiler: () => new SqliteQueryCompiler(),
    },
  });
}

export class QueryRunner {
  readonly #db: SqliteDb;
  /**
   * One prepared statement per SQL text. The texts are the query shapes written in the code (none
   * has a list whose length depends on data), so the cache cannot grow with use.
   */
  readonly #stmts = new Map<string, SqliteStatement>();

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  #prepared(q: CompiledQuery): SqliteStatement {
    let s = this.#stmts.get(q.sql);
    if (!s) {
      s = this.#db.prepare(q.sql);
      this.#stmts.set(q.sql, s);
    }
    return s;
  }

  /** Runs a statement; returns the number of rows it changed. */
  run(q: Compilable): number {
    const c = q.compile();
    return Number(this.#prepared(c).run(...c.parameters).changes);
  }

  /** The first row of a query, or undefined. */
  first<O>(q: Compilable<O>): O | undefined {
    const c = q.compile();
    return this.#prepared(c).get(...c.parameters) as O | undefined;
  }

  all<O>(q: Compilable<O>): O[] {
    const c = q.compile();
    return this.#prepared(c).all(...c.parameters) as O[];
  }

  /** The rows of a query one at a time, so a reader can stop early without reading the rest. */
  iterate<O>(q: Compilable<O>): IterableIterator<O> {
    const c = q.compile();
    return this.#prepared(c).iterate(...c.parameters) as IterableIterator<O>;
  }

  /** Runs a statement once without keeping it prepared (schema changes). */
  once(q: Compilable): void {
    const c = q.compile();
    this.#db.prepare(c.sql).run(...c.parameters);
  }

  /**
   * Runs `fn` in one write transaction (BEGIN IMMEDIATE: the write lock is taken up front, so the
   * transaction cannot fail half-way for want of it). On a throw it rolls back and rethrows.
   */
  transaction<T>(fn: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const out = fn();
      this.#db.exec("COMMIT");
      return out;
    } catch (e) {
      try {
        this.#db.exec("ROLLBACK");
      } catch { /* no transaction left to roll back */ }
      throw e;
    }
  }
}

// The SQLite schema of a data dir: its tables as a kysely `Database` type (what every typed query
// in storage is checked against), and the versioned migrations that create and change them, run
// at open by migrate().
// Migrations are built with kysely's schema builder and run synchronously through QueryRunner, all
// pending ones in ONE transaction with their records: a crash mid-migration leaves the file as it
// was (kysely's async Migrator runs SQLite migrations outside a transaction, so a crash between two
// CREATE TABLEs left a half schema that the next open could not migrate). The records stay in the
// table kysely's Migrator keeps (`kysely_migration`: name, ISO timestamp), so data dirs written
// since the first release open unchanged.
// Must not change a migration once released: add a new one, named to sort after the last.

import type { Compilable, Kysely } from "kysely";
import { sql } from "kysely";
import { compileOnly, QueryRunner } from "./query_runner.ts";

export interface EntriesTable {
  /** The rowid: appends go to the end of the B-tree, reads by range are one seek. */
  idx: number;
  term: number;
  type: number;
  data: Uint8Array;
}

/** One row (id = 1). */
export interface HardStateTable {
  id: number;
  term: number;
  vote: string;
  commit_index: number;
}

export interface SnapshotsTable {
  idx: number;
  term: number;
  /** CBOR of the ConfState. */
  conf_state: Uint8Array;
  data: Uint8Array;
  created_ms: number;
}

/** Small named values (identity, conf_state as JSON, compacted_index/term, start counter). */
export interface MetaTable {
  key: string;
  value: string;
}

/** The migrations applied, as kysely's Migrator records them. */
export interface MigrationTable {
  name: string;
  /** ISO 8601. */
  timestamp: string;
}

export interface Database {
  entries: EntriesTable;
  hard_state: HardStateTable;
  snapshots: SnapshotsTable;
  meta: MetaTable;
  kysely_migration: MigrationTable;
}

/** The typed query builder of a data dir (compiles only; QueryRunner executes). */
export const qb: Kysely<Database> = compileOnly<Database>();

const MIGRATION_TABLE = "kysely_migration";

/** A data dir this build cannot migrate: written by a newer coreplane, or its records are damaged. */
export class SchemaError extends Error {
  override name = "SchemaError";
  readonly code = "storage/schema";
}

interface Migration {
  readonly name: string;
  /** The statements, run in order inside the migration transaction. */
  readonly up: (k: Kysely<unknown>) => readonly Compilable[];
}

// Each migration sees a schema-less builder: it must not depend on today's `Database` type, which
// describes the schema after the LAST migration.
const migrations: readonly Migration[] = [
  {
    name: "0001_log",
    up: (k) => [
      k.schema.createTable("entries")
        .addColumn("idx", "integer", (c) => c.primaryKey())
        .addColumn("term", "integer", (c) => c.notNull())
        .addColumn("type", "integer", (c) => c.notNull())
        .addColumn("data", "blob", (c) => c.notNull()),
      k.schema.createTable("hard_state")
        .addColumn("id", "integer", (c) => c.primaryKey().check(sql`id = 1`))
        .addColumn("term", "integer", (c) => c.notNull())
        .addColumn("vote", "text", (c) => c.notNull())
        .addColumn("commit_index", "integer", (c) => c.notNull()),
      k.schema.createTable("snapshots")
        .addColumn("idx", "integer", (c) => c.primaryKey())
        .addColumn("term", "integer", (c) => c.notNull())
        .addColumn("conf_state", "blob", (c) => c.notNull())
        .addColumn("data", "blob", (c) => c.notNull())
        .addColumn("created_ms", "integer", (c) => c.notNull()),
      k.schema.createTable("meta")
        .addColumn("key", "text", (c) => c.primaryKey())
        .addColumn("value", "text", (c) => c.notNull()),
    ],
  },
];

/** SQLite's catalog, for checking a file read-only (migrate() never runs there). */
const catalog = compileOnly<{ sqlite_master: { type: string; name: string } }>();

/** The log's tables that `q`'s file lacks (a copy without its -wal file, or not a data dir at all). */
export function missingTables(q: QueryRunner): string[] {
  const have = new Set(q.all(catalog.selectFrom("sqlite_master").select("name").where("type", "=", "table")).map((r) => r.name));
  return (["entries", "meta", "hard_state", "snapshots"] as const).filter((t) => !have.has(t));
}

/** The names of every migration this build knows, in the order they run. */
export const migrationNames: readonly string[] = migrations.map((m) => m.name);

/**
 * Brings the schema up to date in one transaction; a no-op when it is. Returns the names of the
 * migrations it applied. Throws SchemaError when the file records a migration this build does
 * not know (a newer coreplane wrote it) or records them out of order.
 */
export function migrate(q: QueryRunner, nowMs: number): string[] {
  return q.transaction(() => {
    // The record table exactly as kysely's Migrator creates it.
    q.once(
      qb.schema.createTable(MIGRATION_TABLE).ifNotExists()
        .addColumn("name", "varchar(255)", (c) => c.notNull().primaryKey())
        .addColumn("timestamp", "varchar(255)", (c) => c.notNull()),
    );
    const done = new Set(q.all(qb.selectFrom("kysely_migration").select("name")).map((r) => r.name));
    for (const name of done) {
      if (!migrationNames.includes(name)) {
        throw new SchemaError(`the data dir records schema migration ${name}, unknown to this coreplane (a newer version wrote it)`);
      }
    }
    const applied = migrations.filter((m) => done.has(m.name)).length;
    for (let i = 0; i < applied; i++) {
      if (!done.has(migrations[i].name)) {
        throw new SchemaError(`the data dir records migrations out of order: ${migrations[i].name} is missing before later ones`);
      }
    }
    const pending = migrations.slice(applied);
    const k = qb as unknown as Kysely<unknown>;
    for (const m of pending) {
      for (const stmt of m.up(k)) q.once(stmt);
      q.run(qb.insertInto("kysely_migration").values({ name: m.name, timestamp: new Date(nowMs).toISOString() }));
    }
    return pending.map((m) => m.name);
  });
}

// The SQLite schema of a data dir, as kysely migrations run at open. The log's hot statements
// (append, truncate, read) are prepared directly in storage_sqlite.ts; kysely owns the schema.
// Must not change an existing migration: add a new one.

import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from "kysely";

export interface Schema {
  entries: { idx: number; term: number; type: number; data: Uint8Array };
  hard_state: { id: number; term: number; vote: string; commit_index: number };
  snapshots: { idx: number; term: number; conf_state: Uint8Array; data: Uint8Array; created_ms: number };
  meta: { key: string; value: string };
}

const migrations: Record<string, Migration> = {
  "0001_log": {
    async up(db: Kysely<unknown>) {
      // idx is the rowid: appends are at the end of the B-tree, reads by range are a seek.
      await db.schema.createTable("entries")
        .addColumn("idx", "integer", (c) => c.primaryKey())
        .addColumn("term", "integer", (c) => c.notNull())
        .addColumn("type", "integer", (c) => c.notNull())
        .addColumn("data", "blob", (c) => c.notNull())
        .execute();
      await db.schema.createTable("hard_state")
        .addColumn("id", "integer", (c) => c.primaryKey().check(sql`id = 1`))
        .addColumn("term", "integer", (c) => c.notNull())
        .addColumn("vote", "text", (c) => c.notNull())
        .addColumn("commit_index", "integer", (c) => c.notNull())
        .execute();
      await db.schema.createTable("snapshots")
        .addColumn("idx", "integer", (c) => c.primaryKey())
        .addColumn("term", "integer", (c) => c.notNull())
        .addColumn("conf_state", "blob", (c) => c.notNull())
        .addColumn("data", "blob", (c) => c.notNull())
        .addColumn("created_ms", "integer", (c) => c.notNull())
        .execute();
      await db.schema.createTable("meta")
        .addColumn("key", "text", (c) => c.primaryKey())
        .addColumn("value", "text", (c) => c.notNull())
        .execute();
    },
  },
};

const provider: MigrationProvider = { getMigrations: () => Promise.resolve(migrations) };

/** Brings the schema up to date; throws with kysely's error if a migration fails. */
export async function migrate(db: Kysely<Schema>): Promise<void> {
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "?";
    throw new Error(`schema migration ${failed} failed: ${(error as Error).message ?? error}`);
  }
}

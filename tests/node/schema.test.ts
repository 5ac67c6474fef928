// The data dir's schema and its migrations (node/schema.ts): a data dir written by the first
// release (built here from that release's SQL, captured from its sqlite_master) opens unchanged,
// migrating is idempotent and atomic, and a data dir from a newer coreplane is refused.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { encodeCbor } from "../../internal/cbor.ts";
import { QueryRunner } from "../../node/query_runner.ts";
import { loadRuntime } from "../../node/runtime.ts";
import { migrate, migrationNames, missingTables, SchemaError } from "../../node/schema.ts";
import type { SqliteDb } from "../../node/sqlite.ts";
import { DB_FILE, SqliteStorage } from "../../node/storage_sqlite.ts";
import { tempDir } from "../helpers/procs.ts";

const rt = await loadRuntime();

/** The schema the first release wrote (kysely's Migrator, migration 0001_log), from its sqlite_master. */
const FIRST_RELEASE_SQL = [
  `CREATE TABLE "kysely_migration" ("name" varchar(255) not null primary key, "timestamp" varchar(255) not null)`,
  `CREATE TABLE "kysely_migration_lock" ("id" varchar(255) not null primary key, "is_locked" integer default 0 not null)`,
  `CREATE TABLE "entries" ("idx" integer primary key, "term" integer not null, "type" integer not null, "data" blob not null)`,
  `CREATE TABLE "hard_state" ("id" integer primary key check (id = 1), "term" integer not null, "vote" text not null, "commit_index" integer not null)`,
  `CREATE TABLE "snapshots" ("idx" integer primary key, "term" integer not null, "conf_state" blob not null, "data" blob not null, "created_ms" integer not null)`,
  `CREATE TABLE "meta" ("key" text primary key, "value" text not null)`,
];
const FIRST_RELEASE_ROWS = [
  `INSERT INTO kysely_migration (name, timestamp) VALUES ('0001_log', '2025-01-02T03:04:05.678Z')`,
  `INSERT INTO kysely_migration_lock (id, is_locked) VALUES ('migration_lock', 0)`,
];

function withDb<T>(dir: string, fn: (db: SqliteDb) => T): T {
  const db = rt.openSqlite(join(dir, DB_FILE));
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** Every schema object and every migration record: what "unchanged" compares. */
function schemaOf(dir: string): { master: unknown[]; migrations: unknown[] } {
  return withDb(dir, (db) => ({
    master: db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name").all(),
    migrations: db.prepare("SELECT name, timestamp FROM kysely_migration ORDER BY name").all(),
  }));
}

const s = suite("schema");

s("a new data dir gets the first release's tables, byte for byte, and one migration record", async () => {
  const dir = tempDir("schema");
  try {
    (await SqliteStorage.open(rt, dir)).close();
    const { master, migrations } = schemaOf(dir);
    const sqls = (master as { sql: string | null }[]).map((r) => r.sql).filter((x) => x !== null);
    for (const want of FIRST_RELEASE_SQL.filter((x) => !x.includes("kysely_migration_lock"))) {
      assert.ok(sqls.includes(want), `missing: ${want}\nhave: ${sqls.join("\n")}`);
    }
    assert.equal((migrations as { name: string }[]).map((r) => r.name), [...migrationNames]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

s("a data dir written by the first release opens unchanged, with its log, hard state, snapshot and metadata", async () => {
  const dir = tempDir("schema");
  try {
    const cs = { voters: ["a1"], learners: [] };
    withDb(dir, (db) => {
      db.exec("PRAGMA journal_mode = WAL");
      for (const q of [...FIRST_RELEASE_SQL, ...FIRST_RELEASE_ROWS]) db.exec(q);
      const ins = db.prepare("INSERT INTO entries (idx, term, type, data) VALUES (?, ?, ?, ?)");
      for (let i = 3; i <= 5; i++) ins.run(i, 2, 0, new Uint8Array([i]));
      db.prepare("INSERT INTO hard_state (id, term, vote, commit_index) VALUES (1, ?, ?, ?)").run(2, "a1", 4);
      db.prepare("INSERT INTO snapshots (idx, term, conf_state, data, created_ms) VALUES (?, ?, ?, ?, ?)")
        .run(2, 1, encodeCbor(cs), new Uint8Array([7, 7]), 1234);
      const meta = db.prepare("INSERT INTO meta (key, value) VALUES (?, ?)");
      meta.run("compacted_index", "2");
      meta.run("compacted_term", "1");
      meta.run("conf_state", JSON.stringify(cs));
      meta.run("identity", JSON.stringify({ memberId: "a1", clusterId: "c1" }));
    });
    const before = schemaOf(dir);
    const st = await SqliteStorage.open(rt, dir);
    assert.is(st.firstIndex(), 3);
    assert.is(st.lastIndex(), 5);
    assert.is(st.term(2), 1);
    assert.is(st.term(5), 2);
    assert.equal(st.hardState(), { term: 2, vote: "a1", commit: 4 });
    assert.equal(st.initialState().confState, cs);
    assert.equal(st.snapshotMeta(), { index: 2, term: 1, confState: cs });
    assert.equal([...st.snapshot().data], [7, 7]);
    assert.equal([...st.iterate(3, 5)].map((e) => e.data[0]), [3, 4, 5]);
    assert.is(st.getMeta("identity"), JSON.stringify({ memberId: "a1", clusterId: "c1" }));
    st.close();
    assert.equal(schemaOf(dir), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

s("migrating is idempotent: a second run applies nothing and keeps the records", async () => {
  const dir = tempDir("schema");
  try {
    (await SqliteStorage.open(rt, dir)).close();
    const once = schemaOf(dir);
    (await SqliteStorage.open(rt, dir)).close();
    assert.equal(schemaOf(dir), once);
    assert.equal(withDb(dir, (db) => migrate(new QueryRunner(db), 0)), []);
    assert.equal(schemaOf(dir), once);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

s("a failing migration leaves the file as it was (one transaction)", async () => {
  const dir = tempDir("schema");
  try {
    // A stray `meta` table makes 0001_log fail at its last CREATE TABLE, after three succeeded.
    withDb(dir, (db) => db.exec(`CREATE TABLE "meta" ("x" integer)`));
    const before = withDb(dir, (db) => db.prepare("SELECT name FROM sqlite_master ORDER BY name").all());
    let err: unknown;
    await SqliteStorage.open(rt, dir).catch((e) => (err = e));
    assert.ok(err instanceof Error && /already exists/.test(err.message), String(err));
    assert.equal(withDb(dir, (db) => db.prepare("SELECT name FROM sqlite_master ORDER BY name").all()), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

s("a data dir that records a migration this build does not know is refused and left alone", async () => {
  const dir = tempDir("schema");
  try {
    (await SqliteStorage.open(rt, dir)).close();
    withDb(dir, (db) => db.exec(`INSERT INTO kysely_migration (name, timestamp) VALUES ('9999_future', '2099-01-01T00:00:00.000Z')`));
    const before = schemaOf(dir);
    let err: unknown;
    await SqliteStorage.open(rt, dir).catch((e) => (err = e));
    assert.ok(err instanceof SchemaError, String(err));
    assert.is((err as SchemaError).code, "storage/schema");
    assert.match((err as Error).message, /9999_future/);
    assert.equal(schemaOf(dir), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

s("missingTables() names the log's tables a file lacks, read-only, in a fixed order", async () => {
  const dir = tempDir("schema");
  const fresh = tempDir("schema");
  try {
    withDb(dir, (db) => db.exec(`CREATE TABLE "meta" ("key" text primary key, "value" text not null)`));
    const ro = rt.openSqlite(join(dir, DB_FILE), { readOnly: true });
    try {
      assert.equal(missingTables(new QueryRunner(ro)), ["entries", "hard_state", "snapshots"]);
    } finally {
      ro.close();
    }
    (await SqliteStorage.open(rt, fresh)).close();
    assert.equal(withDb(fresh, (db) => missingTables(new QueryRunner(db))), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(fresh, { recursive: true, force: true });
  }
});

s.run();

// What a storage statement costs built through kysely (build, compile, cached prepared statement,
// run: node/query_runner.ts) against a statement prepared once (node/storage_sqlite.ts
// HotStatements), per execution, on an in-memory database so the disk is not measured. The figure
// behind keeping the hot statements as prepared SQL (node/DESIGN.md, storage).
//   deno run -A bench/storage_queries.ts [executions]     npx tsx bench/storage_queries.ts [executions]
// Must not touch a data dir.

import { QueryRunner } from "../node/query_runner.ts";
import { loadRuntime } from "../node/runtime.ts";
import { migrate, qb } from "../node/schema.ts";
import { prepareHotStatements } from "../node/storage_sqlite.ts";

const n = Number((globalThis as { Deno?: { args: string[] } }).Deno?.args[0] ?? (globalThis as { process?: { argv: string[] } }).process?.argv[2] ?? 100_000);
const rt = await loadRuntime();
const db = rt.openSqlite(":memory:");
const q = new QueryRunner(db);
migrate(q, 0);
const hot = prepareHotStatements(db);
const data = new Uint8Array(64);

function time(what: string, fn: (i: number) => void, count = n): number {
  const warm = Math.min(2_000, count);
  for (let i = 0; i < warm; i++) fn(i);
  const t0 = performance.now();
  for (let i = warm; i < warm + count; i++) fn(i);
  const us = ((performance.now() - t0) * 1000) / count;
  console.log(`${what.padEnd(44)} ${us.toFixed(2).padStart(7)} µs`);
  return us;
}

function inTx(fn: () => void): void {
  db.exec("DELETE FROM entries");
  db.exec("BEGIN");
  fn();
  db.exec("COMMIT");
}

console.log(`${rt.name} ${rt.version}, ${n} executions each, per execution:`);
const rows: [string, number, number][] = [];
let a = 0, b = 0;
inTx(() => (a = time("insert entry: prepared", (i) => hot.insertEntry.run(i + 1, 1, 0, data))));
inTx(() => (b = time("insert entry: kysely", (i) => q.run(qb.insertInto("entries").values({ idx: i + 1, term: 1, type: 0, data })))));
rows.push(["insert entry", a, b]);
a = time("term at index: prepared", (i) => hot.termAt.get((i % n) + 1));
b = time("term at index: kysely", (i) => q.first(qb.selectFrom("entries").select("term").where("idx", "=", (i % n) + 1)));
rows.push(["term at index", a, b]);
const putHard = db.prepare(
  "INSERT INTO hard_state (id, term, vote, commit_index) VALUES (1, ?, ?, ?) " +
    "ON CONFLICT(id) DO UPDATE SET term = excluded.term, vote = excluded.vote, commit_index = excluded.commit_index",
);
a = time("hard state: prepared", (i) => putHard.run(1, "a", i));
b = time("hard state: kysely", (i) =>
  q.run(
    qb.insertInto("hard_state").values({ id: 1, term: 1, vote: "a", commit_index: i })
      .onConflict((oc) => oc.column("id").doUpdateSet((eb) => ({ term: eb.ref("excluded.term"), vote: eb.ref("excluded.vote"), commit_index: eb.ref("excluded.commit_index") }))),
  ));
rows.push(["hard state", a, b]);
const pages = Math.max(10, Math.floor(n / 1000));
const range = db.prepare("SELECT idx, term, type, data FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx");
const lo = (i: number) => ((i * 4096) % (n - 4096)) + 1;
a = time("page of 4096 entries: prepared", (i) => [...range.iterate(lo(i), lo(i) + 4096)], pages);
b = time("page of 4096 entries: kysely", (i) =>
  [...q.iterate(qb.selectFrom("entries").select(["idx", "term", "type", "data"]).where("idx", ">=", lo(i)).where("idx", "<", lo(i) + 4096).orderBy("idx"))], pages);
rows.push(["entries page", a, b]);
time("kysely build + compile only (insert entry)", (i) => qb.insertInto("entries").values({ idx: i, term: 1, type: 0, data }).compile());
console.log("");
for (const [what, p, k] of rows) console.log(`${what.padEnd(14)} prepared ${p.toFixed(2)} µs, kysely ${k.toFixed(2)} µs: +${(k - p).toFixed(2)} µs (${(k / p).toFixed(1)}x)`);
db.close();

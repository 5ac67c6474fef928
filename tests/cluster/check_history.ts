// Re-checks a history that a failed cluster fault scenario kept (history.json in the kept run dir;
// `return: null` there means the outcome is unknown), for debugging a verdict without re-running the
// cluster: `deno run -A tests/cluster/check_history.ts <history.json> [key]`.
// Must not be named *.test.ts: it is a tool, not a suite.

import { readFileSync } from "node:fs";
import { explainKv, type KvInput, type KvOutput, type Operation } from "../helpers/linearizability.ts";

const [file, key] = process.argv.slice(2);
if (!file) {
  console.error("usage: check_history.ts <history.json> [key]");
  process.exit(2);
}
const raw = JSON.parse(readFileSync(file, "utf8")) as (Omit<Operation<KvInput, KvOutput>, "return"> & { return: number | null })[];
const ops = raw
  .map((o) => ({ ...o, return: o.return === null ? Infinity : o.return }))
  .filter((o) => key === undefined || o.input.key === key);
const text = explainKv(ops, 120_000);
console.log(text === "" ? `linearizable (${ops.length} operations)` : text);

// The benchmark suite's command: `deno run -A bench/run.ts [figure ...] [--quick] [--json FILE]`.
// Runs each chosen figure on coreplane and, when etcd is on PATH, on etcd 3.4 (--enable-v2) —
// one server at a time — prints progress on stderr, a table on stdout, and writes JSON.
// Must not run two servers at once or leave a child process behind (see bench/proc.ts).

import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type Ctx, fullParams, quickParams, sideName } from "./context.ts";
import { ensureLoaded } from "./figures/big.ts";
import { measureBigRead } from "./figures/bigread.ts";
import { measureReplay } from "./figures/replay.ts";
import { measureRestart } from "./figures/restart.ts";
import { measureGet32, measurePut32, measurePutSeq } from "./figures/throughput.ts";
import { measureWatchFanout } from "./figures/watch_fanout.ts";
import { describeMachine, machineLine } from "./machine.ts";
import { installCleanup, runCapture, stopAll } from "./proc.ts";
import { Progress } from "./progress.ts";
import {
  compare,
  figureDefs,
  type FigureId,
  figureIds,
  type FigureResult,
  formatTable,
  type Measurement,
  medianRound,
} from "./report.ts";
import { type Impl, repoRoot, type Side } from "./servers.ts";

const usage = `usage: deno run -A bench/run.ts [figure ...] [options]
figures: ${figureIds.join(" ")} (default: all)
options:
  --quick                 short runs (3 s wrk, ${quickParams.bigKeys.toLocaleString("en-US")} keys instead of 1,000,000) for a smoke check
  --json FILE             also write the results as JSON to FILE
  --sides LIST            coreplane,etcd (default: both; etcd only when it is on PATH)
  --coreplane-impl IMPL   coreplane (default) or etcd: run etcd on the coreplane side to test the harness
  --reuse-data            reuse the loaded data dirs in bench/results/big/ from an earlier run
  --keys N                keys for replay/restart/memory (default 1,000,000; quick ${quickParams.bigKeys})
  --duration S            seconds per measured wrk run (default ${fullParams.durationS}; quick ${quickParams.durationS})
  --rounds N              repeat figures 1-4 N times, alternating the sides, and report each side's
                          median round (default 1; 3 on a busy shared machine)
  -h, --help`;

function onPath(tool: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** coreplane can be benchmarked once `deno run -A main.ts serve --help` exits 0. */
async function coreplaneWorks(): Promise<string | undefined> {
  const deno = join(repoRoot, "node_modules", ".bin", "deno");
  try {
    const r = await runCapture("serve --help", deno, ["run", "-A", "main.ts", "serve", "--help"], { cwd: repoRoot });
    if (r.code === 0) return undefined;
    return `\`deno run -A main.ts serve --help\` exited ${r.code ?? r.signal}: ${(r.stderr || r.stdout).trim().split("\n").slice(-3).join(" | ")}`;
  } catch (e) {
    return (e as Error).message;
  }
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      quick: { type: "boolean", default: false },
      json: { type: "string" },
      sides: { type: "string" },
      "coreplane-impl": { type: "string", default: "coreplane" },
      "reuse-data": { type: "boolean", default: false },
      keys: { type: "string" },
      duration: { type: "string" },
      rounds: { type: "string", default: "1" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const unknown = positionals.filter((p) => !(figureIds as readonly string[]).includes(p));
  if (unknown.length) {
    console.error(`unknown figure(s): ${unknown.join(" ")}\n${usage}`);
    return 2;
  }
  const chosen = new Set<FigureId>(positionals.length ? (positionals as FigureId[]) : figureIds);
  const cpImpl = values["coreplane-impl"] as Impl;
  if (cpImpl !== "coreplane" && cpImpl !== "etcd") {
    console.error(`--coreplane-impl must be coreplane or etcd`);
    return 2;
  }
  const params = { ...(values.quick ? quickParams : fullParams) };
  if (values.keys) params.bigKeys = Number(values.keys);
  if (values.duration) params.durationS = Number(values.duration);

  const progress = new Progress();
  installCleanup();
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const resultsDir = join(repoRoot, "bench", "results");
  const ctx: Ctx = {
    quick: values.quick,
    params,
    progress,
    runDir: join(resultsDir, stamp),
    bigDir: join(resultsDir, "big"),
    reuseData: values["reuse-data"],
    impl: { coreplane: cpImpl, etcd: "etcd" },
  };
  mkdirSync(ctx.runDir, { recursive: true });
  const machine = describeMachine(resultsDir);
  progress.say("setup", "", machineLine(machine));

  // Which sides run, and why one does not.
  const wanted = new Set((values.sides ?? "coreplane,etcd").split(",").map((s) => s.trim()));
  const notes: Record<Side, string | undefined> = { coreplane: undefined, etcd: undefined };
  if (!onPath("wrk")) {
    console.error("wrk is not on PATH (apt-get install wrk)");
    return 2;
  }
  if (!wanted.has("etcd")) notes.etcd = "not requested";
  else if (!onPath("etcd")) notes.etcd = "etcd not on PATH";
  if (!wanted.has("coreplane")) notes.coreplane = "not requested";
  else if (cpImpl === "coreplane") notes.coreplane = await coreplaneWorks();
  else if (!onPath("etcd")) notes.coreplane = "etcd not on PATH";
  const sides = (["coreplane", "etcd"] as Side[]).filter((s) => notes[s] === undefined);
  for (const s of ["coreplane", "etcd"] as Side[]) {
    if (notes[s]) progress.say("setup", s, `skipped: ${notes[s]}`);
  }
  if (cpImpl !== "coreplane") progress.say("setup", "", `HARNESS TEST: the coreplane side runs ${cpImpl}`);
  progress.say("setup", "", `figures: ${[...chosen].join(" ")}; ${values.quick ? "QUICK" : "full"} run; logs in ${ctx.runDir}`);

  const measured = new Map<string, Partial<Record<Side, Measurement>>>();
  const errors = new Map<string, string[]>();
  const put = (id: string, side: Side, m: Measurement) => measured.set(id, { ...measured.get(id), [side]: m });
  const fail = (id: string, side: Side, e: unknown) => {
    // deno colours its errors; the table and JSON want plain text.
    // deno-lint-ignore no-control-regex
    const text = String((e as Error).message ?? e).replace(/\x1b\[[0-9;]*m/g, "");
    const msg = `${sideName(ctx, side)}: ${text}`;
    progress.say(id, sideName(ctx, side), `ERROR ${msg.split("\n")[0]}`);
    errors.set(id, [...(errors.get(id) ?? []), msg]);
  };

  const simple: Array<[FigureId, (c: Ctx, s: Side) => Promise<Measurement>]> = [
    ["put-seq", measurePutSeq],
    ["put-32", measurePut32],
    ["get-32", measureGet32],
    ["watch-fanout", measureWatchFanout],
  ];
  const rounds = Math.max(1, Number(values.rounds) || 1);
  for (const [id, fn] of simple) {
    if (!chosen.has(id)) continue;
    const got: Record<Side, Measurement[]> = { coreplane: [], etcd: [] };
    for (let round = 1; round <= rounds; round++) {
      if (rounds > 1) progress.say(id, "", `round ${round}/${rounds}`);
      for (const side of sides) {
        try {
          got[side].push(await fn(ctx, side));
        } catch (e) {
          fail(id, side, e);
        }
      }
    }
    for (const side of sides) if (got[side].length) put(id, side, medianRound(got[side]));
  }

  // bigread: its own fresh server per side, several rows each.
  if (chosen.has("bigread")) {
    for (const side of sides) {
      try {
        for (const [id, m] of Object.entries(await measureBigRead(ctx, side))) put(id, side, m);
      } catch (e) {
        fail("bigread-get-out", side, e);
      }
    }
  }

  // Figures over the loaded data dirs. restart and memory: load the default data dir once per
  // side, read memory, restart. replay (coreplane only): its own full-log data dir (figures/big.ts).
  const restartOrMemory = chosen.has("restart") || chosen.has("memory");
  for (const side of sides) {
    if (restartOrMemory) {
      try {
        const data = await ensureLoaded(ctx, side);
        put("load", side, { value: data.load.keysPerS, detail: { ...data.load, loadedAt: data.loadedAt, reused: data.reused } });
        if (chosen.has("memory")) {
          const m = data.memoryAfterLoad;
          put("memory", side, {
            value: m.rssKb / 1024,
            detail: {
              rssKb: m.rssKb,
              hwmKb: m.hwmKb,
              settleS: m.settleS,
              keys: data.keys,
              measuredAt: data.loadedAt,
              reused: data.reused,
            },
          });
        }
        const r = await measureRestart(ctx, side, data);
        if (chosen.has("restart")) put("restart", side, r.restart);
        put("memory-restarted", side, r.memoryRestarted);
      } catch (e) {
        for (const id of ["restart", "memory"] as FigureId[]) if (chosen.has(id)) fail(id, side, e);
      }
    }
    if (chosen.has("replay") && side === "coreplane") {
      if (ctx.impl.coreplane !== "coreplane") {
        errors.set("replay", ["coreplane side runs etcd (harness test): no replay tool"]);
      } else {
        try {
          put("replay", side, await measureReplay(ctx, await ensureLoaded(ctx, side, "full-log")));
        } catch (e) {
          fail("replay", side, e);
        }
      }
    }
  }

  // Rows in a fixed order; keys differ in a quick run, so the memory titles say how many.
  const order = [
    "put-seq", "put-32", "get-32", "watch-fanout", "replay", "restart", "memory", "memory-restarted", "load",
    "bigread-get-out", "bigread-put-out", "bigread-rss-out", "bigread-get-in", "bigread-put-in", "bigread-rss-in",
  ];
  const rows: FigureResult[] = [];
  for (const id of order) {
    const m = measured.get(id);
    const err = errors.get(id);
    if (!m && !err) continue;
    let note = err ? err.map((e) => e.split("\n")[0]).join("; ") : undefined;
    // With --reuse-data, memory-after-load and the load rate come from the earlier load.
    const reused = (["coreplane", "etcd"] as Side[]).filter((sd) => m?.[sd]?.detail?.reused === true);
    if (reused.length && (id === "memory" || id === "load")) {
      const at = (sd: Side) => String(m?.[sd]?.detail?.measuredAt ?? m?.[sd]?.detail?.loadedAt ?? "");
      const when = reused.map((sd) => `${sd} ${at(sd).slice(0, 16).replace("T", " ")}`);
      note = [note, `reused loads: ${when.join(", ")} UTC`].filter(Boolean).join("; ");
    }
    if (id === "replay" && !note) note = "absolute bar; etcd has no replay tool";
    rows.push(compare(figureDefs[id], m?.coreplane, m?.etcd, cpImpl, note));
  }

  const result = {
    date: new Date().toISOString(),
    quick: ctx.quick,
    params: { ...params, rounds },
    machine,
    coreplaneImpl: cpImpl,
    skipped: notes,
    bigKeys: params.bigKeys,
    figures: rows,
    errors: Object.fromEntries(errors),
  };
  const json = JSON.stringify(result, null, 2);
  writeFileSync(join(ctx.runDir, "results.json"), json);
  if (values.json) writeFileSync(values.json, json);

  console.log("");
  console.log(`coreplane vs etcd — ${result.date}${ctx.quick ? " — QUICK RUN (not comparable to full runs)" : ""}`);
  console.log(machineLine(machine));
  if (cpImpl !== "coreplane") console.log(`HARNESS TEST: the coreplane column is ${cpImpl}`);
  if (restartOrMemory || chosen.has("replay")) console.log(`replay/restart/memory with ${params.bigKeys.toLocaleString("en-US")} keys`);
  console.log("");
  console.log(formatTable(rows));
  console.log("");
  console.log(`JSON: ${values.json ?? join(ctx.runDir, "results.json")}`);
  progress.say("done", "", `${rows.length} rows, ${errors.size} with errors`);
  return errors.size ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} catch (e) {
  console.error(e);
} finally {
  await stopAll();
}
process.exit(code);

// The cluster benchmark's command: `deno run -A bench/cluster.ts [figure ...] [options]`. Runs
// each chosen figure on a fresh 3-member coreplane cluster and, when etcd is on PATH, on a fresh
// 3-member etcd 3.4 cluster (--enable-v2) — one cluster at a time, same flags, same machine, same
// run — prints progress on stderr, a table on stdout, and writes JSON (and, with --json, the
// progress log beside it). The single-member figures stay in bench/run.ts.
// Must not run two clusters at once or leave a member behind (see bench/proc.ts).

import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  type ClusterCtx,
  clusterFullParams,
  clusterQuickParams,
  clusterSideName,
} from "./cluster_context.ts";
import { electionMs, heartbeatMs } from "./cluster_members.ts";
import {
  clusterFigureDefs,
  type ClusterFigureId,
  clusterFigureIds,
  type ClusterRow,
  compareCluster,
  formatClusterTable,
  halfPeakRate,
} from "./cluster_report.ts";
import { measureClusterFailover } from "./figures/cluster_failover.ts";
import { measureClusterLatency } from "./figures/cluster_latency.ts";
import {
  measureClusterPut32,
  measureClusterPutSeq,
  measureClusterQuorumGet,
} from "./figures/cluster_throughput.ts";
import { describeMachine, machineLine } from "./machine.ts";
import { installCleanup, runCapture, stopAll } from "./proc.ts";
import { Progress } from "./progress.ts";
import { type Measurement, medianRound } from "./report.ts";
import { type Impl, repoRoot, type Side } from "./servers.ts";

const usage = `usage: deno run -A bench/cluster.ts [figure ...] [options]
figures: ${clusterFigureIds.join(" ")} (default: all)
options:
  --quick                 short runs (${clusterQuickParams.durationS} s wrk, ${clusterQuickParams.kills} kills) for a smoke check
  --json FILE             also write the results as JSON to FILE and the progress log to FILE's .progress.log
  --sides LIST            coreplane,etcd (default: both; etcd only when it is on PATH)
  --coreplane-impl IMPL   coreplane (default) or etcd: run etcd on the coreplane side to test the harness
  --duration S            seconds per measured wrk / open-loop run (default ${clusterFullParams.durationS})
  --rounds N              repeat put-seq, put-32, quorum-get and latency N times, alternating the
                          sides, and report each side's median round (default 1)
  --kills N               leader kills per side for failover (default ${clusterFullParams.kills})
  --rate N                open-loop rate for latency (default: half of coreplane's put-32 median
                          from this run, measured first if put-32 is not chosen)
  --member-args="ARGS"    more flags for every member of both sides, space-separated (experiments,
                          e.g. "--snapshot-count 1000000"; the run's JSON records them)
  --generator-nice N      nice value of the open-loop generator process (its autogroup and
                          thread; default ${clusterFullParams.generatorNice}; 0 leaves it at the members' priority)
  -h, --help`;

function onPath(tool: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

async function coreplaneWorks(): Promise<string | undefined> {
  const deno = join(repoRoot, "node_modules", ".bin", "deno");
  try {
    const r = await runCapture("serve --help", deno, ["run", "-A", "main.ts", "serve", "--help"], {
      cwd: repoRoot,
    });
    if (r.code === 0) return undefined;
    return `\`deno run -A main.ts serve --help\` exited ${r.code ?? r.signal}: ${
      (r.stderr || r.stdout).trim().split("\n").slice(-3).join(" | ")
    }`;
  } catch (e) {
    return (e as Error).message;
  }
}

function loadAverage(): string {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  } catch {
    return "unknown";
  }
}

/** Everything written to stderr, kept for the progress log next to the JSON. */
const stderrLog: string[] = [];
function teeStderr(): void {
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    stderrLog.push(typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk));
    return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      quick: { type: "boolean", default: false },
      json: { type: "string" },
      sides: { type: "string" },
      "coreplane-impl": { type: "string", default: "coreplane" },
      duration: { type: "string" },
      rounds: { type: "string", default: "1" },
      kills: { type: "string" },
      rate: { type: "string" },
      "generator-nice": { type: "string" },
      "member-args": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const unknown = positionals.filter((p) => !(clusterFigureIds as readonly string[]).includes(p));
  if (unknown.length) {
    console.error(`unknown figure(s): ${unknown.join(" ")}\n${usage}`);
    return 2;
  }
  const chosen = new Set<ClusterFigureId>(
    positionals.length ? (positionals as ClusterFigureId[]) : clusterFigureIds,
  );
  const cpImpl = values["coreplane-impl"] as Impl;
  if (cpImpl !== "coreplane" && cpImpl !== "etcd") {
    console.error(`--coreplane-impl must be coreplane or etcd`);
    return 2;
  }
  const params = { ...(values.quick ? clusterQuickParams : clusterFullParams) };
  if (values.duration) params.durationS = params.latencyS = Number(values.duration);
  if (values.kills) params.kills = Number(values.kills);
  if (values["generator-nice"]) params.generatorNice = Number(values["generator-nice"]);
  const rounds = Math.max(1, Number(values.rounds) || 1);

  teeStderr();
  const progress = new Progress();
  installCleanup();
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const runDir = join(repoRoot, "bench", "results", `cluster-${stamp}`);
  mkdirSync(runDir, { recursive: true });
  const memberArgs = (values["member-args"] ?? "").split(/\s+/).filter(Boolean);
  const ctx: ClusterCtx = {
    quick: values.quick,
    params,
    progress,
    runDir,
    impl: { coreplane: cpImpl, etcd: "etcd" },
    starts: 0,
    memberArgs,
  };
  const machine = describeMachine(join(repoRoot, "bench", "results"));
  const loadBefore = loadAverage();
  progress.say("setup", "", machineLine(machine));
  progress.say(
    "setup",
    "",
    `load average ${loadBefore}; members: 3 per cluster, heartbeat ${heartbeatMs} ms, election ${electionMs} ms`,
  );

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
  if (memberArgs.length) {
    progress.say("setup", "", `EXPERIMENT: every member also gets ${memberArgs.join(" ")}`);
  }
  progress.say(
    "setup",
    "",
    `figures: ${[...chosen].join(" ")}; ${
      values.quick ? "QUICK" : "full"
    } run; ${rounds} round(s); logs in ${runDir}`,
  );

  const measured = new Map<ClusterFigureId, Partial<Record<Side, Measurement>>>();
  const errors = new Map<ClusterFigureId, string[]>();
  const put = (id: ClusterFigureId, side: Side, m: Measurement) =>
    measured.set(id, { ...measured.get(id), [side]: m });
  const fail = (id: ClusterFigureId, side: Side, e: unknown) => {
    // deno-lint-ignore no-control-regex
    const text = String((e as Error).message ?? e).replace(/\x1b\[[0-9;]*m/g, "");
    const msg = `${clusterSideName(ctx, side)}: ${text}`;
    progress.say(id, clusterSideName(ctx, side), `ERROR ${msg.split("\n")[0]}`);
    errors.set(id, [...(errors.get(id) ?? []), msg]);
  };
  /** Rounds alternate which side goes first, so slow drift on the machine hits both alike. */
  const roundSides = (round: number) => (round % 2 === 1 ? sides : [...sides].reverse());
  const runRounds = async (id: ClusterFigureId, fn: (side: Side) => Promise<Measurement>) => {
    const got: Record<Side, Measurement[]> = { coreplane: [], etcd: [] };
    for (let round = 1; round <= rounds; round++) {
      if (rounds > 1) progress.say(id, "", `round ${round}/${rounds}`);
      for (const side of roundSides(round)) {
        try {
          got[side].push(await fn(side));
        } catch (e) {
          fail(id, side, e);
        }
      }
    }
    for (const side of sides) if (got[side].length) put(id, side, medianRound(got[side]));
  };

  if (chosen.has("put-seq")) await runRounds("put-seq", (side) => measureClusterPutSeq(ctx, side));
  if (chosen.has("put-32")) await runRounds("put-32", (side) => measureClusterPut32(ctx, side));
  if (chosen.has("quorum-get")) await runRounds("quorum-get", (side) => measureClusterQuorumGet(ctx, side));

  if (chosen.has("latency")) {
    // The rate: half of coreplane's own peak 32-connection write rate.
    let rate: number | undefined;
    let rateSource = "";
    const peakSide: Side | undefined = sides.includes("coreplane") ? "coreplane" : sides[0];
    try {
      if (values.rate) {
        rate = Number(values.rate);
        rateSource = "--rate";
      } else if (peakSide) {
        let peak = measured.get("put-32")?.[peakSide];
        if (!peak) {
          progress.say(
            "latency",
            clusterSideName(ctx, peakSide),
            "measuring the peak 32-connection PUT rate first",
          );
          peak = await measureClusterPut32(ctx, peakSide);
        }
        rate = halfPeakRate(peak.value);
        rateSource = `half of ${clusterSideName(ctx, peakSide)}'s put-32 (${peak.value.toFixed(0)}/s)`;
      }
    } catch (e) {
      for (const side of sides) {
        fail("latency", side, new Error(`could not set the rate: ${(e as Error).message}`));
      }
    }
    if (rate !== undefined) {
      progress.say("latency", "", `rate ${rate} PUT/s (${rateSource})`);
      const r = rate;
      await runRounds("latency", (side) => measureClusterLatency(ctx, side, r, rateSource));
    }
  }

  if (chosen.has("failover")) {
    for (const side of sides) {
      try {
        put("failover", side, await measureClusterFailover(ctx, side));
      } catch (e) {
        fail("failover", side, e);
      }
    }
  }

  const rows: ClusterRow[] = [];
  for (const id of clusterFigureIds) {
    const m = measured.get(id);
    const err = errors.get(id);
    if (!m && !err) continue;
    let note = err ? err.map((e) => e.split("\n")[0]).join("; ") : undefined;
    if (id === "latency" && m) {
      const d = (m.coreplane ?? m.etcd)?.detail;
      note = [note, d ? `at ${d.rate} PUT/s` : undefined].filter(Boolean).join("; ");
    }
    if (id === "quorum-get" && m) {
      const rps = (
        x?: Measurement,
      ) => (x ? `${Number(x.detail?.quorumPerS).toFixed(0)}/${Number(x.detail?.localPerS).toFixed(0)}` : "—");
      note = [note, `quorum/local req/s cp ${rps(m.coreplane)}, etcd ${rps(m.etcd)}`].filter(Boolean).join(
        "; ",
      );
    }
    rows.push(compareCluster(clusterFigureDefs[id], m?.coreplane, m?.etcd, cpImpl, note));
  }

  const loadAfter = loadAverage();
  const result = {
    kind: "cluster",
    date: new Date().toISOString(),
    quick: ctx.quick,
    params: { ...params, rounds, heartbeatMs, electionMs, members: 3, memberArgs },
    machine,
    loadAverage: { before: loadBefore, after: loadAfter },
    coreplaneImpl: cpImpl,
    skipped: notes,
    figures: rows,
    errors: Object.fromEntries(errors),
  };
  // JSON has no Infinity (a kill with no write, or requests never answered): keep it as a word.
  const json = JSON.stringify(
    result,
    (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v),
    2,
  );
  writeFileSync(join(runDir, "results.json"), json);

  console.log("");
  console.log(
    `coreplane vs etcd, 3-member clusters — ${result.date}${
      ctx.quick ? " — QUICK RUN (not comparable to full runs)" : ""
    }`,
  );
  console.log(machineLine(machine));
  console.log(`load average before ${loadBefore}, after ${loadAfter}`);
  if (cpImpl !== "coreplane") console.log(`HARNESS TEST: the coreplane column is ${cpImpl}`);
  if (memberArgs.length) console.log(`EXPERIMENT: every member also got ${memberArgs.join(" ")}`);
  console.log("");
  console.log(formatClusterTable(rows));
  console.log("");
  console.log(`JSON: ${values.json ?? join(runDir, "results.json")}`);
  progress.say("done", "", `${rows.length} rows, ${errors.size} with errors`);
  if (values.json) {
    writeFileSync(values.json, json);
    writeFileSync(values.json.replace(/\.json$/, "") + ".progress.log", stderrLog.join(""));
  }
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

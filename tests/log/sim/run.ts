// Runs simulator seeds for the test files: a profile (how long, how many clients) per suite, the
// seed's shape (odd seeds 3 members, even seeds 5), the linearizability check of the recorded
// client history, and the failure text (seed, command to reproduce, stats, trace tail). SEED=n in
// the environment narrows a suite to that one seed and prints its trace summary.
// Must not hold test assertions of its own beyond turning a failed run into a thrown Error.

import process from "node:process";
import { explainKv } from "../../helpers/linearizability.ts";
import { limits } from "../../../internal/limits.ts";
import { type SimOptions, SimFailure, type SimResult, Simulator, type SimStats } from "./sim.ts";

export interface Profile {
  /** Used in the reproduce command: "" for tests/log/sim.test.ts, "--faults " for sim.faults.ts. */
  readonly runFlag: string;
  readonly chaosMs: number;
  /** Election timeouts allowed after healing, to elect and commit, then to catch up (see SimOptions). */
  readonly livenessTimeouts: number;
  readonly clients: number;
}

export const CI: Profile = { runFlag: "", chaosMs: 2000, livenessTimeouts: 20, clients: 4 };
export const FAULTS: Profile = { runFlag: "--faults ", chaosMs: 6000, livenessTimeouts: 20, clients: 5 };

/** Odd seeds run 3 members, even seeds 5: a seed alone says everything about its run. */
export function membersFor(seed: number): number {
  return seed % 2 === 1 ? 3 : 5;
}

export function reproduce(seed: number, p: Profile): string {
  return `SEED=${seed} node_modules/.bin/deno run -A tests/run.ts ${p.runFlag}tests/log/sim`;
}

/** SEED=n from the environment, or undefined. */
export function envSeed(): number | undefined {
  const v = process.env.SEED;
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`SEED must be a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

function envFlag(name: string): boolean {
  const v = process.env[name];
  return v !== undefined && v !== "" && v !== "0";
}

function statsLine(s: SimStats): string {
  return Object.entries(s).map(([k, v]) => `${k}=${typeof v === "number" && !Number.isInteger(v) ? v.toFixed(1) : v}`).join(" ");
}

/** An Error whose stack is its first line only: test runners print the message once, not twice. */
function failure(message: string): Error {
  const e = new Error(message);
  e.stack = `Error: ${message.split("\n")[0]}`;
  return e;
}

export interface SeedOutcome {
  readonly result: SimResult;
  readonly linearizability: "ok" | "unknown";
}

/** Runs one seed and checks its history. Throws an Error whose message names the seed and how to rerun it. */
export function runSeed(
  seed: number,
  p: Profile,
  opts: { verbose?: boolean; sabotage?: SimOptions["sabotage"]; storedSnapshots?: boolean; electionJitterFraction?: number } = {},
): SeedOutcome {
  const members = membersFor(seed);
  const sim = new Simulator({
    seed, members, chaosMs: p.chaosMs, livenessTimeouts: p.livenessTimeouts, clients: p.clients,
    traceMessages: envFlag("SIM_TRACE_MESSAGES"), storedSnapshots: opts.storedSnapshots ?? envFlag("SIM_STORED_SNAPSHOTS"), sabotage: opts.sabotage,
    immediateStop: envFlag("SIM_IMMEDIATE_STOP"), noConfCommitSync: envFlag("SIM_NO_CONF_COMMIT_SYNC"),
    electionJitterFraction: opts.electionJitterFraction ?? (envFlag("SIM_NODE_JITTER") ? limits.electionJitterFraction : undefined),
  });
  let result: SimResult;
  try {
    result = sim.run();
  } catch (err) {
    if (!(err instanceof SimFailure)) throw err;
    const tail = err.trace.slice(-80);
    throw failure(
      `simulator seed ${seed} (${members} members) failed: ${err.message}\n` +
        `reproduce: ${reproduce(seed, p)}\n` +
        `(every message and step in the trace: SIM_TRACE_MESSAGES=1 ${reproduce(seed, p)})\n` +
        `knobs: ${JSON.stringify(sim.knobs)}\n` +
        `stats: ${statsLine(err.stats)}\n` +
        `last ${tail.length} of ${err.trace.length} trace lines:\n${tail.join("\n")}`,
    );
  }
  // Generous: a history of a few hundred operations on a few keys checks in milliseconds.
  const why = explainKv(result.history, 10_000);
  if (why !== "" && !why.startsWith("linearizability unknown")) {
    throw failure(
      `simulator seed ${seed} (${members} members): client history is not linearizable\n` +
        `reproduce: ${reproduce(seed, p)}\n${why}\nstats: ${statsLine(result.stats)}`,
    );
  }
  if (opts.verbose) {
    const out = [
      `seed ${seed}: ${members} members, ${result.history.length} client operations, linearizability ${why === "" ? "ok" : "unknown"}`,
      `knobs: ${JSON.stringify(result.knobs)}`,
      `stats: ${statsLine(result.stats)}`,
      ...result.trace,
    ];
    console.log(out.join("\n"));
  }
  return { result, linearizability: why === "" ? "ok" : "unknown" };
}

export interface Totals {
  seeds: number;
  ops: number;
  stats: SimStats | undefined;
  maxLivenessMs: number;
  maxCatchUpMs: number;
  /** Seeds whose history the checker could not settle in time (neither ok nor illegal). */
  unknownLinearizability: number[];
}

/** Runs seeds [from, to) and returns totals (for a summary line). Stops at the first failure. */
export function runSeeds(
  from: number,
  to: number,
  p: Profile,
  filter?: (seed: number) => boolean,
  opts: { electionJitterFraction?: number } = {},
): Totals {
  const t: Totals = { seeds: 0, ops: 0, stats: undefined, maxLivenessMs: 0, maxCatchUpMs: 0, unknownLinearizability: [] };
  for (let seed = from; seed < to; seed++) {
    if (filter !== undefined && !filter(seed)) continue;
    const o = runSeed(seed, p, opts);
    t.seeds++;
    t.ops += o.result.history.length;
    if (o.linearizability === "unknown") t.unknownLinearizability.push(seed);
    t.maxLivenessMs = Math.max(t.maxLivenessMs, o.result.stats.livenessMs);
    t.maxCatchUpMs = Math.max(t.maxCatchUpMs, o.result.stats.catchUpMs);
    if (t.stats === undefined) t.stats = { ...o.result.stats };
    else for (const k of Object.keys(t.stats) as (keyof SimStats)[]) t.stats[k] += o.result.stats[k];
  }
  return t;
}

export function totalsLine(t: Totals): string {
  const s = t.stats;
  if (s === undefined) return "no seeds";
  return `${t.seeds} seeds, ${t.ops} client ops (${s.writesOk} writes ok, ${s.writesUnknown} unknown, ${s.readsOk} reads), ` +
    `${s.events} events, ${s.leaders} leaderships, ${s.crashes} crashes (${s.powerCuts} power cuts, ${s.tornWrites} torn), ` +
    `${s.restarts} restarts, ${s.partitions} partitions, ${s.pauses} pauses, ${s.transfers} transfers, ` +
    `${s.confApplied} conf changes, ${s.snapshotsSent} MsgSnap delivered, ${s.snapshotsRestored} snapshots restored, ` +
    `${s.early} early sends; liveness max ${t.maxLivenessMs.toFixed(0)} ms, catch-up max ${t.maxCatchUpMs.toFixed(0)} ms` +
    (t.unknownLinearizability.length > 0 ? `; histories too slow to check: seeds ${t.unknownLinearizability.join(", ")}` : "");
}

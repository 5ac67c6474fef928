// Cluster figures 1-3 (bench/cluster.ts): wrk throughput against the leader of a fresh 3-member
// cluster — durable PUTs to distinct keys over 1 and over 32 connections, and GETs over 32
// connections with and without quorum=true on the same cluster (the figure is the quorum rate as
// a share of the local one). Each measured run has an unmeasured warm-up run of its kind first.
// Must not run two clusters at once.

import { type ClusterCtx, clusterSideName, withFreshCluster } from "../cluster_context.ts";
import type { Cluster, Member } from "../cluster_members.ts";
import { otherCoresWarn, withOtherCores } from "../cpu.ts";
import { okPerS } from "../cluster_report.ts";
import type { Measurement } from "../report.ts";
import type { Side } from "../servers.ts";
import { runWrk, type WrkRun, type WrkRunResult } from "../wrk.ts";

function wrkDetail(r: WrkRunResult, otherCores: number, warmup?: WrkRunResult): Record<string, unknown> {
  return {
    otherCores,
    wrkRequestsPerS: r.requestsPerS,
    requests: r.requests,
    durationS: r.durationS,
    latencyAvgMs: r.latencyAvgMs,
    latencyP50Ms: r.percentilesMs["50"],
    latencyP90Ms: r.percentilesMs["90"],
    latencyP99Ms: r.percentilesMs["99"],
    latencyMaxMs: r.latencyMaxMs,
    non2xx: r.non2xx,
    socketErrors: r.socketErrors,
    warmupRequestsPerS: warmup?.requestsPerS,
  };
}

/** Warm-up run, then the measured run with other processes' CPU use alongside; warns on errors. */
async function measuredWrk(
  ctx: ClusterCtx,
  figure: string,
  side: Side,
  what: string,
  run: Omit<WrkRun, "durationS">,
  warmArgs: string[],
  measureArgs: string[],
): Promise<{ r: WrkRunResult; warmup: WrkRunResult; otherCores: number }> {
  const name = clusterSideName(ctx, side);
  ctx.progress.say(figure, name, `${what}: warm-up ${ctx.params.warmupS}s`);
  const warmup = await runWrk({ ...run, durationS: ctx.params.warmupS, scriptArgs: warmArgs });
  const { value: r, otherCores } = await withOtherCores(() =>
    ctx.progress.during(
      figure,
      name,
      `${what}: wrk -t${run.threads} -c${run.connections} ${ctx.params.durationS}s`,
      runWrk({ ...run, durationS: ctx.params.durationS, scriptArgs: measureArgs }),
    )
  );
  if (otherCores > otherCoresWarn) {
    ctx.progress.say(figure, name, `WARNING: other processes used ${otherCores.toFixed(2)} cores meanwhile`);
  }
  const s = r.socketErrors;
  const sock = s.connect + s.read + s.write + s.timeout;
  if (r.non2xx > 0 || sock > 0) {
    ctx.progress.say(figure, name, `WARNING: ${r.non2xx} non-2xx responses, ${sock} socket errors`);
  }
  ctx.progress.say(
    figure,
    name,
    `${what}: ${okPerS(r).toFixed(0)} ok/s, p50 ${r.percentilesMs["50"]} ms, p99 ${r.percentilesMs["99"]} ms`,
  );
  return { r, warmup, otherCores };
}

/** Whether the leader is still `leader` after a run (a change would make the run meaningless). */
async function leaderAfter(c: Cluster, leader: Member): Promise<string> {
  try {
    const now = await c.waitLeader(5000);
    return now === leader ? leader.name : `${leader.name} → ${now.name}`;
  } catch (e) {
    return `unknown (${(e as Error).message.split("\n")[0]})`;
  }
}

async function putRun(
  ctx: ClusterCtx,
  side: Side,
  figure: string,
  threads: number,
  connections: number,
): Promise<Measurement> {
  return await withFreshCluster(ctx, side, figure, async (c, leader) => {
    const run = { url: leader.url, threads, connections, script: "put.lua" };
    const { r, warmup, otherCores } = await measuredWrk(ctx, figure, side, "PUT", run, ["w"], ["m"]);
    const leaderNow = await leaderAfter(c, leader);
    if (leaderNow !== leader.name) throw new Error(`leader changed during the run: ${leaderNow}`);
    return { value: okPerS(r), detail: { ...wrkDetail(r, otherCores, warmup), leader: leader.name } };
  });
}

/** Cluster figure 1: sequential PUT to the leader over one connection. */
export function measureClusterPutSeq(ctx: ClusterCtx, side: Side): Promise<Measurement> {
  return putRun(ctx, side, "put-seq", 1, 1);
}

/** Cluster figure 2: PUT to the leader over 32 connections. */
export function measureClusterPut32(ctx: ClusterCtx, side: Side): Promise<Measurement> {
  return putRun(ctx, side, "put-32", 2, 32);
}

/** Loads /v2/keys/bench/k0..k<count-1> through the leader with bench/lua/load.lua. */
async function loadKeys(
  ctx: ClusterCtx,
  side: Side,
  figure: string,
  leader: Member,
  count: number,
): Promise<number> {
  const threads = 2;
  const t0 = performance.now();
  const r = await ctx.progress.during(
    figure,
    clusterSideName(ctx, side),
    `loading ${count.toLocaleString("en-US")} keys through the leader (wrk -c32)`,
    runWrk({
      url: leader.url,
      threads,
      connections: 32,
      durationS: Math.ceil(count / 200) + 60,
      script: "load.lua",
      scriptArgs: [String(count), String(threads)],
      stopAfterThreadsDone: threads,
    }),
  );
  if (!r.load || r.load.ok !== count || r.load.err !== 0) {
    throw new Error(`load of ${count} keys incomplete: ${JSON.stringify(r.load)}\n${r.raw}`);
  }
  return performance.now() - t0;
}

/**
 * Cluster figure 3: GETs of the loaded keys at the leader over 32 connections, local (etcd v2's
 * default) then with quorum=true; the value is quorum/local in percent.
 */
export async function measureClusterQuorumGet(ctx: ClusterCtx, side: Side): Promise<Measurement> {
  const figure = "quorum-get";
  return await withFreshCluster(ctx, side, figure, async (c, leader) => {
    const keys = ctx.params.getKeys;
    const loadMs = await loadKeys(ctx, side, figure, leader, keys);
    const run = { url: leader.url, threads: 2, connections: 32, script: "get.lua" };
    const local = await measuredWrk(ctx, figure, side, "local GET", run, [String(keys)], [String(keys)]);
    const quorum = await measuredWrk(ctx, figure, side, "quorum GET", run, [String(keys), "quorum"], [
      String(keys),
      "quorum",
    ]);
    const leaderNow = await leaderAfter(c, leader);
    if (leaderNow !== leader.name) throw new Error(`leader changed during the run: ${leaderNow}`);
    const localPerS = okPerS(local.r);
    const quorumPerS = okPerS(quorum.r);
    const share = (100 * quorumPerS) / localPerS;
    ctx.progress.say(figure, clusterSideName(ctx, side), `quorum/local = ${share.toFixed(1)} %`);
    return {
      value: share,
      detail: {
        // The busier of the two runs decides whether the share is trustworthy.
        otherCores: Math.max(local.otherCores, quorum.otherCores),
        localPerS,
        quorumPerS,
        local: wrkDetail(local.r, local.otherCores, local.warmup),
        quorum: wrkDetail(quorum.r, quorum.otherCores, quorum.warmup),
        keys,
        loadMs,
        leader: leader.name,
      },
    };
  });
}

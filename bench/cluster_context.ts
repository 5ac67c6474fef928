// What every cluster figure needs to know about the run (quick or full parameters, where data and
// logs go, what runs on the coreplane side, the progress printer), and withFreshCluster(), which
// gives a figure a new 3-member cluster on empty data dirs, with its leader, and stops it after.
// Must not hold figure logic, and must not run two clusters at once.

import { join } from "node:path";
import { Cluster, type Member } from "./cluster_members.ts";
import type { Progress } from "./progress.ts";
import type { Impl, Side } from "./servers.ts";

export interface ClusterParams {
  /** Seconds of each measured wrk run. */
  durationS: number;
  /** Seconds of the unmeasured wrk run before it. */
  warmupS: number;
  /** Keys loaded for the GET figures. */
  getKeys: number;
  /** Leader kills per side for the failover figure. */
  kills: number;
  /** Pause once the cluster is whole again before the next kill. */
  settleMs: number;
  /** Seconds measured / warm-up of the open-loop latency run. */
  latencyS: number;
  latencyWarmupS: number;
  /** Connections the open-loop generator may open. */
  latencyConnections: number;
  /** Nice value the open-loop generator process sets for itself (its autogroup and thread; 0 = unchanged). */
  generatorNice: number;
}

export const clusterFullParams: ClusterParams = {
  durationS: 10,
  warmupS: 3,
  getKeys: 10_000,
  kills: 20,
  settleMs: 1000,
  latencyS: 10,
  latencyWarmupS: 3,
  latencyConnections: 64,
  generatorNice: -10,
};

export const clusterQuickParams: ClusterParams = {
  durationS: 3,
  warmupS: 1,
  getKeys: 2_000,
  kills: 3,
  settleMs: 500,
  latencyS: 3,
  latencyWarmupS: 1,
  latencyConnections: 64,
  generatorNice: -10,
};

export interface ClusterCtx {
  quick: boolean;
  params: ClusterParams;
  progress: Progress;
  /** bench/results/<run id>: this run's logs and throw-away data dirs. */
  runDir: string;
  impl: Record<Side, Impl>;
  /** Counts cluster starts, for unique tokens and log names. */
  starts: number;
  /** More flags for every member of both sides (--member-args; experiments only). */
  memberArgs: string[];
}

export function clusterSideName(ctx: ClusterCtx, side: Side): string {
  return ctx.impl[side] === side ? side : `${side}=${ctx.impl[side]}`;
}

/**
 * Runs `fn` against a new 3-member cluster on empty data dirs (leader elected and agreed on by
 * all three); stops the members and removes the data dirs after, whatever happens.
 */
export async function withFreshCluster<T>(
  ctx: ClusterCtx,
  side: Side,
  figure: string,
  fn: (c: Cluster, leader: Member) => Promise<T>,
): Promise<T> {
  const n = ++ctx.starts;
  const label = `${figure}-${n}`;
  const cluster = new Cluster({
    side,
    impl: ctx.impl[side],
    dir: join(ctx.runDir, "data", `${side}-${label}`),
    logDir: join(ctx.runDir, "logs"),
    label,
    token: `bench-${side}-${label}-${Date.now().toString(36)}`,
    extraArgs: ctx.memberArgs,
  });
  const name = clusterSideName(ctx, side);
  ctx.progress.say(figure, name, "starting 3 members");
  try {
    const { readyMs, leader } = await cluster.start();
    ctx.progress.say(figure, name, `leader ${leader.name} (${leader.url}) after ${readyMs.toFixed(0)} ms`);
    return await fn(cluster, leader);
  } finally {
    await cluster.stop();
  }
}

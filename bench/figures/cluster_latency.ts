// Cluster figure 4: p99 PUT latency at a constant rate — half of coreplane's own peak 32-connection
// PUT rate — against the leader of a fresh 3-member cluster, from the open-loop generator
// (bench/open_loop.ts: latency from each request's scheduled send time, so stalls are not hidden).
// etcd runs at the same rate.
//
// While the generator runs, the bench's main thread runs at a higher CPU priority (nice
// ctx.params.generatorNice, -10 by default; the members were started before, at the normal 0):
// the generator needs about 0.1 ms of CPU per request, but on 2 cores shared with three members
// under load it was otherwise sent late by tens of ms at p99, and lateness counts as latency.
// Raising its priority makes it behave more like a client on another machine; its own lateness
// is still measured and reported (generatorLate). Must not run two clusters at once.

import os from "node:os";

import { type ClusterCtx, clusterSideName, withFreshCluster } from "../cluster_context.ts";
import { otherCoresWarn, withOtherCores } from "../cpu.ts";
import { runOpenLoop } from "../open_loop.ts";
import type { Measurement } from "../report.ts";
import type { Side } from "../servers.ts";

export async function measureClusterLatency(ctx: ClusterCtx, side: Side, rate: number, rateSource: string): Promise<Measurement> {
  const figure = "latency";
  const name = clusterSideName(ctx, side);
  return await withFreshCluster(ctx, side, figure, async (c, leader) => {
    const p = ctx.params;
    const before = os.getPriority();
    let nice = before;
    try {
      os.setPriority(p.generatorNice);
      nice = os.getPriority();
    } catch (e) {
      ctx.progress.say(figure, name, `WARNING: could not raise the generator's priority: ${(e as Error).message}`);
    }
    const { value: r, otherCores } = await withOtherCores(() =>
      ctx.progress.during(
        figure,
        name,
        `open loop ${rate} PUT/s to ${leader.name}: ${p.latencyWarmupS}s warm-up + ${p.latencyS}s measured`,
        runOpenLoop({
          url: leader.url,
          rate,
          durationS: p.latencyS,
          warmupS: p.latencyWarmupS,
          maxConnections: p.latencyConnections,
          keyPrefix: `ol${ctx.starts}-`,
          drainMs: 10_000,
        }),
      )
    ).finally(() => os.setPriority(before));
    if (otherCores > otherCoresWarn) ctx.progress.say(figure, name, `WARNING: other processes used ${otherCores.toFixed(2)} cores meanwhile`);
    const l = r.latency;
    const failed = r.non2xx + r.errors + r.timeouts;
    ctx.progress.say(
      figure,
      name,
      `p50 ${l.p50Ms.toFixed(2)} ms, p99 ${l.p99Ms.toFixed(2)} ms, max ${l.maxMs.toFixed(1)} ms; ${r.ok}/${r.scheduled} ok` +
        `${failed ? ` (${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} unanswered)` : ""}; generator late by p99 ${r.generatorLate.p99Ms.toFixed(2)} ms; ` +
        `${r.connectionsOpened} connections, at most ${r.maxOutstanding} in flight`,
    );
    if (r.failures.length) ctx.progress.say(figure, name, `failures: ${r.failures.join(" | ").slice(0, 300)}`);
    const now = await c.waitLeader(5000).catch(() => undefined);
    if (now !== leader) throw new Error(`leader changed during the run (${leader.name} → ${now?.name ?? "none"})`);
    return {
      value: l.p99Ms,
      detail: {
        ...r,
        otherCores,
        rateSource,
        generatorNice: nice,
        leader: leader.name,
      },
    };
  });
}

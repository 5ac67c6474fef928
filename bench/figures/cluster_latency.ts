// Cluster figure 4: p99 PUT latency at a constant rate — half of coreplane's own peak 32-connection
// PUT rate — against the leader of a fresh 3-member cluster, from the open-loop generator
// (bench/open_loop.ts: latency from each request's scheduled send time, so stalls are not hidden).
// etcd runs at the same rate.
//
// The generator runs as its own process (`deno run -A bench/open_loop.ts ... --nice N`), in a
// session of its own like the members, and raises its priority (nice ctx.params.generatorNice,
// -10 by default, for its autogroup and thread). It needs about 0.1 ms of CPU per request, but on
// 2 cores shared with three busy members (each its own autogroup) it was otherwise scheduled
// late by tens of ms at p99, and lateness counts as latency. The priority makes it behave more
// like a client on another machine; its own lateness is still measured (generatorLate).
// Must not run two clusters at once.

import { join } from "node:path";
import { type ClusterCtx, clusterSideName, withFreshCluster } from "../cluster_context.ts";
import { otherCoresWarn, withOtherCores } from "../cpu.ts";
import { type OpenLoopResult, resultFromJson } from "../open_loop.ts";
import { runCapture } from "../proc.ts";
import type { Measurement } from "../report.ts";
import { repoRoot, type Side } from "../servers.ts";

async function openLoopProcess(
  ctx: ClusterCtx,
  url: string,
  rate: number,
  keyPrefix: string,
): Promise<OpenLoopResult> {
  const p = ctx.params;
  const args = [
    "run",
    "-A",
    "bench/open_loop.ts",
    "--url",
    url,
    "--rate",
    String(rate),
    "--duration",
    String(p.latencyS),
    "--warmup",
    String(p.latencyWarmupS),
    "--connections",
    String(p.latencyConnections),
    "--prefix",
    keyPrefix,
    "--drain",
    "10000",
  ];
  // --nice=N in one word: parseArgs takes a separate "-10" for an option.
  if (p.generatorNice !== 0) args.push(`--nice=${p.generatorNice}`);
  const r = await runCapture("open-loop", join(repoRoot, "node_modules", ".bin", "deno"), args, {
    cwd: repoRoot,
  });
  const line = r.stdout.trim().split("\n").pop() ?? "";
  if (r.code !== 0 || !line.startsWith("{")) {
    throw new Error(
      `open_loop.ts exited ${r.code ?? r.signal}: ${
        (r.stderr + r.stdout).trim().split("\n").slice(-5).join(" | ")
      }`,
    );
  }
  return resultFromJson(line);
}

export async function measureClusterLatency(
  ctx: ClusterCtx,
  side: Side,
  rate: number,
  rateSource: string,
): Promise<Measurement> {
  const figure = "latency";
  const name = clusterSideName(ctx, side);
  return await withFreshCluster(ctx, side, figure, async (c, leader) => {
    const p = ctx.params;
    const { value: r, otherCores } = await withOtherCores(() =>
      ctx.progress.during(
        figure,
        name,
        `open loop ${rate} PUT/s to ${leader.name}: ${p.latencyWarmupS}s warm-up + ${p.latencyS}s measured`,
        openLoopProcess(ctx, leader.url, rate, `ol${ctx.starts}-`),
      )
    );
    if (otherCores > otherCoresWarn) {
      ctx.progress.say(
        figure,
        name,
        `WARNING: other processes used ${otherCores.toFixed(2)} cores meanwhile`,
      );
    }
    const l = r.latency;
    const failed = r.non2xx + r.errors + r.timeouts;
    ctx.progress.say(
      figure,
      name,
      `p50 ${l.p50Ms.toFixed(2)} ms, p99 ${l.p99Ms.toFixed(2)} ms, max ${
        l.maxMs.toFixed(1)
      } ms; ${r.ok}/${r.scheduled} ok` +
        `${
          failed ? ` (${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} unanswered)` : ""
        }; generator late by p50 ` +
        `${r.generatorLate.p50Ms.toFixed(2)} / p99 ${r.generatorLate.p99Ms.toFixed(2)} ms; ` +
        `${r.connectionsOpened} connections, at most ${r.maxOutstanding} in flight`,
    );
    if (r.failures.length) {
      ctx.progress.say(figure, name, `failures: ${r.failures.join(" | ").slice(0, 300)}`);
    }
    const now = await c.waitLeader(5000).catch(() => undefined);
    if (now !== leader) {
      throw new Error(`leader changed during the run (${leader.name} → ${now?.name ?? "none"})`);
    }
    return { value: l.p99Ms, detail: { ...r, otherCores, rateSource, leader: leader.name } };
  });
}

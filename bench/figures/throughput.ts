// Figures 1-3: wrk throughput of durable PUTs to distinct keys (1 connection, then 32) and of
// GETs over 10,000 pre-loaded keys (32 connections). Each runs on a fresh server, with a short
// unmeasured warm-up run first. Must not run two servers at once.

import { type Ctx, sideName, withFreshServer } from "../context.ts";
import { otherCoresWarn, withOtherCores } from "../cpu.ts";
import type { Measurement } from "../report.ts";
import type { Server, Side } from "../servers.ts";
import { runWrk, type WrkRunResult } from "../wrk.ts";
import { loadKeys } from "./load.ts";

function toMeasurement(r: WrkRunResult, warmup: WrkRunResult, otherCores: number): Measurement {
  return {
    value: r.requestsPerS,
    detail: {
      otherCores,
      requests: r.requests,
      durationS: r.durationS,
      latencyAvgMs: r.latencyAvgMs,
      latencyP50Ms: r.percentilesMs["50"],
      latencyP90Ms: r.percentilesMs["90"],
      latencyP99Ms: r.percentilesMs["99"],
      latencyMaxMs: r.latencyMaxMs,
      non2xx: r.non2xx,
      socketErrors: r.socketErrors,
      warmupRequestsPerS: warmup.requestsPerS,
    },
  };
}

function checkErrors(ctx: Ctx, figure: string, side: Side, r: WrkRunResult, otherCores: number): void {
  if (otherCores > otherCoresWarn) {
    ctx.progress.say(figure, sideName(ctx, side), `WARNING: other processes used ${otherCores.toFixed(2)} cores meanwhile`);
  }
  const s = r.socketErrors;
  const sock = s.connect + s.read + s.write + s.timeout;
  if (r.non2xx > 0 || sock > 0) {
    ctx.progress.say(figure, sideName(ctx, side), `WARNING: ${r.non2xx} non-2xx responses, ${sock} socket errors`);
  }
}

async function putRun(
  ctx: Ctx,
  side: Side,
  figure: string,
  threads: number,
  connections: number,
): Promise<Measurement> {
  return await withFreshServer(ctx, side, figure, async (s: Server) => {
    const name = sideName(ctx, side);
    const base = { url: s.url, threads, connections, script: "put.lua" };
    ctx.progress.say(figure, name, `warm-up ${ctx.params.warmupS}s`);
    const warmup = await runWrk({ ...base, durationS: ctx.params.warmupS, scriptArgs: ["w"] });
    const { value: r, otherCores } = await withOtherCores(() =>
      ctx.progress.during(
        figure,
        name,
        `wrk -t${threads} -c${connections} ${ctx.params.durationS}s`,
        runWrk({ ...base, durationS: ctx.params.durationS, scriptArgs: ["m"] }),
      )
    );
    checkErrors(ctx, figure, side, r, otherCores);
    ctx.progress.say(figure, name, `${r.requestsPerS.toFixed(0)} req/s, p99 ${r.percentilesMs["99"]} ms`);
    return toMeasurement(r, warmup, otherCores);
  });
}

/** Figure 1: sequential durable PUT over one connection. */
export function measurePutSeq(ctx: Ctx, side: Side): Promise<Measurement> {
  return putRun(ctx, side, "put-seq", 1, 1);
}

/** Figure 2: PUT over 32 connections. */
export function measurePut32(ctx: Ctx, side: Side): Promise<Measurement> {
  return putRun(ctx, side, "put-32", 2, 32);
}

/** Figure 3: GET over 32 connections, cycling through the pre-loaded keys. */
export async function measureGet32(ctx: Ctx, side: Side): Promise<Measurement> {
  const figure = "get-32";
  return await withFreshServer(ctx, side, figure, async (s: Server) => {
    const name = sideName(ctx, side);
    await loadKeys(ctx, s, figure, ctx.params.getKeys, 32);
    const base = { url: s.url, threads: 2, connections: 32, script: "get.lua", scriptArgs: [String(ctx.params.getKeys)] };
    ctx.progress.say(figure, name, `warm-up ${ctx.params.warmupS}s`);
    const warmup = await runWrk({ ...base, durationS: ctx.params.warmupS });
    const { value: r, otherCores } = await withOtherCores(() =>
      ctx.progress.during(
        figure,
        name,
        `wrk -t2 -c32 ${ctx.params.durationS}s`,
        runWrk({ ...base, durationS: ctx.params.durationS }),
      )
    );
    checkErrors(ctx, figure, side, r, otherCores);
    ctx.progress.say(figure, name, `${r.requestsPerS.toFixed(0)} req/s, p99 ${r.percentilesMs["99"]} ms`);
    return toMeasurement(r, warmup, otherCores);
  });
}

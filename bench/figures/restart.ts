// Figure 6 (and the memory-restarted row): restart a server on its loaded data dir and time
// from process start to the first GET of a loaded key answering 200, `restartReps` times
// (median); after the last start, wait `settleS` and read its RSS. Must not write to the data.

import { type Ctx, logFile, sideName } from "../context.ts";
import { cpuSnapshot, otherCores } from "../cpu.ts";
import { median, type Measurement } from "../report.ts";
import { portsFor, readMemory, type Side, startServer } from "../servers.ts";
import type { BigData } from "./big.ts";

export async function measureRestart(
  ctx: Ctx,
  side: Side,
  big: BigData,
): Promise<{ restart: Measurement; memoryRestarted: Measurement }> {
  const name = sideName(ctx, side);
  const key = `/v2/keys/bench/k${big.keys - 1}`;
  const times: number[] = [];
  const cpuBefore = cpuSnapshot();
  let memoryRestarted: Measurement | undefined;
  for (let i = 1; i <= ctx.params.restartReps; i++) {
    const started = startServer(
      { side, impl: ctx.impl[side], dataDir: big.dataDir, logFile: logFile(ctx, side, "restart"), ...portsFor(side) },
      key,
    );
    const server = await ctx.progress.during("restart", name, `start ${i}/${ctx.params.restartReps}, waiting for GET ${key}`, started);
    try {
      times.push(server.readyMs);
      ctx.progress.say("restart", name, `serving after ${server.readyMs.toFixed(0)} ms`);
      if (i === ctx.params.restartReps) {
        ctx.progress.say("memory", name, `settling ${ctx.params.settleS}s after the restart before reading RSS`);
        await new Promise((r) => setTimeout(r, ctx.params.settleS * 1000));
        const mem = readMemory(server.pid);
        ctx.progress.say("memory", name, `RSS after restart ${(mem.rssKb / 1024).toFixed(1)} MiB`);
        memoryRestarted = {
          value: mem.rssKb / 1024,
          detail: { rssKb: mem.rssKb, hwmKb: mem.hwmKb, pids: mem.pids.length, settleS: ctx.params.settleS, keys: big.keys },
        };
      }
    } finally {
      await server.stop();
    }
  }
  return {
    restart: { value: median(times), detail: { runsMs: times, keys: big.keys, key, otherCores: otherCores(cpuBefore, cpuSnapshot()) } },
    memoryRestarted: memoryRestarted!,
  };
}

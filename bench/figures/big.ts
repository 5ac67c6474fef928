// The loaded data dirs behind figures 5-7: one per side with `bigKeys` keys (1,000,000 in a full
// run), loaded once per run with figures/load.ts, or taken from an earlier run with --reuse-data.
// While the loading server is still up it waits `settleS` and reads its RSS (the memory figure).
// Must not load a data dir twice in one run.

import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Ctx, logFile, sideName } from "../context.ts";
import { type Impl, type Memory, portsFor, readMemory, type Side, startServer } from "../servers.ts";
import { type LoadResult, loadKeys } from "./load.ts";

export interface BigData {
  side: Side;
  impl: Impl;
  dataDir: string;
  keys: number;
  load: LoadResult;
  /** RSS of the server that took the writes, `settleS` after the load. */
  memoryAfterLoad: Memory & { settleS: number };
  /** When the load ran (ISO time); older than this run when reused. */
  loadedAt: string;
  reused: boolean;
}

const loaded = new Map<Side, BigData>();

export async function ensureLoaded(ctx: Ctx, side: Side): Promise<BigData> {
  const have = loaded.get(side);
  if (have) return have;
  const impl = ctx.impl[side];
  const keys = ctx.params.bigKeys;
  const dir = join(ctx.bigDir, `${side}-${impl}-${keys}`);
  const dataDir = join(dir, "data");
  const marker = join(dir, "loaded.json");
  const name = sideName(ctx, side);
  if (ctx.reuseData && existsSync(marker) && existsSync(dataDir)) {
    const b = { ...JSON.parse(readFileSync(marker, "utf8")), reused: true } as BigData;
    ctx.progress.say("load", name, `reusing ${keys.toLocaleString("en-US")} keys loaded ${b.loadedAt} in ${dataDir}`);
    loaded.set(side, b);
    return b;
  }
  rmSync(dir, { recursive: true, force: true });
  ctx.progress.say("load", name, "starting server on an empty data dir");
  const server = await startServer({ side, impl, dataDir, logFile: logFile(ctx, side, "load"), ...portsFor(side) });
  try {
    const load = await loadKeys(ctx, server, "load", keys, 64);
    ctx.progress.say("memory", name, `settling ${ctx.params.settleS}s before reading RSS`);
    await new Promise((r) => setTimeout(r, ctx.params.settleS * 1000));
    const mem = readMemory(server.pid);
    ctx.progress.say("memory", name, `RSS ${(mem.rssKb / 1024).toFixed(1)} MiB (peak ${(mem.hwmKb / 1024).toFixed(1)} MiB)`);
    const b: BigData = {
      side,
      impl,
      dataDir,
      keys,
      load,
      memoryAfterLoad: { ...mem, settleS: ctx.params.settleS },
      loadedAt: new Date().toISOString(),
      reused: false,
    };
    await server.stop();
    writeFileSync(marker, JSON.stringify(b, null, 2));
    loaded.set(side, b);
    return b;
  } finally {
    await server.stop();
  }
}

// The loaded data dirs behind figures 5-7, each with `bigKeys` keys (1,000,000 in a full run),
// loaded once per run with figures/load.ts, or taken from an earlier run with --reuse-data:
// - "default": one per side, servers on default settings; restart and memory use it. While the
//   loading server is still up it waits `settleS` and reads its RSS (the memory figure).
// - "full-log": coreplane only, for replay. On defaults coreplane snapshots every 10,000 entries
//   and compacts the log behind the snapshot, and `log replay` starts from the newest snapshot, so
//   it would replay under 10,000 entries; with --snapshot-count above the key count the log keeps
//   every entry and replay starts from empty.
// Must not load a data dir twice in one run.

import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Ctx, logFile, sideName } from "../context.ts";
import { type Impl, type Memory, portsFor, readMemory, type Side, startServer } from "../servers.ts";
import { type LoadResult, loadKeys } from "./load.ts";

export interface BigData {
  side: Side;
  variant: Variant;
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

export type Variant = "default" | "full-log";

const loaded = new Map<string, BigData>();

export async function ensureLoaded(ctx: Ctx, side: Side, variant: Variant = "default"): Promise<BigData> {
  const id = `${side}/${variant}`;
  const have = loaded.get(id);
  if (have) return have;
  const impl = ctx.impl[side];
  const keys = ctx.params.bigKeys;
  const extraArgs = variant === "full-log" ? ["--snapshot-count", String(2 * keys + 1000)] : [];
  const dir = join(ctx.bigDir, `${side}-${impl}-${keys}${variant === "full-log" ? "-full-log" : ""}`);
  const dataDir = join(dir, "data");
  const marker = join(dir, "loaded.json");
  const name = sideName(ctx, side);
  if (ctx.reuseData && existsSync(marker) && existsSync(dataDir)) {
    const b = { ...JSON.parse(readFileSync(marker, "utf8")), reused: true } as BigData;
    ctx.progress.say("load", name, `reusing ${keys.toLocaleString("en-US")} keys loaded ${b.loadedAt} in ${dataDir}`);
    loaded.set(id, b);
    return b;
  }
  rmSync(dir, { recursive: true, force: true });
  const step = variant === "default" ? "load" : "load full-log";
  ctx.progress.say(step, name, `starting server on an empty data dir ${extraArgs.join(" ")}`);
  const server = await startServer({
    side,
    impl,
    dataDir,
    logFile: logFile(ctx, side, variant === "default" ? "load" : "load-full-log"),
    extraArgs,
    ...portsFor(side),
  });
  try {
    const load = await loadKeys(ctx, server, step, keys, 64);
    let mem: Memory = { rssKb: NaN, hwmKb: NaN, pids: [] };
    if (variant === "default") {
      ctx.progress.say("memory", name, `settling ${ctx.params.settleS}s before reading RSS`);
      await new Promise((r) => setTimeout(r, ctx.params.settleS * 1000));
      mem = readMemory(server.pid);
      ctx.progress.say("memory", name, `RSS ${(mem.rssKb / 1024).toFixed(1)} MiB (peak ${(mem.hwmKb / 1024).toFixed(1)} MiB)`);
    }
    const b: BigData = {
      side,
      variant,
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
    loaded.set(id, b);
    return b;
  } finally {
    await server.stop();
  }
}

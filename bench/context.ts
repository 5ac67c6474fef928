// What every figure needs to know about the run: quick or full parameters, where data and logs
// go, what runs on the coreplane side, and the progress printer; plus withFreshServer(), which
// gives a figure one server on an empty data dir and stops it afterwards.
// Must not hold figure logic.

import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Progress } from "./progress.ts";
import { type Impl, portsFor, type Server, type Side, startServer } from "./servers.ts";

export interface Params {
  /** Seconds of each measured wrk run. */
  durationS: number;
  /** Seconds of the unmeasured wrk run before it (JIT and caches warm for both servers). */
  warmupS: number;
  /** Keys pre-loaded for get-32. */
  getKeys: number;
  watchers: number;
  watchReps: number;
  /** Keys loaded for replay, restart and memory (1,000,000 in a full run). */
  bigKeys: number;
  restartReps: number;
  /** Seconds to wait before reading RSS. */
  settleS: number;
  /** Children of the directory that bigread lists recursively. */
  bigreadKeys: number;
}

export const fullParams: Params = {
  durationS: 10,
  warmupS: 3,
  getKeys: 10_000,
  watchers: 1000,
  watchReps: 5,
  bigKeys: 1_000_000,
  restartReps: 3,
  settleS: 10,
  bigreadKeys: 100_000,
};

export const quickParams: Params = {
  durationS: 3,
  warmupS: 1,
  getKeys: 10_000,
  watchers: 1000,
  watchReps: 3,
  bigKeys: 20_000,
  restartReps: 1,
  settleS: 2,
  bigreadKeys: 20_000,
};

export interface Ctx {
  quick: boolean;
  params: Params;
  progress: Progress;
  /** bench/results/<run id>: this run's logs and throw-away data dirs. */
  runDir: string;
  /** bench/results/big: the loaded data dirs, kept between runs for --reuse-data. */
  bigDir: string;
  reuseData: boolean;
  /** What runs on each side. */
  impl: Record<Side, Impl>;
}

/** Display name of a side, saying when it is not what it claims (harness testing). */
export function sideName(ctx: Ctx, side: Side): string {
  return ctx.impl[side] === side ? side : `${side}=${ctx.impl[side]}`;
}

export function logFile(ctx: Ctx, side: Side, what: string): string {
  mkdirSync(join(ctx.runDir, "logs"), { recursive: true });
  return join(ctx.runDir, "logs", `${side}-${what}.log`);
}

/** Runs `fn` against a server started on an empty data dir; stops it and removes the dir after. */
export async function withFreshServer<T>(ctx: Ctx, side: Side, figure: string, fn: (s: Server) => Promise<T>): Promise<T> {
  const dataDir = join(ctx.runDir, "data", `${side}-${figure}`);
  rmSync(dataDir, { recursive: true, force: true });
  ctx.progress.say(figure, sideName(ctx, side), "starting server");
  const server = await startServer({
    side,
    impl: ctx.impl[side],
    dataDir,
    logFile: logFile(ctx, side, figure),
    ...portsFor(side),
  });
  ctx.progress.say(figure, sideName(ctx, side), `ready in ${server.readyMs.toFixed(0)} ms`);
  try {
    return await fn(server);
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// Loads exactly N keys /v2/keys/bench/k0 .. k<N-1> (64-byte values) into a running server with
// wrk and bench/lua/load.lua, reports progress from the server's X-Etcd-Index, and checks that
// the first and last keys are there. Used for get-32's 10,000 keys and the 1,000,000-key data
// dirs. Must not measure a figure itself (the load rate is only reported as information).

import { type Ctx, sideName } from "../context.ts";
import type { Server } from "../servers.ts";
import { cpuSnapshot, otherCores } from "../cpu.ts";
import { runWrk } from "../wrk.ts";

export interface LoadResult {
  keys: number;
  ms: number;
  keysPerS: number;
  /** X-Etcd-Index and X-Raft-Index after the load (from a GET of the last key). */
  etcdIndex: number;
  raftIndex: number;
  /** Cores' worth of CPU other processes used during the load. */
  otherCores: number;
}

export async function indexHeaders(url: string): Promise<{ status: number; etcdIndex: number; raftIndex: number }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  await res.body?.cancel();
  return {
    status: res.status,
    etcdIndex: Number(res.headers.get("x-etcd-index") ?? NaN),
    raftIndex: Number(res.headers.get("x-raft-index") ?? NaN),
  };
}

export async function loadKeys(
  ctx: Ctx,
  s: Server,
  figure: string,
  count: number,
  connections: number,
): Promise<LoadResult> {
  const threads = 2;
  const t0 = performance.now();
  const cpuBefore = cpuSnapshot();
  const status = async () => {
    const h = await indexHeaders(`${s.url}/v2/keys/`);
    return `index ${h.etcdIndex.toLocaleString("en-US")}`;
  };
  const r = await ctx.progress.during(
    figure,
    sideName(ctx, s.side),
    `loading ${count.toLocaleString("en-US")} keys (wrk -c${connections})`,
    runWrk({
      url: s.url,
      threads,
      connections,
      durationS: Math.ceil(count / 500) + 120,
      script: "load.lua",
      scriptArgs: [String(count), String(threads)],
      stopAfterThreadsDone: threads,
    }),
    status,
    count > 100_000 ? 10_000 : 5000,
  );
  const ms = performance.now() - t0;
  const others = otherCores(cpuBefore, cpuSnapshot());
  if (!r.load || r.load.ok !== count || r.load.err !== 0) {
    throw new Error(`load of ${count} keys incomplete: ${JSON.stringify(r.load)}\n${r.raw}`);
  }
  const first = await indexHeaders(`${s.url}/v2/keys/bench/k0`);
  const last = await indexHeaders(`${s.url}/v2/keys/bench/k${count - 1}`);
  if (first.status !== 200 || last.status !== 200) {
    throw new Error(`after the load GET k0 → ${first.status}, k${count - 1} → ${last.status}`);
  }
  const keysPerS = count / (ms / 1000);
  ctx.progress.say(figure, sideName(ctx, s.side), `loaded in ${(ms / 1000).toFixed(1)} s (${keysPerS.toFixed(0)} keys/s; other processes used ${others.toFixed(2)} cores)`);
  return { keys: count, ms, keysPerS, etcdIndex: last.etcdIndex, raftIndex: last.raftIndex, otherCores: others };
}

// Figure bigread (issue 12, attack 8): big recursive reads next to a writer. A directory of
// `bigreadKeys` children (/v2/keys/bench/k0..; 64-byte values, loaded with figures/load.ts) on a
// fresh server; then, per round, 5 parallel `GET /v2/keys/bench?recursive=true` (each on its own
// connection, body read to the end and counted, not kept) while one keep-alive connection PUTs a
// key every ~20 ms. Measured: each GET's time (request sent -> last byte), the PUT latencies while
// any GET runs, and the server's RSS growth (VmRSS sampled every 10 ms over the round minus VmRSS
// just before it; VmHWM's growth beside it). Two variants: the PUTs go to a key outside the
// directory (`out`: the reads may share an encoding) or inside it (`in`: every read sees a new
// state and encodes its own). `rounds` rounds per variant, the median round.
// Must not run both servers at once (withFreshServer) or send anything but to the loopback.

import http from "node:http";
import { type Ctx, sideName, withFreshServer } from "../context.ts";
import { cpuSnapshot, otherCores } from "../cpu.ts";
import { median, type Measurement, medianRound } from "../report.ts";
import { readMemory, type Server, type Side } from "../servers.ts";
import { loadKeys } from "./load.ts";

export interface BigReadRound {
  getMs: number[];
  putMs: number[];
  rssGrowthMb: number;
  hwmGrowthMb: number;
  bodyBytes: number;
}

export type BigReadVariant = "out" | "in";

const GETS = 5;
const PUT_EVERY_MS = 20;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A GET whose body is counted, not kept; resolves with (ms, bytes, status). */
function timedGet(url: string): Promise<{ ms: number; bytes: number; status: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      let bytes = 0;
      res.on("data", (c: Buffer) => (bytes += c.length));
      res.on("end", () => resolve({ ms: performance.now() - t0, bytes, status: res.statusCode ?? 0 }));
      res.on("error", reject);
    });
    req.setTimeout(120_000, () => req.destroy(new Error("GET timed out")));
    req.on("error", reject);
  });
}

function put(agent: http.Agent, url: string): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "PUT", agent, headers: { "content-type": "application/x-www-form-urlencoded" } }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode === 200 || res.statusCode === 201 ? resolve(performance.now() - t0) : reject(new Error(`PUT ${res.statusCode}`))));
    });
    req.setTimeout(60_000, () => req.destroy(new Error("PUT timed out")));
    req.on("error", reject);
    req.end("value=" + "p".repeat(64));
  });
}

async function round(s: Server, variant: BigReadVariant, n: number): Promise<BigReadRound> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const putBase = variant === "in" ? `${s.url}/v2/keys/bench/probe` : `${s.url}/v2/keys/probe/p`;
  try {
    const before = readMemory(s.pid);
    let rssMax = before.rssKb;
    let hwmMax = before.hwmKb;
    const sampler = setInterval(() => {
      const m = readMemory(s.pid);
      if (m.rssKb > rssMax) rssMax = m.rssKb;
      if (m.hwmKb > hwmMax) hwmMax = m.hwmKb;
    }, 10);
    let reading = true;
    const putMs: number[] = [];
    let k = 0;
    const writer = (async () => {
      while (reading) {
        const t0 = performance.now();
        const ms = await put(agent, `${putBase}${n}-${k++}`);
        if (reading) putMs.push(ms);
        const rest = PUT_EVERY_MS - (performance.now() - t0);
        if (rest > 0) await sleep(rest);
      }
    })();
    await sleep(3 * PUT_EVERY_MS); // the writer is going before the reads start
    const gets = await Promise.all(Array.from({ length: GETS }, () => timedGet(`${s.url}/v2/keys/bench?recursive=true`)));
    reading = false;
    await writer;
    clearInterval(sampler);
    const bad = gets.find((g) => g.status !== 200);
    if (bad) throw new Error(`recursive GET answered ${bad.status}`);
    return {
      getMs: gets.map((g) => g.ms),
      putMs,
      rssGrowthMb: (rssMax - before.rssKb) / 1024,
      hwmGrowthMb: (hwmMax - before.hwmKb) / 1024,
      bodyBytes: gets[0].bytes,
    };
  } finally {
    agent.destroy();
  }
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** Rows: bigread-get-<v> (median GET ms), bigread-put-<v> (max PUT ms), bigread-rss-<v> (MiB). */
export async function measureBigRead(ctx: Ctx, side: Side): Promise<Record<string, Measurement>> {
  const name = sideName(ctx, side);
  const keys = ctx.params.bigreadKeys;
  const rounds = ctx.quick ? 2 : 3;
  return await withFreshServer(ctx, side, "bigread", async (s) => {
    await loadKeys(ctx, s, "bigread", keys, 32);
    const out: Record<string, Measurement> = {};
    for (const variant of ["out", "in"] as BigReadVariant[]) {
      // One unmeasured round: JIT and allocator warm on both servers.
      await round(s, variant, 0);
      const cpuBefore = cpuSnapshot();
      const got: BigReadRound[] = [];
      for (let i = 1; i <= rounds; i++) {
        await sleep(1000);
        const r = await round(s, variant, i);
        got.push(r);
        ctx.progress.say(
          "bigread",
          name,
          `${variant} round ${i}/${rounds}: GETs ${r.getMs.map((m) => m.toFixed(0)).join("/")} ms of ${(r.bodyBytes / 1e6).toFixed(1)} MB; ` +
            `PUT max ${Math.max(...r.putMs).toFixed(0)} ms (${r.putMs.length}); RSS +${r.rssGrowthMb.toFixed(1)} MiB`,
        );
      }
      const cores = otherCores(cpuBefore, cpuSnapshot());
      const detail = (r: BigReadRound) => ({
        keys,
        bodyBytes: r.bodyBytes,
        getMs: r.getMs.map((m) => Math.round(m)),
        putCount: r.putMs.length,
        putP50Ms: pct(r.putMs, 50),
        putP99Ms: pct(r.putMs, 99),
        putMaxMs: Math.max(...r.putMs),
        rssGrowthMb: r.rssGrowthMb,
        hwmGrowthMb: r.hwmGrowthMb,
        otherCores: cores,
      });
      out[`bigread-get-${variant}`] = medianRound(got.map((r) => ({ value: median(r.getMs), detail: detail(r) })));
      out[`bigread-put-${variant}`] = medianRound(got.map((r) => ({ value: Math.max(...r.putMs), detail: detail(r) })));
      out[`bigread-rss-${variant}`] = medianRound(got.map((r) => ({ value: r.rssGrowthMb, detail: detail(r) })));
    }
    return out;
  });
}

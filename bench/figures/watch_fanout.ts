// Figure 4: 1,000 long-poll watchers (GET ?wait=true on one key, keep-alive node:http clients in
// this process) are open; one PUT; the time from sending the PUT until every watcher has its
// event. One unmeasured round first, then `watchReps` measured rounds; the median is the figure.
// Watchers carry waitIndex = the next index, so a watcher the server registers late still gets
// exactly that event. Must not open more than `watchers` + 1 connections.

import http from "node:http";
import { type Ctx, sideName, withFreshServer } from "../context.ts";
import { cpuSnapshot, otherCores } from "../cpu.ts";
import { median, type Measurement } from "../report.ts";
import type { Side } from "../servers.ts";

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function send(agent: http.Agent, method: string, url: string, form?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method,
      agent,
      headers: form === undefined ? {} : { "content-type": "application/x-www-form-urlencoded" },
    }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(form);
  });
}

interface Watcher {
  /** Resolves when the response headers arrive (etcd flushes them as soon as the watch is set). */
  headers: Promise<void>;
  /** Resolves with the time the whole event body had arrived, and the body. */
  done: Promise<{ at: number; status: number; body: string }>;
}

function watch(agent: http.Agent, url: string): Watcher {
  let gotHeaders!: () => void;
  const headers = new Promise<void>((r) => (gotHeaders = r));
  const done = new Promise<{ at: number; status: number; body: string }>((resolve, reject) => {
    const req = http.request(url, { agent }, (res) => {
      gotHeaders();
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ at: performance.now(), status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
  return { headers, done };
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

const value = "0123456789abcdef".repeat(4); // 64 bytes

export async function measureWatchFanout(ctx: Ctx, side: Side): Promise<Measurement> {
  const figure = "watch-fanout";
  const n = ctx.params.watchers;
  return await withFreshServer(ctx, side, figure, async (s) => {
    const name = sideName(ctx, side);
    const watchAgent = new http.Agent({ keepAlive: true, maxSockets: n });
    const putAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const keyUrl = `${s.url}/v2/keys/bench/watched`;
    try {
      let last = await send(putAgent, "PUT", keyUrl, `value=${value}`);
      const cpuBefore = cpuSnapshot();
      const rounds: Array<{ allMs: number; p50Ms: number; putMs: number; headersBeforePut: number }> = [];
      for (let round = 0; round <= ctx.params.watchReps; round++) {
        const index = Number(last.headers["x-etcd-index"]);
        if (!Number.isFinite(index)) throw new Error(`PUT answered without X-Etcd-Index (${last.status})`);
        const watchers = Array.from({ length: n }, () => watch(watchAgent, `${keyUrl}?wait=true&waitIndex=${index + 1}`));
        let headed = 0;
        for (const w of watchers) w.headers.then(() => headed++);
        // Wait until every watch is registered (headers flushed); a server that sends headers
        // only with the event gets 3 s instead, and waitIndex keeps the result exact.
        await Promise.race([Promise.all(watchers.map((w) => w.headers)), new Promise((r) => setTimeout(r, 3000))]);
        const headersBeforePut = headed;
        const t0 = performance.now();
        last = await send(putAgent, "PUT", keyUrl, `value=${value}`);
        const putMs = performance.now() - t0;
        if (last.status >= 300) throw new Error(`PUT → ${last.status} ${last.body}`);
        const results = await within(Promise.all(watchers.map((w) => w.done)), 60_000, "watchers");
        for (const r of results) {
          if (r.status !== 200 || !r.body.includes('"action":"set"') || !r.body.includes(`"modifiedIndex":${index + 1}`)) {
            throw new Error(`watcher got ${r.status} ${r.body.slice(0, 200)}`);
          }
        }
        const delays = results.map((r) => r.at - t0);
        const allMs = Math.max(...delays);
        const label = round === 0 ? "warm-up round" : `round ${round}/${ctx.params.watchReps}`;
        ctx.progress.say(figure, name, `${label}: all ${n} notified after ${allMs.toFixed(1)} ms (PUT answered ${putMs.toFixed(1)} ms, ${headersBeforePut} watches confirmed before the PUT)`);
        if (round > 0) rounds.push({ allMs, p50Ms: median(delays), putMs, headersBeforePut });
      }
      return {
        value: median(rounds.map((r) => r.allMs)),
        detail: { watchers: n, rounds, otherCores: otherCores(cpuBefore, cpuSnapshot()) },
      };
    } finally {
      watchAgent.destroy();
      putAgent.destroy();
    }
  });
}

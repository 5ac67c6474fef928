// An open-loop (constant-rate) PUT load generator, for the cluster bench's p99-at-half-peak
// figure. wrk is closed-loop: each connection sends its next request only after the previous
// answer, so a server stall also stalls the load and the stalled requests are never counted
// (coordinated omission). Here request i is scheduled at start + i/rate whatever happened before,
// and its latency runs from that scheduled time to the end of its answer, so a stall shows up in
// every request scheduled during it, and so does any lateness of this generator itself (reported
// apart as generatorLate). Each PUT writes a key no other request writes (64-byte value, as put.lua).
//
// Requests go over a pool of keep-alive TCP connections (node:net, up to `maxConnections`, opened
// as needed during the warm-up), one request at a time per connection; a request that finds every
// connection busy waits in a queue and that wait is part of its latency. Raw sockets and
// bench/http1.ts instead of node:http's Agent: on this 2-core machine the generator shares the
// CPU with the three members, and node:http cost 0.35 ms of CPU per request under Deno against
// 0.1 ms for this (3,000 sequential PUTs to etcd: 1.23 s vs 0.49 s of CPU, process start included),
// which at 2,000 PUT/s is 0.7 of a core against 0.2.
//
// Also a command: `deno run -A bench/open_loop.ts --url http://127.0.0.1:28111 --rate 1000
// --duration 10 [--nice -10]` prints the result as one line of JSON; the cluster bench runs it so,
// in a session of its own at a raised priority (see raisePriority()). Must not send anything but
// those PUTs.

import { readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { formatPut, frameResponse } from "./http1.ts";
import {
  dueBy,
  type LatencySummary,
  perSecond,
  scheduledAt,
  type SecondSummary,
  summarize,
} from "./open_loop_stats.ts";

export interface OpenLoopOptions {
  /** Base URL of the member, e.g. http://127.0.0.1:28111. */
  url: string;
  /** Requests per second, constant. */
  rate: number;
  /** Seconds measured. */
  durationS: number;
  /** Seconds at the same rate before, not measured (opens the connections, warms the JIT). */
  warmupS: number;
  /** Most connections open at once. */
  maxConnections: number;
  /** Keys are /v2/keys/bench/<keyPrefix><i>. */
  keyPrefix: string;
  /** After the last request's scheduled time, how long to wait for stragglers; those still open count as timed out. */
  drainMs: number;
  /** Called about once a second with the measured requests sent and answered so far. */
  onSecond?: (s: { elapsedS: number; sent: number; answered: number; outstanding: number }) => void;
}

export interface OpenLoopResult {
  rate: number;
  durationS: number;
  warmupS: number;
  /** Requests scheduled in the measured window. */
  scheduled: number;
  ok: number;
  non2xx: number;
  /** Connection errors, and answers that could not be framed. */
  errors: number;
  /** Not answered within drainMs after the last scheduled time. */
  timeouts: number;
  /** From scheduled time to the end of the answer, ms; failed and unanswered requests count as Infinity. */
  latency: LatencySummary;
  /** The same per second of schedule, to tell stalls from overload. */
  latencyPerSecond: SecondSummary[];
  /**
   * How late the generator itself got to each request (when its timer ran - scheduled), ms: the
   * generator's own lateness, which is in `latency` too. Waiting for a free connection is not in
   * here (that is the server being slow), only in `latency`.
   */
  generatorLate: LatencySummary;
  /** Successful answers per second of the measured window. */
  okPerS: number;
  maxOutstanding: number;
  connectionsOpened: number;
  /** The first few distinct failures (status and body, or the socket error), for the logs. */
  failures: string[];
  /** The command's priority change (--nice), when run as a command. */
  priority?: string;
}

const value = "0123456789abcdef".repeat(4); // 64 bytes, as put.lua
const body = `value=${value}`;

interface Conn {
  socket: net.Socket;
  buf: string;
  /** The request in flight on it, or -1. */
  busy: number;
  dead: boolean;
}

export function runOpenLoop(o: OpenLoopOptions): Promise<OpenLoopResult> {
  const u = new URL(o.url);
  const host = u.host;
  const port = Number(u.port);
  const warm = Math.round(o.rate * o.warmupS);
  const total = warm + Math.round(o.rate * o.durationS);
  const measured = total - warm;
  const latency = new Float64Array(measured).fill(Infinity);
  const lag = new Float64Array(measured);
  const status = new Int16Array(measured).fill(-1); // -1 unanswered, 0 error, else the HTTP status
  const failures = new Set<string>();
  const idle: Conn[] = [];
  const conns = new Set<Conn>();
  const queue: number[] = [];
  let queueHead = 0;
  let connectionsOpened = 0;
  let outstanding = 0;
  let maxOutstanding = 0;
  let answered = 0;
  let next = 0;
  let sentMeasured = 0;
  let finishing = false;
  // Start a little in the future so the first requests are not late by the setup itself.
  const t0 = performance.now() + 20;

  return new Promise<OpenLoopResult>((resolveRun) => {
    let drainTimer: ReturnType<typeof setTimeout> | undefined;

    const finish = () => {
      if (finishing) return;
      finishing = true;
      clearTimeout(drainTimer);
      clearInterval(secondTimer);
      for (const c of conns) c.socket.destroy();
      let ok = 0, non2xx = 0, errors = 0, timeouts = 0;
      for (const s of status) {
        if (s === -1) timeouts++;
        else if (s === 0) errors++;
        else if (s >= 200 && s < 300) ok++;
        else non2xx++;
      }
      resolveRun({
        rate: o.rate,
        durationS: o.durationS,
        warmupS: o.warmupS,
        scheduled: measured,
        ok,
        non2xx,
        errors,
        timeouts,
        latency: summarize(latency),
        latencyPerSecond: perSecond(latency, o.rate),
        generatorLate: summarize(lag),
        okPerS: ok / o.durationS,
        maxOutstanding,
        connectionsOpened,
        failures: [...failures],
      });
    };
    const maybeDone = () => {
      if (next === total && outstanding === 0) finish();
    };

    const complete = (i: number, code: number, why?: string) => {
      outstanding--;
      const j = i - warm;
      if (j >= 0 && !finishing) {
        status[j] = code;
        latency[j] = code >= 200 && code < 300 ? performance.now() - scheduledAt(t0, o.rate, i) : Infinity;
        answered++;
      }
      if (why !== undefined && failures.size < 5) failures.add(why);
      maybeDone();
    };

    const send = (c: Conn, i: number) => {
      c.busy = i;
      if (i >= warm) sentMeasured++;
      c.socket.write(formatPut(`/v2/keys/bench/${o.keyPrefix}${i}`, host, body), "latin1");
    };

    /** A connection is free: give it the oldest queued request, or park it. */
    const release = (c: Conn) => {
      c.busy = -1;
      if (queueHead < queue.length) {
        send(c, queue[queueHead++]);
        if (queueHead > 4096 && queueHead * 2 > queue.length) {
          queue.splice(0, queueHead);
          queueHead = 0;
        }
      } else idle.push(c);
    };

    const drop = (c: Conn, why: string) => {
      if (c.dead) return;
      c.dead = true;
      conns.delete(c);
      const k = idle.indexOf(c);
      if (k >= 0) idle.splice(k, 1);
      c.socket.destroy();
      if (c.busy >= 0) complete(c.busy, 0, why);
      c.busy = -1;
      // A queued request may now open a connection in its place.
      if (!finishing && queueHead < queue.length && conns.size < o.maxConnections) open(queue[queueHead++]);
    };

    const open = (i: number) => {
      connectionsOpened++;
      const socket = net.connect({ host: u.hostname, port });
      socket.setNoDelay(true);
      socket.setEncoding("latin1");
      const c: Conn = { socket, buf: "", busy: -1, dead: false };
      conns.add(c);
      socket.on("data", (d: string) => {
        c.buf = c.buf ? c.buf + d : d;
        for (;;) {
          const f = frameResponse(c.buf);
          if (f.kind === "partial") return;
          if (f.kind === "error") return drop(c, f.reason);
          const i = c.busy;
          const text = c.buf.slice(0, f.length);
          c.buf = c.buf.slice(f.length);
          if (i < 0) return drop(c, `answer with no request in flight: ${JSON.stringify(text.slice(0, 80))}`);
          const failed = f.status < 200 || f.status >= 300;
          const bodyAt = text.indexOf("\r\n\r\n") + 4;
          c.busy = -1;
          complete(i, f.status, failed ? `${f.status} ${text.slice(bodyAt, bodyAt + 200)}` : undefined);
          if (f.close) return drop(c, "server closed the connection");
          release(c);
          if (!c.buf) return;
        }
      });
      socket.on("error", (e) => drop(c, `socket: ${e.message}`));
      socket.on("close", () => drop(c, "connection closed"));
      // Writes before the connection is up are buffered by node:net.
      send(c, i);
    };

    const fire = (i: number) => {
      if (i >= warm) lag[i - warm] = performance.now() - scheduledAt(t0, o.rate, i);
      outstanding++;
      if (outstanding > maxOutstanding) maxOutstanding = outstanding;
      const c = idle.pop();
      if (c) send(c, i);
      else if (conns.size < o.maxConnections) open(i);
      else queue.push(i);
    };

    const tick = () => {
      if (finishing) return;
      const due = dueBy(t0, o.rate, performance.now(), total);
      while (next < due) fire(next++);
      if (next < total) {
        setTimeout(tick, Math.max(0, scheduledAt(t0, o.rate, next) - performance.now()));
      } else {
        drainTimer = setTimeout(finish, o.drainMs);
        maybeDone();
      }
    };
    const secondTimer = setInterval(() => {
      o.onSecond?.({ elapsedS: (performance.now() - t0) / 1000, sent: sentMeasured, answered, outstanding });
    }, 1000);
    setTimeout(tick, Math.max(0, t0 - performance.now()));
  });
}

/**
 * Raises this process's CPU priority for the run: the nice value of its autogroup (Linux with
 * sched_autogroup on gives every session its own group, and a thread's nice only counts inside
 * its group; the bench starts this command in a session of its own) and of its main thread.
 * Returns what it could set, for the result.
 */
export function raisePriority(nice: number): string {
  const done: string[] = [];
  try {
    writeFileSync("/proc/self/autogroup", String(nice));
    done.push(readFileSync("/proc/self/autogroup", "utf8").trim());
  } catch (e) {
    done.push(`autogroup not set (${(e as Error).message.split("\n")[0]})`);
  }
  try {
    os.setPriority(nice);
    done.push(`thread nice ${os.getPriority()}`);
  } catch (e) {
    done.push(`thread nice not set (${(e as Error).message.split("\n")[0]})`);
  }
  return done.join("; ");
}

/** JSON has no Infinity (requests never answered): the command writes it as a string. */
export function resultToJson(r: OpenLoopResult): string {
  return JSON.stringify(r, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v));
}

export function resultFromJson(text: string): OpenLoopResult {
  return JSON.parse(text, (_k, v) => (v === "Infinity" ? Infinity : v === "NaN" ? NaN : v)) as OpenLoopResult;
}

function isMain(): boolean {
  try {
    return process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isMain()) {
  const { values } = parseArgs({
    options: {
      url: { type: "string" },
      rate: { type: "string" },
      duration: { type: "string", default: "10" },
      warmup: { type: "string", default: "2" },
      connections: { type: "string", default: "64" },
      prefix: { type: "string", default: "ol" },
      drain: { type: "string", default: "10000" },
      nice: { type: "string" },
    },
  });
  if (!values.url || !values.rate) {
    console.error(
      "usage: deno run -A bench/open_loop.ts --url URL --rate N [--duration S] [--warmup S] [--connections N] [--prefix P] [--drain MS] [--nice N]",
    );
    process.exit(2);
  }
  const priority = values.nice !== undefined ? raisePriority(Number(values.nice)) : "unchanged";
  process.stderr.write(`priority: ${priority}\n`);
  const r = await runOpenLoop({
    url: values.url,
    rate: Number(values.rate),
    durationS: Number(values.duration),
    warmupS: Number(values.warmup),
    maxConnections: Number(values.connections),
    keyPrefix: values.prefix!,
    drainMs: Number(values.drain),
    onSecond: (s) =>
      process.stderr.write(
        `${s.elapsedS.toFixed(0)}s sent ${s.sent} answered ${s.answered} outstanding ${s.outstanding}\n`,
      ),
  });
  console.log(resultToJson({ ...r, priority }));
  process.exit(0);
}

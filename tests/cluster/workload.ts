// The client side of the real-process fault tests: K concurrent clients doing PUT, compare-and-swap
// (prevValue=) and quorum GET (?quorum=true) on a few keys against random members, recording every
// operation with its call and return times for the linearizability checker
// (tests/helpers/linearizability.ts), plus write-once keys whose acknowledged values must all be there
// at the end. Also the end-of-run checks: final quorum reads, "no acknowledged write lost", and the
// linearizability verdict with a readable explanation.
// Must not decide anything about faults (the scenarios do) and must not treat an unknown outcome as a
// failure: a write that timed out or lost its connection may or may not have taken effect.
//
// Outcome rules (etcd v2):
//   PUT  value=v          200/201 -> ok; anything else, timeout or connection error -> unknown
//   PUT  ?prevValue=p     200 -> ok; 412 (errorCode 101) or 404 (errorCode 100) -> failed; else unknown
//   GET  ?quorum=true     200 -> node.value; 404 errorCode 100 -> absent; anything else is dropped
// A client whose operation ended unknown continues under a new client id: in the model each client
// has one operation at a time, and the unknown one never returns.

import { Buffer } from "node:buffer";
import { connect } from "node:net";
import type { Prng } from "../../internal/prng.ts";
import {
  checkOperationsVerbose,
  describeKvOperation,
  explainReport,
  type KvInput,
  type KvOutput,
  kvModel,
  type Operation,
} from "../helpers/linearizability.ts";

export type KvOp = Operation<KvInput, KvOutput>;

export interface WorkloadOptions {
  /** Register keys, e.g. ["/lin/a", "/lin/b"]. */
  readonly keys: readonly string[];
  readonly clients: number;
  readonly prng: Prng;
  /** Client URLs to send the next operation to (members that are up or paused). */
  readonly targets: () => readonly string[];
  /** Per-operation deadline; a write that misses it is unknown. */
  readonly opTimeoutMs?: number;
  /** Relative weights. */
  readonly mix?: { get: number; put: number; cas: number; unique: number };
  /** Prefix of the write-once keys. */
  readonly uniquePrefix?: string;
  /** Pause between a client's operations. */
  readonly thinkMs?: number;
}

export interface UniqueAck {
  readonly key: string;
  readonly value: string;
  readonly index: number | undefined;
  /** The member that answered, and when (performance.now()), for failure messages. */
  readonly via: string;
  readonly call: number;
  readonly return: number;
}

export interface WorkloadCounts {
  ok: number;
  failed: number;
  unknown: number;
  /** Reads that got no usable answer (not recorded). */
  dropped: number;
  /** Acknowledged writes (put, cas ok, unique). */
  acked: number;
  /** Writes whose connection was never established (surely not applied; left out of the history). */
  notSent: number;
}

const now = () => performance.now();

function form(value: string): string {
  return `value=${encodeURIComponent(value)}`;
}

function keyUrl(base: string, key: string, query = ""): string {
  return `${base}/v2/keys${key.split("/").map(encodeURIComponent).join("/")}${query}`;
}

type Answer =
  | { status: number; body?: { errorCode?: number; node?: { value?: string; modifiedIndex?: number } } }
  | { error: string; sent: boolean };

/**
 * One HTTP/1.1 request on a fresh connection (Connection: close). A fresh connection per operation
 * keeps two things exact that a keep-alive pool (fetch) blurs: a connection that was never
 * established means the request never reached the member (`sent: false`: a write that surely did
 * not happen, so it is left out of the history instead of counted unknown), and no request goes out
 * on a pooled socket to a member that has since been killed.
 */
function request(url: string, method: string, body: string | undefined, timeoutMs: number): Promise<Answer> {
  const u = new URL(url);
  const payload = body === undefined ? undefined : Buffer.from(body, "utf8");
  const head = [`${method} ${u.pathname}${u.search} HTTP/1.1`, `Host: ${u.host}`, "Connection: close"];
  if (payload) head.push("Content-Type: application/x-www-form-urlencoded", `Content-Length: ${payload.length}`);
  return new Promise<Answer>((resolve) => {
    let connected = false;
    let done = false;
    let buf = Buffer.alloc(0);
    const sock = connect({ host: u.hostname, port: Number(u.port) });
    const finish = (a: Answer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(a);
    };
    const timer = setTimeout(() => finish({ error: `timeout after ${timeoutMs} ms`, sent: connected }), timeoutMs);
    const parse = (ended: boolean) => {
      const h = buf.indexOf("\r\n\r\n");
      if (h < 0) {
        if (ended) finish({ error: "connection closed before a response", sent: connected });
        return;
      }
      const lines = buf.subarray(0, h).toString("latin1").split("\r\n");
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
      if (!m) return finish({ error: `bad status line ${JSON.stringify(lines[0].slice(0, 80))}`, sent: true });
      const status = Number(m[1]);
      let length: number | undefined;
      let chunked = false;
      for (const l of lines.slice(1)) {
        const c = l.indexOf(":");
        const k = l.slice(0, c).trim().toLowerCase();
        if (k === "content-length") length = Number(l.slice(c + 1).trim());
        if (k === "transfer-encoding" && l.toLowerCase().includes("chunked")) chunked = true;
      }
      let rest = buf.subarray(h + 4);
      if (chunked) {
        const parts: Buffer[] = [];
        let at = 0;
        for (;;) {
          const eol = rest.indexOf("\r\n", at);
          if (eol < 0) break;
          const size = Number.parseInt(rest.subarray(at, eol).toString("latin1"), 16);
          if (!(size >= 0) || rest.length < eol + 2 + size + 2) break;
          if (size === 0) {
            ended = true;
            rest = Buffer.concat(parts);
            length = rest.length;
            break;
          }
          parts.push(rest.subarray(eol + 2, eol + 2 + size));
          at = eol + 2 + size + 2;
        }
        if (length === undefined) {
          if (ended) finish({ status }); // the status arrived; the body was cut
          return;
        }
      }
      if (length !== undefined && rest.length < length && !ended) return;
      if (length === undefined && !ended) return;
      const text = rest.subarray(0, length ?? rest.length).toString("utf8");
      try {
        finish({ status, body: JSON.parse(text) });
      } catch {
        finish({ status });
      }
    };
    sock.on("connect", () => {
      connected = true;
      sock.write(head.join("\r\n") + "\r\n\r\n");
      if (payload) sock.write(payload);
    });
    sock.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      parse(false);
    });
    sock.on("end", () => parse(true));
    sock.on("close", () => parse(true));
    sock.on("error", (e) => {
      if (buf.indexOf("\r\n\r\n") >= 0) parse(true);
      finish({ error: (e as NodeJS.ErrnoException).code ?? e.message, sent: connected });
    });
  });
}

export class Workload {
  readonly history: KvOp[] = [];
  readonly uniques: UniqueAck[] = [];
  readonly counts: WorkloadCounts = { ok: 0, failed: 0, unknown: 0, dropped: 0, acked: 0, notSent: 0 };
  /** Successful operations per second of the run (index = whole seconds since start), for progress checks. */
  readonly okTimes: number[] = [];
  /** Unexpected answers (status + body) seen, a few of each kind, for diagnosis. */
  readonly oddities = new Map<string, number>();
  /**
   * Successful answers that describe another operation (a write answered with a different key or
   * value in its node, a read with another key): the member matched the reply to the wrong request.
   */
  readonly wrongAnswers: string[] = [];
  private stopped = false;
  private running: Promise<void>[] = [];
  private nextClient = 0;
  private readonly o: WorkloadOptions;
  private readonly lastSeen = new Map<string, string>();
  private uniqueSeq = 0;

  constructor(o: WorkloadOptions) {
    this.o = o;
  }

  start(): this {
    for (let i = 0; i < this.o.clients; i++) this.running.push(this.client());
    return this;
  }

  /** Stops issuing operations and waits for the ones in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.running);
    this.running = [];
  }

  /** Successful operations with a return time at or after `since` (performance.now() time). */
  okSince(since: number): number {
    let n = 0;
    for (let i = this.okTimes.length - 1; i >= 0 && this.okTimes[i] >= since; i--) n++;
    return n;
  }

  private odd(what: string): void {
    this.oddities.set(what, (this.oddities.get(what) ?? 0) + 1);
  }

  /** Checks that a 2xx body's node is about this request; records a wrong answer if not. */
  private sameRequest(a: Answer, what: string, via: string, key: string, value: string | undefined, call: number, ret: number): void {
    if (!("status" in a) || !a.body?.node) return;
    const n = a.body.node as { key?: string; value?: string };
    if (n.key !== key || (value !== undefined && n.value !== value)) {
      this.wrongAnswers.push(
        `${what} via ${via} at [${call.toFixed(1)}, ${ret.toFixed(1)}] was answered ${a.status} with the node of another operation: ${JSON.stringify(a.body).slice(0, 300)}`,
      );
    }
  }

  private record(op: KvOp): void {
    this.history.push(op);
    const out = op.output as { unknown?: boolean; ok?: boolean };
    if (out.unknown) this.counts.unknown++;
    else if (op.input.op === "get" || out.ok) {
      this.counts.ok++;
      this.okTimes.push(op.return);
    } else this.counts.failed++;
    if (!out.unknown && op.input.op !== "get" && out.ok) this.counts.acked++;
  }

  private async client(): Promise<void> {
    const { prng } = this.o;
    const mix = this.o.mix ?? { get: 45, put: 30, cas: 15, unique: 10 };
    const total = mix.get + mix.put + mix.cas + mix.unique;
    const timeoutMs = this.o.opTimeoutMs ?? 2000;
    let clientId = this.nextClient++;
    let seq = 0;
    while (!this.stopped) {
      const targets = this.o.targets();
      if (targets.length === 0) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      const base = targets[prng.int(targets.length)];
      const key = this.o.keys[prng.int(this.o.keys.length)];
      const pick = prng.int(total);
      const value = `c${clientId}.${seq++}`;
      if (pick < mix.get) {
        const call = now();
        const a = await request(keyUrl(base, key, "?quorum=true"), "GET", undefined, timeoutMs);
        const ret = now();
        if ("status" in a && a.status === 200 && a.body?.node) {
          const v = a.body.node.value ?? null;
          this.sameRequest(a, `GET ${key}?quorum=true`, base, key, undefined, call, ret);
          this.record({ clientId, input: { op: "get", key }, call, output: { ok: true, value: v }, return: ret });
          if (v !== null) this.lastSeen.set(key, v);
        } else if ("status" in a && a.status === 404 && a.body?.errorCode === 100) {
          this.record({ clientId, input: { op: "get", key }, call, output: { ok: true, value: null }, return: ret });
        } else {
          this.counts.dropped++;
          this.odd("get " + ("error" in a ? a.error.slice(0, 60) : `${a.status} ${a.body?.errorCode ?? ""}`));
        }
      } else if (pick < mix.get + mix.put) {
        const call = now();
        const a = await request(keyUrl(base, key), "PUT", form(value), timeoutMs);
        const ret = now();
        if ("status" in a && (a.status === 200 || a.status === 201)) {
          this.sameRequest(a, `PUT ${key}=${value}`, base, key, value, call, ret);
          this.record({ clientId, input: { op: "put", key, value }, call, output: { ok: true }, return: ret });
          this.lastSeen.set(key, value);
        } else if ("error" in a && !a.sent) {
          this.counts.notSent++;
        } else {
          this.record({ clientId, input: { op: "put", key, value }, call, output: { unknown: true }, return: Infinity });
          this.odd("put " + ("error" in a ? a.error.slice(0, 60) : `${a.status} ${a.body?.errorCode ?? ""}`));
          clientId = this.nextClient++;
        }
      } else if (pick < mix.get + mix.put + mix.cas) {
        const prev = this.lastSeen.get(key) ?? "none";
        const call = now();
        const a = await request(keyUrl(base, key, `?prevValue=${encodeURIComponent(prev)}`), "PUT", form(value), timeoutMs);
        const ret = now();
        const input: KvInput = { op: "cas", key, prev, value };
        if ("status" in a && a.status === 200) {
          this.sameRequest(a, `CAS ${key} ${prev}->${value}`, base, key, value, call, ret);
          this.record({ clientId, input, call, output: { ok: true }, return: ret });
          this.lastSeen.set(key, value);
        } else if ("status" in a && ((a.status === 412 && a.body?.errorCode === 101) || (a.status === 404 && a.body?.errorCode === 100))) {
          this.record({ clientId, input, call, output: { ok: false }, return: ret });
          this.lastSeen.delete(key);
        } else if ("error" in a && !a.sent) {
          this.counts.notSent++;
        } else {
          this.record({ clientId, input, call, output: { unknown: true }, return: Infinity });
          this.odd("cas " + ("error" in a ? a.error.slice(0, 60) : `${a.status} ${a.body?.errorCode ?? ""}`));
          clientId = this.nextClient++;
        }
      } else {
        const ukey = `${this.o.uniquePrefix ?? "/acks"}/u${this.uniqueSeq++}`;
        const call = now();
        const a = await request(keyUrl(base, ukey), "PUT", form(value), timeoutMs);
        const ret = now();
        if ("status" in a && (a.status === 200 || a.status === 201)) {
          this.sameRequest(a, `PUT ${ukey}=${value}`, base, ukey, value, call, ret);
          this.uniques.push({ key: ukey, value, index: a.body?.node?.modifiedIndex, via: base, call, return: ret });
          this.counts.acked++;
          this.counts.ok++;
          this.okTimes.push(now());
        } else if ("error" in a && !a.sent) {
          this.counts.notSent++;
        } else {
          this.counts.unknown++;
        }
      }
      if (this.o.thinkMs) await new Promise((r) => setTimeout(r, this.o.thinkMs));
    }
  }

  /**
   * Reads every register key with quorum=true through `base` (retrying until limitMs, since the
   * cluster may still be settling) and records the reads in the history as a client of their own.
   * Returns the final values.
   */
  async finalReads(bases: readonly string[], limitMs = 20_000): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    for (const key of this.o.keys) {
      const until = Date.now() + limitMs;
      let last = "";
      for (let attempt = 0; ; attempt++) {
        const base = bases[attempt % bases.length];
        const clientId = this.nextClient++;
        const call = now();
        const a = await request(keyUrl(base, key, "?quorum=true"), "GET", undefined, 3000);
        const ret = now();
        if ("status" in a && a.status === 200 && a.body?.node) {
          const v = a.body.node.value ?? null;
          this.history.push({ clientId, input: { op: "get", key }, call, output: { ok: true, value: v }, return: ret });
          out.set(key, v);
          break;
        }
        if ("status" in a && a.status === 404 && a.body?.errorCode === 100) {
          this.history.push({ clientId, input: { op: "get", key }, call, output: { ok: true, value: null }, return: ret });
          out.set(key, null);
          break;
        }
        last = "error" in a ? a.error : `${a.status} ${JSON.stringify(a.body)}`;
        if (Date.now() > until) throw new Error(`final quorum read of ${key} did not succeed within ${limitMs} ms (last: ${last})`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    return out;
  }

  /**
   * Every acknowledged write is there: each write-once key holds its value (read with quorum=true),
   * and no register lost an acknowledged write, i.e. the final value was not written by an operation
   * that finished before some acknowledged write to that key began (that write would then have to
   * be linearized after it, and be the final value). Returns the problems, empty when none.
   */
  async lostWrites(bases: readonly string[], finals: Map<string, string | null>): Promise<string[]> {
    const problems: string[] = [];
    for (const key of this.o.keys) {
      const f = finals.get(key);
      const writes = this.history.filter((o) => o.input.key === key && o.input.op !== "get");
      const acked = writes.filter((o) => (o.output as { ok?: boolean }).ok === true);
      if (f === undefined) continue;
      if (f === null) {
        if (acked.length > 0) problems.push(`${key} is absent at the end, but ${acked.length} writes to it were acknowledged, e.g. ${describeKvOperation(acked[acked.length - 1])}`);
        continue;
      }
      const writer = writes.find((o) => (o.input as { value: string }).value === f);
      if (!writer) {
        problems.push(`${key} ends as ${JSON.stringify(f)}, which no client wrote`);
        continue;
      }
      if ((writer.output as { ok?: boolean }).ok === false) {
        problems.push(`${key} ends as ${JSON.stringify(f)}, the value of a compare-and-swap that was answered as failed: ${describeKvOperation(writer)}`);
        continue;
      }
      const later = acked.filter((o) => o.call > writer.return);
      if (later.length > 0) {
        problems.push(
          `${key} ends as ${JSON.stringify(f)} from ${describeKvOperation(writer)}, but ${later.length} acknowledged writes started after that one returned, e.g. ${describeKvOperation(later[0])}`,
        );
      }
    }
    // Write-once keys, read in parallel batches.
    const missing: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < this.uniques.length) {
        const u = this.uniques[next++];
        let got = "";
        for (let attempt = 0; attempt < 5; attempt++) {
          const a = await request(keyUrl(bases[attempt % bases.length], u.key, "?quorum=true"), "GET", undefined, 3000);
          if ("status" in a && a.status === 200 && a.body?.node) {
            if (a.body.node.value !== u.value) got = `value ${JSON.stringify(a.body.node.value)}, acknowledged ${JSON.stringify(u.value)}`;
            else if (u.index !== undefined && a.body.node.modifiedIndex !== u.index) got = `modifiedIndex ${a.body.node.modifiedIndex}, acknowledged ${u.index}`;
            else got = "";
            break;
          }
          if ("status" in a && a.status === 404) {
            got = "absent";
            break;
          }
          got = `unreadable: ${"error" in a ? a.error : a.status}`;
        }
        if (got !== "") missing.push(`${u.key}: ${got} (PUT via ${u.via} at [${u.call.toFixed(1)}, ${u.return.toFixed(1)}])`);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    if (missing.length > 0) problems.push(`${missing.length} of ${this.uniques.length} acknowledged write-once keys are lost or changed:\n    ${missing.slice(0, 20).join("\n    ")}`);
    return problems;
  }

  /** The linearizability verdict: "" when linearizable, else an explanation (also for a checker timeout). */
  checkLinearizable(timeoutMs = 30_000): { text: string; elapsedMs: number; result: string } {
    const report = checkOperationsVerbose(kvModel, this.history, timeoutMs);
    const text = explainReport(report, {
      describe: describeKvOperation,
      label: (ops) => (ops.length > 0 ? `key ${JSON.stringify(ops[0].input.key)} ` : ""),
      maxLines: 80,
    });
    return { text, elapsedMs: report.elapsedMs, result: report.result };
  }

  summary(): string {
    const c = this.counts;
    const odd = [...this.oddities.entries()].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, n]) => `${k} x${n}`).join("; ");
    return `${this.history.length} recorded ops (${c.ok} ok, ${c.failed} failed cas, ${c.unknown} unknown, ${c.dropped} dropped reads, ${c.notSent} writes not sent), ${c.acked} acknowledged writes, ${this.uniques.length} write-once keys${odd ? `; odd answers: ${odd}` : ""}`;
  }
}

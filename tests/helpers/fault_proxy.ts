// A fault-injecting TCP proxy for real-process cluster tests: one listener in front of each member's
// peer port. Members advertise the proxy's port as their peer URL and listen on the real one, so every
// member-to-member connection passes through here, and the test can partition the cluster (symmetric),
// cut one direction (asymmetric), isolate a member, heal, and delay traffic.
// Must not parse or change the bytes it forwards beyond the first line / HTTP head it reads to learn
// who is connecting, and must not pick ports (the caller passes them). Test code only.
//
// Who is connecting: coreplane's peer connections start with `CPRAFT/1 <channel> <from> <to> <cluster>\n`
// and then carry frames from the connector to the acceptor only, so such a connection carries the
// directed edge from -> to. etcd's peers (used to prove this harness against a real etcd) speak HTTP
// with an `X-Server-From: <hex id>` header: POST /raft and /raft/snapshot carry from -> to, while a GET
// /raft/stream/... is dialled by the member that wants to RECEIVE, so it carries to -> from. Anything
// else (GET /members, /version, probes) is counted as both directions when the source is known, and as
// "unknown source" when it is not; an unknown-source connection is let through unless its destination
// is cut off from every other member.
//
// A connection that a cut affects is destroyed at once (both sockets), so a cut takes effect on
// long-lived streams too, not only on new dials. New blocked connections are, by default, accepted and
// closed as soon as their first line has been read ("reject": like a firewall sending RST, the dialler
// learns at once and backs off). The "blackhole" mode instead accepts, reads and discards everything and
// never answers, until heal() closes it: like a firewall dropping packets, which exercises the dialler's
// send deadlines. SIGSTOP of a member already produces black-hole behaviour for free, so reject is the
// default and the heavier fault runs switch modes.
//
// Runs in-process (FaultProxy) or, so that a busy test runner (a long synchronous linearizability check,
// GC) cannot stall the cluster's network, in a child process driven over stdin/stdout (ProxyProcess,
// started by startProxyProcess(); the child is this same file run with --serve, on Deno).

import { type ChildProcess, spawn } from "node:child_process";
import { createServer, connect, type Server, type Socket } from "node:net";
import { Buffer } from "node:buffer";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export type ProxyMode = "reject" | "blackhole";

export interface ProxiedMember {
  /** The member's index in the test's cluster (0-based). */
  readonly index: number;
  /** Where the proxy listens (the member's advertised peer port). */
  readonly listenPort: number;
  /** The member's real peer port. */
  readonly targetPort: number;
}

export interface ProxyStats {
  /** Connections forwarded to each member (by member index). */
  forwarded: Record<number, number>;
  /** New connections refused or black-holed because of a cut. */
  blocked: Record<number, number>;
  /** Live connections destroyed because a cut came into force. */
  broken: Record<number, number>;
  /** Connections whose source could not be told (HTTP without X-Server-From, garbage). */
  unknownSource: Record<number, number>;
  /** Connections currently open, by destination. */
  open: Record<number, number>;
}

type Edge = readonly [number, number];

/** What a connection carries, learnt from its first bytes. */
export interface Classified {
  /** Index of the connecting member; undefined when the source is unknown. */
  readonly from: number | undefined;
  /** Directed edges (sender, receiver) whose data flows on this connection. */
  readonly edges: readonly Edge[];
  /** The CPRAFT channel (msg, app, snap), for channel-level cuts; undefined for HTTP. */
  readonly channel?: string;
  /** A short description for logs. */
  readonly what: string;
}

const MAX_HEAD = 16 * 1024;
const HEAD_WAIT_MS = 3000;

function normId(id: string): string {
  // Ids are hex without zero padding (etcd's types.ID.String()); accept padded or upper-case too.
  const t = id.trim().toLowerCase().replace(/^0x/, "");
  return /^[0-9a-f]+$/.test(t) ? BigInt("0x" + t).toString(16) : t;
}

/**
 * Reads what a connection is from its first bytes. Returns undefined while more bytes are needed.
 * `ids` maps a member id (hex) to its index; `to` is the member behind this listener.
 */
export function classify(head: Buffer, to: number, ids: ReadonlyMap<string, number>, ended: boolean): Classified | undefined {
  const nl = head.indexOf(10);
  if (head.length >= 9 && head.subarray(0, 9).toString("latin1") === "CPRAFT/1 ") {
    if (nl < 0) return ended || head.length >= MAX_HEAD ? { from: undefined, edges: [], what: "CPRAFT without a line end" } : undefined;
    const line = head.subarray(0, nl).toString("latin1").replace(/\r$/, "");
    const parts = line.split(" ");
    const from = parts.length >= 3 ? ids.get(normId(parts[2])) : undefined;
    if (from === undefined) return { from: undefined, edges: [], what: `unknown CPRAFT source: ${line}` };
    return { from, edges: [[from, to]], channel: parts[1], what: line };
  }
  if (head.length < 9 && !ended && "CPRAFT/1 ".startsWith(head.toString("latin1"))) return undefined;
  // HTTP: wait for the whole head to find X-Server-From.
  const end = head.indexOf("\r\n\r\n");
  if (end < 0) {
    if (ended || head.length >= MAX_HEAD) return { from: undefined, edges: [], what: "no line / head" };
    // Not HTTP-looking at all and a line already arrived: nothing more to learn.
    if (nl >= 0 && !/^[A-Z]+ \S+ HTTP\/1\.[01]\r?$/.test(head.subarray(0, nl).toString("latin1"))) {
      return { from: undefined, edges: [], what: `unknown first line ${JSON.stringify(head.subarray(0, Math.min(nl, 80)).toString("latin1"))}` };
    }
    return undefined;
  }
  const lines = head.subarray(0, end).toString("latin1").split("\r\n");
  const [method, path] = lines[0].split(" ");
  let fromHex: string | undefined;
  for (const l of lines.slice(1)) {
    const c = l.indexOf(":");
    if (c > 0 && l.slice(0, c).trim().toLowerCase() === "x-server-from") fromHex = l.slice(c + 1).trim();
  }
  const from = fromHex === undefined ? undefined : ids.get(normId(fromHex));
  const what = `${method} ${path}${from === undefined ? "" : ` from ${from}`}`;
  if (from === undefined) return { from: undefined, edges: [], what };
  if (method === "GET" && path.startsWith("/raft/stream/")) return { from, edges: [[to, from]], what };
  if (method === "POST" && (path === "/raft" || path.startsWith("/raft/snapshot"))) return { from, edges: [[from, to]], what };
  return { from, edges: [[from, to], [to, from]], what };
}

interface Conn {
  readonly to: number;
  readonly c: Socket;
  u?: Socket;
  edges: readonly Edge[];
  channel?: string;
  from: number | undefined;
  /** Black-holed: kept open, data discarded, closed by heal(). */
  hole: boolean;
}

/** Delivers chunks to a socket in order, each no earlier than delayMs after it arrived. */
class DelayLine {
  private readonly q: { at: number; buf: Buffer | null }[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly dst: Socket;
  private readonly delay: () => number;
  constructor(dst: Socket, delay: () => number) {
    this.dst = dst;
    this.delay = delay;
  }
  push(buf: Buffer | null): void {
    const last = this.q.length > 0 ? this.q[this.q.length - 1].at : 0;
    this.q.push({ at: Math.max(Date.now() + this.delay(), last), buf });
    this.pump();
  }
  private pump(): void {
    if (this.timer !== undefined) return;
    const now = Date.now();
    while (this.q.length > 0 && this.q[0].at <= now) {
      const { buf } = this.q.shift()!;
      if (this.dst.destroyed) return;
      if (buf === null) this.dst.end();
      else this.dst.write(buf);
    }
    if (this.q.length > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, this.q[0].at - now);
    }
  }
  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.q.length = 0;
  }
}

/** The proxy itself, in this process. */
export class FaultProxy {
  private readonly servers = new Map<number, Server>();
  private readonly targets = new Map<number, number>();
  private readonly ids = new Map<string, number>();
  private readonly conns = new Set<Conn>();
  /** Directed edges "a>b" whose data is dropped, or "a>b:channel" for one CPRAFT channel only. */
  private readonly cuts = new Set<string>();
  private mode: ProxyMode = "reject";
  private delayMs = 0;
  private jitterMs = 0;
  private readonly log: (line: string) => void;
  private readonly statsData: ProxyStats = { forwarded: {}, blocked: {}, broken: {}, unknownSource: {}, open: {} };

  constructor(opts: { mode?: ProxyMode; log?: (line: string) => void } = {}) {
    this.mode = opts.mode ?? "reject";
    this.log = opts.log ?? (() => {});
  }

  /** Starts listening in front of a member. */
  async add(m: ProxiedMember): Promise<void> {
    if (this.servers.has(m.index)) throw new Error(`proxy for member ${m.index} already exists`);
    this.targets.set(m.index, m.targetPort);
    const server = createServer((c) => this.accept(m.index, c));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(m.listenPort, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.servers.set(m.index, server);
  }

  /** Tells the proxy which member id (hex) is which member index. */
  setIds(ids: Record<string, number>): void {
    for (const [id, i] of Object.entries(ids)) this.ids.set(normId(id), i);
  }

  members(): number[] {
    return [...this.servers.keys()].sort((a, b) => a - b);
  }

  /** Symmetric partition: members in different groups cannot talk. Members in no group talk to nobody. */
  partition(groups: readonly (readonly number[])[]): void {
    const groupOf = new Map<number, number>();
    groups.forEach((g, gi) => g.forEach((m) => groupOf.set(m, gi)));
    const all = this.members();
    for (const a of all) {
      for (const b of all) {
        if (a === b) continue;
        const ga = groupOf.get(a);
        if (ga === undefined || ga !== groupOf.get(b)) this.cuts.add(`${a}>${b}`);
      }
    }
    this.enforce();
  }

  /**
   * One direction only: data sent by `from` no longer reaches `to` (to's messages still reach from).
   * With `channel` (coreplane's msg, app or snap) only that connection is cut: e.g. heartbeats
   * arrive while appends do not.
   */
  cut(from: number, to: number, channel?: string): void {
    this.cuts.add(channel === undefined ? `${from}>${to}` : `${from}>${to}:${channel}`);
    this.enforce();
  }

  /** Cuts every edge to and from member m. */
  isolate(m: number): void {
    for (const o of this.members()) {
      if (o === m) continue;
      this.cuts.add(`${m}>${o}`);
      this.cuts.add(`${o}>${m}`);
    }
    this.enforce();
  }

  /** Removes every cut; black-holed connections are closed so their diallers reconnect. */
  heal(): void {
    this.cuts.clear();
    for (const k of [...this.conns]) if (k.hole) this.destroy(k);
  }

  setMode(mode: ProxyMode): void {
    this.mode = mode;
  }

  /** Every forwarded chunk is held for ms (+ up to jitterMs, order kept) before delivery. */
  setDelay(ms: number, jitterMs = 0): void {
    this.delayMs = ms;
    this.jitterMs = jitterMs;
  }

  cutEdges(): string[] {
    return [...this.cuts].sort();
  }

  stats(): ProxyStats {
    const open: Record<number, number> = {};
    for (const k of this.conns) if (!k.hole) open[k.to] = (open[k.to] ?? 0) + 1;
    return { ...structuredClone(this.statsData), open };
  }

  async close(): Promise<void> {
    for (const k of [...this.conns]) this.destroy(k);
    await Promise.all([...this.servers.values()].map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.servers.clear();
  }

  private bump(which: Exclude<keyof ProxyStats, "open">, to: number): void {
    const rec = this.statsData[which];
    rec[to] = (rec[to] ?? 0) + 1;
  }

  private isBlocked(k: { to: number; from: number | undefined; edges: readonly Edge[]; channel?: string }): boolean {
    if (k.from === undefined) {
      // Unknown source: blocked only when nobody may send to this member.
      const others = this.members().filter((m) => m !== k.to);
      return others.length > 0 && others.every((m) => this.cuts.has(`${m}>${k.to}`));
    }
    return k.edges.some(([a, b]) => this.cuts.has(`${a}>${b}`) || (k.channel !== undefined && this.cuts.has(`${a}>${b}:${k.channel}`)));
  }

  private enforce(): void {
    for (const k of [...this.conns]) {
      if (!k.hole && this.isBlocked(k)) {
        this.bump("broken", k.to);
        this.destroy(k);
      }
    }
  }

  private destroy(k: Conn): void {
    this.conns.delete(k);
    k.c.destroy();
    k.u?.destroy();
  }

  private accept(to: number, c: Socket): void {
    c.setNoDelay(true);
    let head = Buffer.alloc(0);
    let done = false;
    const onErr = () => c.destroy();
    c.on("error", onErr);
    const decide = (ended: boolean) => {
      if (done) return;
      const cl = classify(head, to, this.ids, ended);
      if (cl === undefined) return;
      done = true;
      clearTimeout(timer);
      c.off("data", onData);
      c.off("end", onEnd);
      this.route(to, c, head, cl);
    };
    const onData = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      decide(false);
    };
    const onEnd = () => decide(true);
    // A dialler that says nothing for a while gets classified with what has arrived.
    const timer = setTimeout(() => decide(true), HEAD_WAIT_MS);
    c.on("data", onData);
    c.on("end", onEnd);
    c.on("close", () => clearTimeout(timer));
  }

  private route(to: number, c: Socket, head: Buffer, cl: Classified): void {
    if (cl.from === undefined) this.bump("unknownSource", to);
    const k: Conn = { to, c, edges: cl.edges, channel: cl.channel, from: cl.from, hole: false };
    if (this.isBlocked(k)) {
      this.bump("blocked", to);
      if (this.mode === "reject") {
        c.destroy();
        return;
      }
      k.hole = true;
      this.conns.add(k);
      c.on("data", () => {}); // read and discard
      c.on("close", () => this.conns.delete(k));
      return;
    }
    const port = this.targets.get(to)!;
    const u = connect({ port, host: "127.0.0.1" });
    u.setNoDelay(true);
    k.u = u;
    this.conns.add(k);
    this.bump("forwarded", to);
    const close = () => this.destroy(k);
    u.on("error", close);
    c.on("error", close);
    u.on("close", close);
    c.on("close", close);
    if (this.delayMs === 0 && this.jitterMs === 0) {
      if (head.length > 0) u.write(head);
      c.pipe(u);
      u.pipe(c);
      c.resume();
    } else {
      const delay = () => this.delayMs + (this.jitterMs > 0 ? Math.floor(Math.random() * this.jitterMs) : 0);
      const up = new DelayLine(u, delay);
      const down = new DelayLine(c, delay);
      if (head.length > 0) up.push(head);
      c.on("data", (d: Buffer) => up.push(d));
      c.on("end", () => up.push(null));
      u.on("data", (d: Buffer) => down.push(d));
      u.on("end", () => down.push(null));
      c.on("close", () => up.clear());
      u.on("close", () => down.clear());
      c.resume();
    }
    this.log(`forward to ${to}: ${cl.what}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The proxy in a child process, driven by JSON lines on stdin/stdout.

type Command =
  | { op: "add"; member: ProxiedMember }
  | { op: "ids"; ids: Record<string, number> }
  | { op: "partition"; groups: number[][] }
  | { op: "cut"; from: number; to: number; channel?: string }
  | { op: "isolate"; member: number }
  | { op: "heal" }
  | { op: "mode"; mode: ProxyMode }
  | { op: "delay"; ms: number; jitterMs: number }
  | { op: "stats" }
  | { op: "close" };

/** The control side of a proxy running in a child process. Same operations as FaultProxy, async. */
export class ProxyProcess {
  private readonly child: ChildProcess;
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private out = "";
  private errText = "";
  private exited = false;

  constructor(child: ChildProcess) {
    this.child = child;
    let buf = "";
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (d: string) => {
      buf += d;
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let msg: { id?: number; ok?: boolean; error?: string; value?: unknown };
        try {
          msg = JSON.parse(line);
        } catch {
          this.out += line + "\n";
          continue;
        }
        const w = msg.id === undefined ? undefined : this.waiting.get(msg.id);
        if (!w) continue;
        this.waiting.delete(msg.id!);
        if (msg.ok) w.resolve(msg.value);
        else w.reject(new Error(`fault proxy: ${msg.error}`));
      }
    });
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (d: string) => (this.errText = (this.errText + d).slice(-20_000)));
    child.once("exit", (code, sig) => {
      this.exited = true;
      for (const w of this.waiting.values()) w.reject(new Error(`fault proxy exited (${code ?? sig}): ${this.errText.slice(-2000)}`));
      this.waiting.clear();
    });
  }

  private call<T>(cmd: Command): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`fault proxy has exited: ${this.errText.slice(-2000)}`));
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.stdin!.write(JSON.stringify({ id, ...cmd }) + "\n");
    });
  }

  add(member: ProxiedMember): Promise<void> {
    return this.call({ op: "add", member });
  }
  setIds(ids: Record<string, number>): Promise<void> {
    return this.call({ op: "ids", ids });
  }
  partition(groups: readonly (readonly number[])[]): Promise<void> {
    return this.call({ op: "partition", groups: groups.map((g) => [...g]) });
  }
  cut(from: number, to: number, channel?: string): Promise<void> {
    return this.call({ op: "cut", from, to, channel });
  }
  isolate(member: number): Promise<void> {
    return this.call({ op: "isolate", member });
  }
  heal(): Promise<void> {
    return this.call({ op: "heal" });
  }
  setMode(mode: ProxyMode): Promise<void> {
    return this.call({ op: "mode", mode });
  }
  setDelay(ms: number, jitterMs = 0): Promise<void> {
    return this.call({ op: "delay", ms, jitterMs });
  }
  stats(): Promise<ProxyStats> {
    return this.call({ op: "stats" });
  }
  /** Diagnostics the child printed (stderr). */
  output(): string {
    return this.errText;
  }
  async close(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.child.once("exit", () => r()));
    try {
      await Promise.race([this.call({ op: "close" }), new Promise((r) => setTimeout(r, 2000))]);
    } catch { /* exiting anyway */ }
    this.child.stdin!.end();
    const t = setTimeout(() => killGroup(this.child, "SIGKILL"), 3000);
    await gone;
    clearTimeout(t);
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    try {
      child.kill(signal);
    } catch { /* gone */ }
  }
}

const thisFile = fileURLToPath(import.meta.url);
const repoRoot = join(dirname(thisFile), "..", "..");
const liveChildren = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of liveChildren) killGroup(c, "SIGKILL");
});

/**
 * Starts the proxy in a child process and resolves once it answers. The child always runs on Deno
 * (a dependency, so always there): the proxy is harness, not code under test, and Deno starts it in
 * a tenth of a second where tsx takes seconds on a busy machine. PROXY_RUNTIME=node runs it under tsx.
 */
export async function startProxyProcess(opts: { mode?: ProxyMode } = {}): Promise<ProxyProcess> {
  const onNode = process.env.PROXY_RUNTIME === "node";
  const cmd = join(repoRoot, "node_modules", ".bin", onNode ? "tsx" : "deno");
  const args = onNode ? [thisFile, "--serve"] : ["run", "-A", "--quiet", thisFile, "--serve"];
  const child = spawn(cmd, args, { cwd: repoRoot, stdio: ["pipe", "pipe", "pipe"], detached: true });
  liveChildren.add(child);
  child.once("exit", () => liveChildren.delete(child));
  const p = new ProxyProcess(child);
  await p.stats(); // answers once the child is up
  if (opts.mode) await p.setMode(opts.mode);
  return p;
}

/** The child's side: a FaultProxy run by commands on stdin. Exits when stdin closes. */
async function serveChild(): Promise<void> {
  const proxy = new FaultProxy({ log: process.env.FAULT_PROXY_DEBUG ? (l) => process.stderr.write(l + "\n") : undefined });
  const reply = (id: number, ok: boolean, value?: unknown, error?: string) => process.stdout.write(JSON.stringify({ id, ok, value, error }) + "\n");
  const handle = async (id: number, cmd: Command) => {
    try {
      let value: unknown;
      switch (cmd.op) {
        case "add": await proxy.add(cmd.member); break;
        case "ids": proxy.setIds(cmd.ids); break;
        case "partition": proxy.partition(cmd.groups); break;
        case "cut": proxy.cut(cmd.from, cmd.to, cmd.channel); break;
        case "isolate": proxy.isolate(cmd.member); break;
        case "heal": proxy.heal(); break;
        case "mode": proxy.setMode(cmd.mode); break;
        case "delay": proxy.setDelay(cmd.ms, cmd.jitterMs); break;
        case "stats": value = proxy.stats(); break;
        case "close": await proxy.close(); reply(id, true); process.exit(0); break;
      }
      reply(id, true, value);
    } catch (e) {
      reply(id, false, undefined, (e as Error).message);
    }
  };
  let buf = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (d: string) => {
    buf += d;
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim() === "") continue;
      const { id, ...cmd } = JSON.parse(line) as { id: number } & Command;
      void handle(id, cmd as Command);
    }
  });
  process.stdin.on("end", () => process.exit(0));
}

if (process.argv.includes("--serve") && process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === import.meta.url) {
  await serveChild();
}

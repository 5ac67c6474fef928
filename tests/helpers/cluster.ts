// A cluster of real member processes on loopback for fault tests: N coreplane members (main.ts serve on
// the runtime running the tests) or N real etcd 3.4 members (to prove the harness itself), each in its
// own process group, with an optional fault proxy (tests/helpers/fault_proxy.ts, in a child process) in
// front of every member's peer port. Gives the leader, signals (SIGKILL, SIGSTOP, SIGCONT, SIGTERM),
// restarts on the same data dir, and membership changes through /v2/members.
// Every member's client, peer and proxy ports come from the OS (tests/helpers/ports.ts). Must not
// assert anything about the cluster's behaviour: tests do. Logs of every member go to files in the
// run's temp dir, which stop() removes (kept after a failure only with CLUSTER_KEEP=1).

import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { freePorts } from "./ports.ts";
import { keepTempDir, mainCommand, repoRoot, tempDir } from "./procs.ts";
import { type ProxyMode, type ProxyProcess, startProxyProcess } from "./fault_proxy.ts";

export type Implementation = "coreplane" | "etcd";
/** "starting": spawned, not answering yet (not a client target). */
export type MemberState = "starting" | "up" | "paused" | "down" | "removed";

export interface ClusterOptions {
  readonly impl: Implementation;
  readonly size: number;
  /** Put a fault proxy in front of every peer port. */
  readonly proxy?: boolean;
  readonly proxyMode?: ProxyMode;
  readonly heartbeatMs?: number;
  readonly electionMs?: number;
  readonly snapshotCount?: number;
  /** coreplane's --snapshot-catchup-entries (etcd 3.4 has no such flag; ignored for etcd). */
  readonly snapshotCatchupEntries?: number;
  readonly token?: string;
  readonly extraArgs?: readonly string[];
  /** Label for the temp dir and messages. */
  readonly label?: string;
  /** How long a started member may take to answer on its client port. */
  readonly startTimeoutMs?: number;
}

export interface Member {
  readonly index: number;
  readonly name: string;
  readonly clientUrl: string;
  readonly clientPort: number;
  readonly peerPort: number;
  /** Where the fault proxy listens for this member's peers (unused without a proxy). */
  readonly proxyPort: number;
  /** The peer URL other members dial (the proxy's when there is one). */
  readonly advertisedPeerUrl: string;
  readonly dataDir: string;
  readonly logFile: string;
  /** Hex member id (etcd's derivation, or what POST /v2/members answered). */
  id: string;
  state: MemberState;
  child?: ChildProcess;
  exited?: Promise<void>;
  /** The flags it was first started with (a restart reuses them). */
  args: string[];
  starts: number;
}

export interface MemberStatus {
  readonly index: number;
  readonly state: string;
  /** Hex id of the leader this member follows ("" or "0" when none). */
  readonly leader: string;
  readonly term?: number;
}

const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** etcd's member id for a member of the initial cluster: sha1(sorted peer URLs joined + token)[:8]. */
export function etcdMemberId(peerUrls: readonly string[], token: string): string {
  const h = createHash("sha1").update([...peerUrls].sort().join("") + token).digest();
  let n = 0n;
  for (let i = 0; i < 8; i++) n = (n << 8n) | BigInt(h[i]);
  return n.toString(16);
}

// Every member process started by any cluster here; killed if the runner exits without stopping them.
const liveChildren = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of liveChildren) {
    try {
      process.kill(-c.pid!, "SIGKILL");
    } catch { /* gone */ }
  }
});

/** Descendants of pid from /proc (children first); under tsx the server is the launcher's child. */
function descendants(pid: number): number[] {
  const byParent = new Map<number, number[]>();
  let names: string[] = [];
  try {
    names = readdirSync("/proc");
  } catch {
    return [];
  }
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const stat = readFileSync(`/proc/${n}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = byParent.get(ppid) ?? [];
      list.push(Number(n));
      byParent.set(ppid, list);
    } catch { /* ended meanwhile */ }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of byParent.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    try {
      child.kill(signal);
    } catch { /* gone */ }
  }
}

async function getJson(url: string, timeoutMs: number): Promise<{ status: number; body: unknown } | undefined> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await r.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch { /* keep text */ }
    return { status: r.status, body };
  } catch {
    return undefined;
  }
}

export class Cluster {
  readonly opts: ClusterOptions;
  readonly runDir: string;
  readonly members: Member[] = [];
  token: string;
  proxy?: ProxyProcess;
  private keep = false;
  /** A line per fault and restart, with times relative to the start, for failure messages. */
  readonly events: string[] = [];
  private readonly t0 = Date.now();

  private constructor(opts: ClusterOptions) {
    this.opts = opts;
    this.token = opts.token ?? "";
    this.runDir = tempDir(`cluster-${opts.label ?? opts.impl}`);
  }

  /** Starts every member at once and waits until each answers and a leader is agreed on. */
  static async start(opts: ClusterOptions): Promise<Cluster> {
    const c = new Cluster(opts);
    try {
      if (opts.proxy) c.proxy = await startProxyProcess({ mode: opts.proxyMode });
      for (let i = 0; i < opts.size; i++) await c.defineMember(i);
      // Unique per cluster so ids never repeat across clusters of one run.
      if (c.token === "") c.token = `cp-test-${c.members[0].clientPort}`;
      const initial = c.members.map((m) => `${m.name}=${m.advertisedPeerUrl}`).join(",");
      for (const m of c.members) {
        m.id = etcdMemberId([m.advertisedPeerUrl], c.token);
        m.args = c.memberArgs(m, initial, "new");
      }
      if (c.proxy) {
        for (const m of c.members) await c.proxy.add({ index: m.index, listenPort: m.proxyPort, targetPort: m.peerPort });
        await c.proxy.setIds(Object.fromEntries(c.members.map((m) => [m.id, m.index])));
      }
      await Promise.all(c.members.map((m) => c.spawnMember(m)));
      await c.waitForLeader(30_000);
      await c.checkIds();
    } catch (e) {
      c.keepOnFailure();
      await c.stop();
      throw e;
    }
    return c;
  }

  private async defineMember(i: number): Promise<Member> {
    const [clientPort, peerPort, proxyPort] = await freePorts(3);
    const dataDir = join(this.runDir, `m${i}`);
    mkdirSync(dataDir, { recursive: true });
    const m: Member = {
      index: i,
      name: `m${i}`,
      clientUrl: `http://127.0.0.1:${clientPort}`,
      clientPort,
      peerPort,
      proxyPort,
      advertisedPeerUrl: `http://127.0.0.1:${this.opts.proxy ? proxyPort : peerPort}`,
      dataDir,
      logFile: join(this.runDir, `m${i}.log`),
      id: "",
      state: "down",
      args: [],
      starts: 0,
    };
    this.members.push(m);
    return m;
  }

  private memberArgs(m: Member, initialCluster: string, state: "new" | "existing"): string[] {
    const o = this.opts;
    const a = [
      "--name", m.name,
      "--data-dir", m.dataDir,
      "--listen-client-urls", m.clientUrl,
      "--advertise-client-urls", m.clientUrl,
      "--listen-peer-urls", `http://127.0.0.1:${m.peerPort}`,
      "--initial-advertise-peer-urls", m.advertisedPeerUrl,
      "--initial-cluster", initialCluster,
      "--initial-cluster-state", state,
      "--initial-cluster-token", this.token,
      "--heartbeat-interval", String(o.heartbeatMs ?? 100),
      "--election-timeout", String(o.electionMs ?? 1000),
    ];
    if (o.snapshotCount !== undefined) a.push("--snapshot-count", String(o.snapshotCount));
    if (o.snapshotCatchupEntries !== undefined && o.impl === "coreplane") a.push("--snapshot-catchup-entries", String(o.snapshotCatchupEntries));
    if (o.impl === "etcd") a.push("--enable-v2", "--log-level", "info");
    else a.push("--log-level", "info");
    a.push(...(o.extraArgs ?? []));
    return a;
  }

  private note(line: string): void {
    this.events.push(`+${((Date.now() - this.t0) / 1000).toFixed(2)}s ${line}`);
  }

  /** Spawns a member with its stored args and waits until its client port answers. */
  private async spawnMember(m: Member): Promise<void> {
    const { cmd, args } = this.opts.impl === "etcd" ? { cmd: "etcd", args: [] as string[] } : mainCommand();
    const full = this.opts.impl === "etcd" ? m.args : [...args, "serve", ...m.args];
    const fd = openSync(m.logFile, "a");
    let child: ChildProcess;
    try {
      child = spawn(cmd, full, { cwd: repoRoot, stdio: ["ignore", fd, fd], detached: true });
    } finally {
      closeSync(fd);
    }
    liveChildren.add(child);
    m.child = child;
    m.starts++;
    m.state = "starting";
    m.exited = new Promise<void>((resolve) => {
      child.once("exit", (code, sig) => {
        liveChildren.delete(child);
        this.note(`member ${m.index} exited (${code ?? sig})`);
        if (m.child === child && m.state !== "removed") m.state = "down";
        resolve();
      });
      child.once("error", () => resolve());
    });
    this.note(`member ${m.index} started (start #${m.starts}, pid ${child.pid})`);
    const until = Date.now() + (this.opts.startTimeoutMs ?? 30_000);
    for (;;) {
      if (m.child !== child || child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`member ${m.index} exited before it answered:\n${this.tail(m.index)}`);
      }
      const r = await getJson(`${m.clientUrl}/version`, 1000);
      if (r && r.status === 200) {
        m.state = "up";
        return;
      }
      if (Date.now() > until) throw new Error(`member ${m.index} did not answer on ${m.clientUrl} within ${this.opts.startTimeoutMs ?? 30_000} ms:\n${this.tail(m.index)}`);
      await sleep(50);
    }
  }

  /** Compares the ids this harness derived with what the members list says. */
  private async checkIds(): Promise<void> {
    const m0 = this.members.find((m) => m.state === "up")!;
    const r = await getJson(`${m0.clientUrl}/v2/members`, 3000);
    const list = (r?.body as { members?: { id: string; peerURLs: string[] }[] })?.members;
    if (!list) throw new Error(`GET /v2/members on member ${m0.index} gave ${JSON.stringify(r)}`);
    for (const m of this.members) {
      const e = list.find((x) => x.peerURLs.includes(m.advertisedPeerUrl));
      if (!e) throw new Error(`member ${m.index} (${m.advertisedPeerUrl}) is not in /v2/members: ${JSON.stringify(list)}`);
      if (e.id !== m.id) {
        this.note(`member ${m.index}: id is ${e.id}, derived ${m.id}; using the listed one`);
        m.id = e.id;
        await this.proxy?.setIds({ [e.id]: m.index });
      }
    }
  }

  get size(): number {
    return this.members.length;
  }

  /** Members that count for the quorum (not removed). */
  voters(): Member[] {
    return this.members.filter((m) => m.state !== "removed");
  }

  majority(): number {
    return Math.floor(this.voters().length / 2) + 1;
  }

  member(i: number): Member {
    const m = this.members[i];
    if (!m) throw new Error(`no member ${i}`);
    return m;
  }

  indexOfId(id: string): number | undefined {
    return this.members.find((m) => m.id === id)?.index;
  }

  /** One member's own view (state, leader id, term), or undefined when it does not answer in time. */
  async status(i: number, timeoutMs = 1000): Promise<MemberStatus | undefined> {
    const m = this.member(i);
    if (m.state !== "up") return undefined;
    if (this.opts.impl === "coreplane") {
      const r = await getJson(`${m.clientUrl}/v1/cluster/status`, timeoutMs);
      const b = r?.body as { state?: string; leader?: string; term?: number } | undefined;
      if (r?.status === 200 && b?.state) return { index: i, state: b.state, leader: b.leader ?? "", term: b.term };
    }
    const r = await getJson(`${m.clientUrl}/v2/stats/self`, timeoutMs);
    const b = r?.body as { state?: string; leaderInfo?: { leader?: string } } | undefined;
    if (r?.status !== 200 || !b?.state) return undefined;
    return { index: i, state: b.state, leader: b.leaderInfo?.leader ?? "" };
  }

  /**
   * The leader a majority of the voters agree on: a member that says it leads, and that a majority
   * (itself included) name as their leader. Undefined when there is none right now. `among` limits
   * whose answers count (e.g. the majority side of a partition); the majority is still of all voters.
   */
  async leader(among?: readonly number[]): Promise<number | undefined> {
    const asked = (among ?? this.voters().map((m) => m.index)).filter((i) => this.member(i).state === "up");
    const st = (await Promise.all(asked.map((i) => this.status(i)))).filter((s): s is MemberStatus => s !== undefined);
    for (const s of st) {
      if (s.state !== "StateLeader") continue;
      const id = this.member(s.index).id;
      const agree = st.filter((o) => o.leader === id).length;
      if (agree >= this.majority()) return s.index;
    }
    return undefined;
  }

  /** Waits until a leader is agreed on (see leader()); throws with every member's view after limitMs. */
  async waitForLeader(limitMs = 20_000, among?: readonly number[]): Promise<number> {
    const until = Date.now() + limitMs;
    for (;;) {
      const l = await this.leader(among);
      if (l !== undefined) return l;
      if (Date.now() > until) {
        const views = await Promise.all(this.members.map((m) => this.status(m.index)));
        throw new Error(`no agreed leader within ${limitMs} ms; views: ${JSON.stringify(views)}\n${this.describe()}`);
      }
      await sleep(100);
    }
  }

  /** Sends a signal to a member's process group. SIGKILL and SIGTERM wait for the exit. */
  async kill(i: number, signal: "SIGKILL" | "SIGSTOP" | "SIGCONT" | "SIGTERM"): Promise<void> {
    const m = this.member(i);
    const child = m.child;
    if (!child || m.state === "down" || m.state === "removed") throw new Error(`kill(${i}, ${signal}): member is ${m.state}`);
    this.note(`${signal} member ${i}`);
    if (signal === "SIGSTOP") {
      signalGroup(child, "SIGSTOP");
      m.state = "paused";
      return;
    }
    if (signal === "SIGCONT") {
      signalGroup(child, "SIGCONT");
      m.state = "up";
      return;
    }
    // Not a target any more from the moment the signal is sent (the exit event comes later).
    m.state = signal === "SIGKILL" ? "down" : m.state;
    if (signal === "SIGKILL") {
      for (const d of descendants(child.pid!).reverse()) {
        try {
          process.kill(d, "SIGKILL");
        } catch { /* gone */ }
      }
      signalGroup(child, "SIGKILL");
    } else {
      if (m.state === "paused") signalGroup(child, "SIGCONT");
      signalGroup(child, "SIGTERM");
      const t = setTimeout(() => signalGroup(child, "SIGKILL"), 10_000);
      await m.exited;
      clearTimeout(t);
    }
    await m.exited;
    m.state = "down";
  }

  /** Starts a stopped member again on the same data dir with the same flags. */
  async restart(i: number): Promise<void> {
    const m = this.member(i);
    if (m.state !== "down") throw new Error(`restart(${i}): member is ${m.state}`);
    await this.spawnMember(m);
  }

  /**
   * Adds a member the etcd way: POST /v2/members through a running member, then starts the new
   * process with --initial-cluster-state existing. Returns the new member's index.
   */
  async addMember(via?: number): Promise<number> {
    const index = this.members.length;
    const m = await this.defineMember(index);
    if (this.proxy) await this.proxy.add({ index, listenPort: m.proxyPort, targetPort: m.peerPort });
    const through = this.member(via ?? this.voters().find((x) => x.state === "up")!.index);
    // etcd refuses a change that could cost the quorum (a member restarted in the last 5 s counts as
    // not connected) with a 500; that refusal happens before anything is proposed, so asking again is
    // safe. A 409 "peerURL exists" after a retry means an earlier attempt did go through.
    const until = Date.now() + 30_000;
    let id: string | undefined;
    for (let attempt = 1; id === undefined; attempt++) {
      let status = 0;
      let text = "";
      try {
        const r = await fetch(`${through.clientUrl}/v2/members`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ peerURLs: [m.advertisedPeerUrl] }),
          signal: AbortSignal.timeout(15_000),
        });
        status = r.status;
        text = await r.text();
      } catch (e) {
        text = String(e);
      }
      if (status === 201) id = (JSON.parse(text) as { id: string }).id;
      else if (status === 409 && attempt > 1) {
        const list = await getJson(`${through.clientUrl}/v2/members`, 5000);
        id = (list?.body as { members?: { id: string; peerURLs: string[] }[] })?.members?.find((x) => x.peerURLs.includes(m.advertisedPeerUrl))?.id;
      }
      if (id !== undefined) break;
      this.note(`POST /v2/members via member ${through.index} (attempt ${attempt}): ${status} ${text.trim()}`);
      if (Date.now() > until || (status >= 400 && status < 500)) {
        m.state = "removed";
        throw new Error(`POST /v2/members via member ${through.index}: ${status} ${text}`);
      }
      await sleep(500);
    }
    m.id = id;
    await this.proxy?.setIds({ [m.id]: index });
    this.note(`member ${index} added (id ${m.id}) via member ${through.index}`);
    const initial = this.members
      .filter((x) => x.state !== "removed")
      .map((x) => `${x.name}=${x.advertisedPeerUrl}`)
      .join(",");
    m.args = this.memberArgs(m, initial, "existing");
    await this.spawnMember(m);
    return index;
  }

  /**
   * Removes member i through DELETE /v2/members/<id> on another running member, then waits for the
   * removed process to stop by itself (up to stopWaitMs; it is killed after that, and the return value
   * says so). The member then no longer counts for the quorum.
   */
  async removeMember(i: number, opts: { via?: number; stopWaitMs?: number } = {}): Promise<{ stoppedByItself: boolean }> {
    const m = this.member(i);
    const through = this.member(opts.via ?? this.voters().find((x) => x.state === "up" && x.index !== i)!.index);
    // As for adding: etcd's 500 refusal (the quorum check) comes before any proposal, so retrying
    // is safe; a 404/410 after a retry means an earlier attempt went through.
    const until = Date.now() + 30_000;
    for (let attempt = 1; ; attempt++) {
      let status = 0;
      let text = "";
      try {
        const r = await fetch(`${through.clientUrl}/v2/members/${m.id}`, { method: "DELETE", signal: AbortSignal.timeout(15_000) });
        status = r.status;
        text = await r.text();
      } catch (e) {
        text = String(e);
      }
      if (status === 204 || (attempt > 1 && (status === 404 || status === 410))) break;
      this.note(`DELETE /v2/members/${m.id} via member ${through.index} (attempt ${attempt}): ${status} ${text.trim()}`);
      if (Date.now() > until || (status >= 400 && status < 500)) throw new Error(`DELETE /v2/members/${m.id} via member ${through.index}: ${status} ${text}`);
      await sleep(500);
    }
    this.note(`member ${i} removed via member ${through.index}`);
    const wasUp = m.state === "up" || m.state === "paused";
    m.state = "removed";
    let stoppedByItself = true;
    if (wasUp && m.child && m.child.exitCode === null && m.child.signalCode === null) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waited = await Promise.race([
        m.exited!.then(() => true),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(false), opts.stopWaitMs ?? 15_000))),
      ]);
      clearTimeout(timer);
      if (!waited) {
        stoppedByItself = false;
        this.note(`member ${i} still running ${opts.stopWaitMs ?? 15_000} ms after its removal; killing it`);
        signalGroup(m.child, "SIGKILL");
        await m.exited;
      }
    }
    return { stoppedByItself };
  }

  /** Client URLs of members that are up (not paused, down or removed). */
  upUrls(): string[] {
    return this.members.filter((m) => m.state === "up").map((m) => m.clientUrl);
  }

  /** The last bytes of a member's log. */
  tail(i: number, bytes = 4000): string {
    try {
      const t = readFileSync(this.member(i).logFile, "utf8");
      return t.slice(-bytes);
    } catch {
      return "(no log)";
    }
  }

  /** States, ids, the fault and restart events, and where the logs are. */
  describe(): string {
    const ms = this.members.map((m) => `  member ${m.index} ${m.name} id=${m.id} ${m.state} client=${m.clientUrl} peer=${m.advertisedPeerUrl} log=${m.logFile}`);
    return [`cluster (${this.opts.impl}, run dir ${this.runDir}${this.keep ? ", kept" : ""}):`, ...ms, "events:", ...this.events.map((e) => `  ${e}`)].join("\n");
  }

  /** The tail of every member's log, for a failure message. */
  tails(bytes = 2500): string {
    return this.members.map((m) => `--- member ${m.index} (${m.state}) ${m.logFile} ---\n${this.tail(m.index, bytes)}`).join("\n");
  }

  /**
   * Marks the run as failed: with CLUSTER_KEEP=1 the run dir (data dirs and logs) survives stop() to be
   * looked at; otherwise it goes like any other (failure messages carry the logs' tails).
   */
  keepOnFailure(): boolean {
    if (process.env.CLUSTER_KEEP === "1") this.keep = true;
    return this.keep;
  }

  /** Stops every member (SIGCONT first for paused ones, then SIGKILL: data is not needed) and the proxy. */
  async stop(): Promise<void> {
    await Promise.all(
      this.members.map(async (m) => {
        const child = m.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        for (const d of descendants(child.pid!).reverse()) {
          try {
            process.kill(d, "SIGKILL");
          } catch { /* gone */ }
        }
        signalGroup(child, "SIGKILL");
        await m.exited;
        if (m.state !== "removed") m.state = "down";
      }),
    );
    await this.proxy?.close();
    if (!this.keep) rmSync(this.runDir, { recursive: true, force: true });
    else keepTempDir(this.runDir);
  }
}

export const runtimeName = isDeno ? "deno" : "node";

// A 3-member cluster for the cluster figures (bench/cluster.ts): coreplane (`deno run -A main.ts
// serve`) or etcd 3.4 (`etcd --enable-v2`), all members on loopback ports 28000-28999, with the
// same flags for both (heartbeat 100 ms, election timeout 1,000 ms). Starts the members, finds the
// leader through GET /v2/stats/self, kills a member with SIGKILL, restarts it on its data dir,
// and waits until the cluster is whole again. The command lines and the reading of
// /v2/stats/self are pure and tested in tests/bench/.
// Must not listen or connect outside 28000-28999, and must not run two clusters at once
// (callers stop one before starting the next).

import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type Child, spawnTracked, stopChild } from "./proc.ts";
import { type Impl, repoRoot, type Side } from "./servers.ts";

export const clusterSize = 3;
export const heartbeatMs = 100;
export const electionMs = 1000;

export interface MemberSpec {
  name: string;
  clientPort: number;
  peerPort: number;
}

/**
 * Ports of member i (0-based) of a side: etcd 28111/28112, 28121/28122, 28131/28132; coreplane
 * 28211/28212, ... Fixed per side, so a restarted member comes back on the same URLs.
 */
export function clusterPorts(side: Side, size = clusterSize): MemberSpec[] {
  const base = side === "etcd" ? 28100 : 28200;
  return Array.from({ length: size }, (_, i) => ({
    name: `m${i + 1}`,
    clientPort: base + 10 * (i + 1) + 1,
    peerPort: base + 10 * (i + 1) + 2,
  }));
}

/** `m1=http://127.0.0.1:28112,m2=...`, the --initial-cluster value (pure; tested). */
export function initialCluster(members: MemberSpec[]): string {
  return members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(",");
}

/**
 * The command line of one member (pure; tested). A restart uses the same command: both etcd and
 * coreplane ignore the --initial-* flags once the data dir holds a member.
 */
export function memberCommand(
  impl: Impl,
  member: MemberSpec,
  members: MemberSpec[],
  dataDir: string,
  token: string,
  extraArgs: string[] = [],
): { cmd: string; args: string[] } {
  const client = `http://127.0.0.1:${member.clientPort}`;
  const peer = `http://127.0.0.1:${member.peerPort}`;
  const common = [
    "--name",
    member.name,
    "--data-dir",
    dataDir,
    "--listen-client-urls",
    client,
    "--advertise-client-urls",
    client,
    "--listen-peer-urls",
    peer,
    "--initial-advertise-peer-urls",
    peer,
    "--initial-cluster",
    initialCluster(members),
    "--initial-cluster-state",
    "new",
    "--initial-cluster-token",
    token,
    "--heartbeat-interval",
    String(heartbeatMs),
    "--election-timeout",
    String(electionMs),
  ];
  if (impl === "etcd") return { cmd: "etcd", args: [...common, "--enable-v2", ...extraArgs] };
  return {
    cmd: join(repoRoot, "node_modules", ".bin", "deno"),
    args: ["run", "-A", "main.ts", "serve", ...common, ...extraArgs],
  };
}

export interface SelfStats {
  name: string;
  id: string;
  state: string;
  leader: string;
}

/** The fields of a /v2/stats/self body the bench needs; throws on anything else (pure; tested). */
export function parseSelfStats(body: string): SelfStats {
  const j = JSON.parse(body) as Record<string, unknown>;
  const info = (j.leaderInfo ?? {}) as Record<string, unknown>;
  if (typeof j.id !== "string" || typeof j.state !== "string") {
    throw new Error(`/v2/stats/self without id/state: ${body.slice(0, 200)}`);
  }
  return {
    name: String(j.name ?? ""),
    id: j.id,
    state: j.state,
    leader: typeof info.leader === "string" ? info.leader : "",
  };
}

/**
 * The leader the given members agree on, or undefined: exactly one says StateLeader and every
 * other one names it in leaderInfo.leader (pure; tested). `stats[i]` undefined = no answer.
 */
export function agreedLeader(stats: Array<SelfStats | undefined>, needAnswers: number): number | undefined {
  const answered = stats.filter((s): s is SelfStats => s !== undefined);
  if (answered.length < needAnswers) return undefined;
  const leaders = stats.flatMap((s, i) => (s?.state === "StateLeader" ? [i] : []));
  if (leaders.length !== 1) return undefined;
  const id = stats[leaders[0]]!.id;
  return answered.every((s) => s.leader === id) ? leaders[0] : undefined;
}

export interface Member extends MemberSpec {
  url: string;
  dataDir: string;
  logFile: string;
  child?: Child;
  /** Member id from /v2/stats/self, once seen. */
  id?: string;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function getText(
  url: string,
  timeoutMs: number,
): Promise<{ status: number; body: string } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: await res.text() };
  } catch {
    return undefined;
  }
}

export async function selfStats(m: Member, timeoutMs = 1000): Promise<SelfStats | undefined> {
  const r = await getText(`${m.url}/v2/stats/self`, timeoutMs);
  if (!r || r.status !== 200) return undefined;
  try {
    return parseSelfStats(r.body);
  } catch {
    return undefined;
  }
}

export interface ClusterOptions {
  side: Side;
  impl: Impl;
  /** Data dirs go to <dir>/<member>, logs to <logDir>/<side>-<label>-<member>.log. */
  dir: string;
  logDir: string;
  label: string;
  /** Unique per cluster start, so no member can mistake an old cluster's for this one. */
  token: string;
  /** More flags for every member (experiments, e.g. --snapshot-count; both impls take etcd's flags). */
  extraArgs?: string[];
}

export class Cluster {
  readonly side: Side;
  readonly impl: Impl;
  readonly members: Member[];
  readonly token: string;
  readonly dir: string;
  readonly extraArgs: string[];
  #marker = 0;

  constructor(o: ClusterOptions) {
    this.side = o.side;
    this.impl = o.impl;
    this.token = o.token;
    this.dir = o.dir;
    this.extraArgs = o.extraArgs ?? [];
    mkdirSync(o.logDir, { recursive: true });
    this.members = clusterPorts(o.side).map((p) => ({
      ...p,
      url: `http://127.0.0.1:${p.clientPort}`,
      dataDir: join(o.dir, p.name),
      logFile: join(o.logDir, `${o.side}-${o.label}-${p.name}.log`),
    }));
  }

  /** Starts a member's process on its data dir (new or existing). */
  spawn(m: Member): void {
    if (m.child && !m.child.done()) throw new Error(`${m.name} is already running`);
    mkdirSync(this.dir, { recursive: true });
    const { cmd, args } = memberCommand(this.impl, m, this.members, m.dataDir, this.token, this.extraArgs);
    m.child = spawnTracked(`${this.side}(${this.impl}) ${m.name}`, cmd, args, {
      cwd: repoRoot,
      logFile: m.logFile,
    });
  }

  /** Starts all members on empty data dirs and waits until they agree on a leader. */
  async start(timeoutMs = 60_000): Promise<{ readyMs: number; leader: Member }> {
    rmSync(this.dir, { recursive: true, force: true });
    const t0 = performance.now();
    for (const m of this.members) this.spawn(m);
    const leader = await this.waitLeader(timeoutMs, this.members.length);
    return { readyMs: performance.now() - t0, leader };
  }

  running(): Member[] {
    return this.members.filter((m) => m.child && !m.child.done());
  }

  /**
   * Polls /v2/stats/self on the running members every 50 ms until at least `needAnswers` answer
   * and agree on one leader; throws after `timeoutMs` or when a member's process has died.
   */
  async waitLeader(timeoutMs = 30_000, needAnswers = this.running().length): Promise<Member> {
    const t0 = performance.now();
    for (;;) {
      const live = this.running();
      const dead = this.members.filter((m) => m.child?.done());
      if (live.length < needAnswers) {
        throw new Error(
          `${dead.map((m) => m.name).join(", ")} exited; see ${dead.map((m) => m.logFile).join(", ")}`,
        );
      }
      const stats = await Promise.all(live.map((m) => selfStats(m)));
      stats.forEach((s, i) => {
        if (s) live[i].id = s.id;
      });
      const i = agreedLeader(stats, needAnswers);
      if (i !== undefined) return live[i];
      if (performance.now() - t0 > timeoutMs) {
        const seen = live.map((m, j) =>
          `${m.name}: ${stats[j] ? `${stats[j]!.state} leader=${stats[j]!.leader || "-"}` : "no answer"}`
        );
        throw new Error(
          `${this.side}: no agreed leader within ${timeoutMs} ms (${seen.join("; ")}); logs in ${
            this.members[0].logFile
          }`,
        );
      }
      await sleep(50);
    }
  }

  /**
   * The cluster is whole: every member runs, answers /v2/stats/self, and all agree on a leader;
   * then a marker key written through the leader is readable (local read) on every member, so the
   * restarted member has caught up. Returns the leader.
   */
  async waitHealthy(timeoutMs = 60_000): Promise<Member> {
    const t0 = performance.now();
    const left = () => Math.max(1000, timeoutMs - (performance.now() - t0));
    for (;;) {
      const leader = await this.waitLeader(left(), this.members.length);
      const key = `/v2/keys/bench/health/${this.token}-${++this.#marker}`;
      let put: Response | undefined;
      try {
        put = await fetch(`${leader.url}${key}`, {
          method: "PUT",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: "value=1",
          signal: AbortSignal.timeout(5000),
        });
        await put.body?.cancel();
      } catch {
        put = undefined;
      }
      if (put && put.status < 300) {
        for (;;) {
          const reads = await Promise.all(this.members.map((m) => getText(`${m.url}${key}`, 1000)));
          if (reads.every((r) => r?.status === 200)) return leader;
          if (performance.now() - t0 > timeoutMs) {
            const st = reads.map((r, i) => `${this.members[i].name}: ${r?.status ?? "no answer"}`).join("; ");
            throw new Error(`${this.side}: marker ${key} not on every member within ${timeoutMs} ms (${st})`);
          }
          await sleep(20);
        }
      }
      if (performance.now() - t0 > timeoutMs) {
        throw new Error(`${this.side}: marker PUT to the leader failed for ${timeoutMs} ms`);
      }
      await sleep(50);
    }
  }

  /** SIGKILL to the member's process group; resolves once it has exited. */
  async kill(m: Member): Promise<void> {
    if (!m.child) return;
    await stopChild(m.child, "SIGKILL", 5000);
  }

  /**
   * Ends every member with SIGKILL and removes the data dirs. The data is thrown away, and a
   * graceful stop of a whole cluster at once costs etcd seconds (the leader tries to hand over to
   * followers that are stopping too).
   */
  async stop(keepData = false): Promise<void> {
    await Promise.all(this.members.map((m) => (m.child ? stopChild(m.child, "SIGKILL", 5000) : undefined)));
    if (!keepData) rmSync(this.dir, { recursive: true, force: true });
  }
}

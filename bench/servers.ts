// Starts and stops the servers under test — coreplane (`deno run -A main.ts serve`) and etcd
// 3.4 with --enable-v2 — as single members on loopback ports 22000-22999, waits until they serve,
// and reads their resident memory. Must not start two servers at once (callers stop one before
// starting the next) and must not touch ports outside 22000-22999.

import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Child, type Exit, spawnTracked, stopChild } from "./proc.ts";

export const repoRoot = dirname(dirname(fileURLToPath(import.meta.url)));

/** Which side of the comparison a server stands for. */
export type Side = "coreplane" | "etcd";
/** What actually runs. The coreplane side can be run by etcd to test the harness itself. */
export type Impl = "coreplane" | "etcd";

export interface ServerOptions {
  side: Side;
  impl: Impl;
  dataDir: string;
  logFile: string;
  clientPort: number;
  peerPort: number;
  /** More flags for the server (the replay data dir sets coreplane's --snapshot-count). */
  extraArgs?: string[];
}

/** Ports per side, fixed so that a restart reuses them; all inside 22000-22999. */
export function portsFor(side: Side): { clientPort: number; peerPort: number } {
  return side === "coreplane" ? { clientPort: 22210, peerPort: 22211 } : { clientPort: 22110, peerPort: 22111 };
}

/** The command line that starts a single member (pure; tested). */
export function serverCommand(o: Omit<ServerOptions, "logFile" | "side">): { cmd: string; args: string[] } {
  const extra = o.extraArgs ?? [];
  const client = `http://127.0.0.1:${o.clientPort}`;
  const peer = `http://127.0.0.1:${o.peerPort}`;
  const common = [
    "--name",
    "n1",
    "--data-dir",
    o.dataDir,
    "--listen-client-urls",
    client,
    "--advertise-client-urls",
    client,
    "--listen-peer-urls",
    peer,
    "--initial-advertise-peer-urls",
    peer,
    "--initial-cluster",
    `n1=${peer}`,
  ];
  if (o.impl === "etcd") return { cmd: "etcd", args: [...common, "--enable-v2", ...extra] };
  return { cmd: join(repoRoot, "node_modules", ".bin", "deno"), args: ["run", "-A", "main.ts", "serve", ...common, ...extra] };
}

export interface Server {
  readonly side: Side;
  readonly impl: Impl;
  readonly url: string;
  readonly pid: number;
  readonly dataDir: string;
  readonly child: Child;
  /** Milliseconds from spawn until the readiness check passed. */
  readyMs: number;
  stop(): Promise<Exit>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Polls `url` every `intervalMs` until it answers 200 (returns ms since `t0`), the process
 * dies, or `timeoutMs` passes (both throw).
 */
export async function waitFor200(
  url: string,
  child: Child,
  t0: number,
  timeoutMs: number,
  intervalMs = 5,
): Promise<number> {
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.body?.cancel();
      if (res.status === 200) return performance.now() - t0;
    } catch {
      // not listening yet
    }
    if (child.done()) throw new Error(`${child.name} exited before ${url} answered 200`);
    if (performance.now() - t0 > timeoutMs) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

/**
 * Starts a server and waits until `readyPath` answers 200 (default /health). For the restart
 * figure `readyPath` is a key, and `readyMs` is the measured time to serving.
 */
export async function startServer(o: ServerOptions, readyPath = "/health", timeoutMs = 600_000): Promise<Server> {
  mkdirSync(dirname(o.dataDir), { recursive: true });
  mkdirSync(dirname(o.logFile), { recursive: true });
  const { cmd, args } = serverCommand(o);
  const url = `http://127.0.0.1:${o.clientPort}`;
  const t0 = performance.now();
  const child = spawnTracked(`${o.side}(${o.impl})`, cmd, args, { cwd: repoRoot, logFile: o.logFile });
  let readyMs: number;
  try {
    readyMs = await waitFor200(url + readyPath, child, t0, timeoutMs);
  } catch (e) {
    await stopChild(child, "SIGKILL");
    throw new Error(`${(e as Error).message}; see ${o.logFile}`);
  }
  return {
    side: o.side,
    impl: o.impl,
    url,
    pid: child.pid,
    dataDir: o.dataDir,
    child,
    readyMs,
    stop: () => stopChild(child, "SIGTERM", 30_000),
  };
}

/** Whether coreplane's CLI can start a server yet (main.ts exists and `serve --help` exits 0). */
export function coreplaneAvailable(): boolean {
  return existsSync(join(repoRoot, "main.ts"));
}

export interface Memory {
  /** Sum of VmRSS over the process and its descendants, KiB. */
  rssKb: number;
  /** Sum of VmHWM (peak RSS), KiB. */
  hwmKb: number;
  pids: number[];
}

function statusField(status: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  return m ? Number(m[1]) : 0;
}

/** The pid and all its descendants, from /proc/<pid>/stat parent links. */
export function processTree(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      // Field 4 (ppid) follows the ")" that closes the command name, which may contain spaces.
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parent.set(Number(name), Number(rest[1]));
    } catch {
      // process ended while we looked
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    for (const [child, ppid] of parent) if (ppid === out[i]) out.push(child);
  }
  return out;
}

/** Resident memory of a server process tree, from /proc/PID/status. */
export function readMemory(pid: number): Memory {
  const pids = processTree(pid);
  let rssKb = 0;
  let hwmKb = 0;
  for (const p of pids) {
    try {
      const status = readFileSync(`/proc/${p}/status`, "utf8");
      rssKb += statusField(status, "VmRSS");
      hwmKb += statusField(status, "VmHWM");
    } catch {
      // gone
    }
  }
  return { rssKb, hwmKb, pids };
}

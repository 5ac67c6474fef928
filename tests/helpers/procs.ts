// Start real servers for tests: a coreplane member (`main.ts serve` in a child process, on the
// runtime running the tests) and a real etcd 3.4 with --enable-v2. Each gets a fresh data dir
// under the system temp dir and is killed at the end. Ports the caller does not pass come from the
// OS (tests/helpers/ports.ts); a restart on the same data dir passes the first start's ports again.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePorts } from "./ports.ts";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";

export interface Proc {
  readonly url: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  readonly child: ChildProcess;
  /** Output so far (stdout + stderr), for failure messages. */
  output(): string;
  /** SIGKILL and wait for exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stop (SIGTERM, then SIGKILL after 5 s) and delete the data dir unless keepData. */
  stop(opts?: { keepData?: boolean }): Promise<void>;
}

/** Temp dirs made by tempDir() and not yet removed; whatever is left goes when the runner exits. */
const madeDirs = new Set<string>();

/**
 * A fresh dir under the system temp dir. Tests remove theirs in a finally or an after hook; one a
 * failing test left behind is removed when the runner exits, unless keepTempDir() was called on it.
 */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `coreplane-${prefix}-`));
  madeDirs.add(dir);
  return dir;
}

/** Leaves `dir` in place when the runner exits (a failed run kept on purpose to be looked at). */
export function keepTempDir(dir: string): void {
  madeDirs.delete(dir);
}

/** The command that runs main.ts on the current runtime. */
export function mainCommand(): { cmd: string; args: string[] } {
  if (isDeno) return { cmd: join(repoRoot, "node_modules", ".bin", "deno"), args: ["run", "-A", "--quiet", join(repoRoot, "main.ts")] };
  return { cmd: join(repoRoot, "node_modules", ".bin", "tsx"), args: [join(repoRoot, "main.ts")] };
}

async function waitHealthy(url: string, child: ChildProcess, out: () => string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`server exited (${child.exitCode ?? child.signalCode}) before it was healthy:\n${out()}`);
    }
    try {
      const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      await r.body?.cancel();
      if (r.status === 200) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server at ${url} not healthy after ${timeoutMs} ms:\n${out()}`);
}

// Detached children outlive a runner that dies; kill every group still running when it exits,
// then remove the temp dirs left behind.
const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of live) {
    try {
      process.kill(-c.pid!, "SIGKILL");
    } catch { /* already gone */ }
  }
  for (const d of madeDirs) {
    try {
      rmSync(d, { recursive: true, force: true });
    } catch { /* leave it */ }
  }
});

function track(child: ChildProcess, url: string, ports: { clientPort: number; peerPort: number }, dataDir: string): Proc {
  live.add(child);
  child.once("exit", () => live.delete(child));
  let text = "";
  child.stdout?.on("data", (d) => (text += d));
  child.stderr?.on("data", (d) => (text += d));
  const exited = new Promise<void>((r) => {
    if (child.exitCode !== null || child.signalCode !== null) r();
    else child.once("exit", () => r());
  });
  // Children run in their own process group (detached), and signals go to the whole group: under
  // Node, tsx starts the server as a grandchild, which a signal to the tsx launcher would miss.
  const kill = async (signal: NodeJS.Signals = "SIGKILL") => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        child.kill(signal);
      }
    }
    await exited;
  };
  return {
    url,
    clientPort: ports.clientPort,
    peerPort: ports.peerPort,
    dataDir,
    child,
    output: () => text,
    kill,
    stop: async (opts) => {
      const t = setTimeout(() => void kill("SIGKILL"), 5000);
      await kill("SIGTERM");
      clearTimeout(t);
      if (!opts?.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** etcd's member flags, which coreplane shares: one member, client and peer URLs on loopback. */
function memberFlags(name: string, dataDir: string, client: string, peer: string): string[] {
  return [
    "--name", name,
    "--data-dir", dataDir,
    "--listen-client-urls", client,
    "--advertise-client-urls", client,
    "--listen-peer-urls", peer,
    "--initial-advertise-peer-urls", peer,
    "--initial-cluster", `${name}=${peer}`,
  ];
}

/** Spawns a server in its own process group and resolves once its /health answers 200. */
async function startServer(
  cmd: string,
  args: string[],
  ports: { clientPort: number; peerPort: number },
  dataDir: string,
  opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<Proc> {
  const client = `http://127.0.0.1:${ports.clientPort}`;
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ? { ...process.env, ...opts.env } : process.env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const p = track(child, client, ports, dataDir);
  try {
    await waitHealthy(client, child, p.output, opts.timeoutMs ?? 30_000);
  } catch (e) {
    await p.kill();
    throw e;
  }
  return p;
}

/** Both ports, or fresh ones from the OS for whichever is not given. */
async function portsFor(o: { clientPort?: number; peerPort?: number }): Promise<{ clientPort: number; peerPort: number }> {
  const [a, b] = await freePorts(2);
  return { clientPort: o.clientPort ?? a, peerPort: o.peerPort ?? b };
}

export interface CoreplaneOptions {
  /** Defaults to a free port from the OS; pass the first start's to restart on the same data dir. */
  readonly clientPort?: number;
  readonly peerPort?: number;
  readonly dataDir?: string;
  readonly name?: string;
  readonly extraArgs?: readonly string[];
  readonly env?: Record<string, string>;
  readonly timeoutMs?: number;
  /** Runs the member under this limit on open files (`ulimit -n`, soft and hard). */
  readonly fdLimit?: number;
}

/** Starts `coreplane serve` and resolves once /health answers 200. */
export async function startCoreplane(o: CoreplaneOptions = {}): Promise<Proc> {
  const ports = await portsFor(o);
  const dataDir = o.dataDir ?? tempDir("member");
  const client = `http://127.0.0.1:${ports.clientPort}`;
  let { cmd, args } = mainCommand();
  if (o.fdLimit !== undefined) {
    args = ["-c", `ulimit -n ${Math.floor(o.fdLimit)} && exec "$0" "$@"`, cmd, ...args];
    cmd = "bash";
  }
  const flags = memberFlags(o.name ?? "n1", dataDir, client, `http://127.0.0.1:${ports.peerPort}`);
  return removeOnFailure(o.dataDir === undefined ? dataDir : undefined, startServer(cmd, [...args, "serve", ...flags, "--log-level", "warn", ...(o.extraArgs ?? [])], ports, dataDir, {
    cwd: repoRoot,
    env: o.env,
    timeoutMs: o.timeoutMs,
  }));
}

/** A data dir made here for a server that did not start is removed (one the caller passed is theirs). */
async function removeOnFailure(made: string | undefined, started: Promise<Proc>): Promise<Proc> {
  try {
    return await started;
  } catch (e) {
    if (made !== undefined) rmSync(made, { recursive: true, force: true });
    throw e;
  }
}

/** Starts a real etcd 3.4 single member with --enable-v2; resolves once /health answers 200. */
export async function startEtcd(o: { clientPort?: number; peerPort?: number; name?: string; timeoutMs?: number } = {}): Promise<Proc> {
  const ports = await portsFor(o);
  const dataDir = tempDir("etcd");
  const client = `http://127.0.0.1:${ports.clientPort}`;
  const flags = memberFlags(o.name ?? "n1", dataDir, client, `http://127.0.0.1:${ports.peerPort}`);
  return removeOnFailure(dataDir, startServer("etcd", [...flags, "--enable-v2", "--log-level", "error"], ports, dataDir, { timeoutMs: o.timeoutMs }));
}

// Child processes of the benchmark (servers, wrk, replay runs): spawn them in their own process
// group, remember them, and end them all on exit, on error and on Ctrl-C, so no server is left
// holding a port or a core. Must not kill anything it did not start (only the groups it created).

import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";

export interface Exit {
  code: number | null;
  signal: string | null;
}

export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly proc: ChildProcess;
  readonly exited: Promise<Exit>;
  /** True once the process has exited. */
  done(): boolean;
}

const live = new Set<Child>();
/** Set once cleanup has begun: no new child may start (it would outlive the cleanup). */
let stopping = false;

export interface SpawnOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Append stdout and stderr to this file instead of piping them. */
  logFile?: string;
}

/** Starts a process in its own process group and tracks it until it exits. */
export function spawnTracked(name: string, cmd: string, args: string[], opts: SpawnOptions = {}): Child {
  if (stopping) throw new Error(`not starting ${name}: the bench is stopping`);
  let fd: number | undefined;
  if (opts.logFile) fd = openSync(opts.logFile, "a");
  const proc = spawn(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ? { ...process.env, ...opts.env } : process.env,
    detached: true, // own process group: Ctrl-C reaches only us, and we can end the whole group
    stdio: fd === undefined ? ["ignore", "pipe", "pipe"] : ["ignore", fd, fd],
  });
  if (fd !== undefined) closeSync(fd);
  if (proc.pid === undefined) throw new Error(`could not start ${cmd}`);
  let finished = false;
  const exited = new Promise<Exit>((resolve) => {
    proc.on("exit", (code, signal) => {
      finished = true;
      live.delete(child);
      resolve({ code, signal });
    });
    proc.on("error", () => {
      finished = true;
      live.delete(child);
      resolve({ code: -1, signal: null });
    });
  });
  const child: Child = { name, pid: proc.pid, proc, exited, done: () => finished };
  live.add(child);
  return child;
}

function signalGroup(child: Child, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** Sends `signal` to the child's group, then SIGKILL after `graceMs`; resolves when it has exited. */
export async function stopChild(child: Child, signal: NodeJS.Signals = "SIGTERM", graceMs = 15000): Promise<Exit> {
  if (child.done()) return child.exited;
  signalGroup(child, signal);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      signalGroup(child, "SIGKILL");
      resolve();
    }, graceMs);
  });
  await Promise.race([child.exited, killed]);
  clearTimeout(timer);
  return child.exited;
}

/** Ends every tracked child (SIGTERM, then SIGKILL after a short grace). */
export async function stopAll(graceMs = 3000): Promise<void> {
  stopping = true;
  await Promise.all([...live].map((c) => stopChild(c, "SIGTERM", graceMs)));
}

let installed = false;

/** On SIGINT/SIGTERM: end all children, then exit with 130/143. */
export function installCleanup(onSignal?: () => void): void {
  if (installed) return;
  installed = true;
  for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    process.on(sig, () => {
      process.stderr.write(`\n${sig}: stopping ${live.size} child process(es)\n`);
      onSignal?.();
      stopAll().finally(() => process.exit(code));
    });
  }
}

export interface RunResult extends Exit {
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs a command to completion, capturing its output. `onStdoutLine` sees each stdout line as it
 * arrives (used to stop wrk once its Lua threads report they are finished).
 */
export async function runCapture(
  name: string,
  cmd: string,
  args: string[],
  opts: { cwd?: string; onStdoutLine?: (line: string, child: Child) => void } = {},
): Promise<RunResult> {
  const t0 = performance.now();
  const child = spawnTracked(name, cmd, args, { cwd: opts.cwd });
  let stdout = "";
  let stderr = "";
  let partial = "";
  child.proc.stdout!.setEncoding("utf8");
  child.proc.stderr!.setEncoding("utf8");
  child.proc.stdout!.on("data", (s: string) => {
    stdout += s;
    if (!opts.onStdoutLine) return;
    partial += s;
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) opts.onStdoutLine(line, child);
  });
  child.proc.stderr!.on("data", (s: string) => {
    stderr += s;
  });
  const closed = new Promise<void>((resolve) => {
    child.proc.on("close", () => resolve());
    child.proc.on("error", () => resolve());
  });
  const exit = await child.exited;
  await closed;
  return { ...exit, stdout, stderr, ms: performance.now() - t0 };
}

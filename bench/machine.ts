// Describes the machine a run happened on (cores, memory, disk, kernel, tool versions) for the
// results' header and JSON. Must not fail a run: anything it cannot find is reported as missing.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { repoRoot } from "./servers.ts";

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 }).trim();
  } catch (e) {
    // `wrk -v` prints its version and exits 1.
    const out = String((e as { stdout?: unknown }).stdout ?? "").trim();
    return out || "missing";
  }
}

export interface Machine {
  nproc: number;
  memTotalGiB: number;
  disk: string;
  kernel: string;
  node: string;
  deno: string;
  etcd: string;
  wrk: string;
  /** coreplane's commit, and how many files differed from it when the run started. */
  commit: string;
  uncommittedFiles: number;
}

export function describeMachine(dir: string): Machine {
  let memTotalGiB = NaN;
  try {
    const kb = Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync("/proc/meminfo", "utf8"))?.[1]);
    memTotalGiB = Math.round((kb / 1024 / 1024) * 10) / 10;
  } catch {
    // leave NaN
  }
  const df = sh("df", ["-h", "--output=source,fstype,size,avail", dir]).split("\n").slice(-1)[0]?.trim().replace(/\s+/g, " ");
  return {
    nproc: os.cpus().length,
    memTotalGiB,
    disk: df ?? "missing",
    kernel: os.release(),
    node: sh("node", ["--version"]),
    deno: sh(join(repoRoot, "node_modules", ".bin", "deno"), ["--version"]).split("\n")[0],
    etcd: sh("etcd", ["--version"]).split("\n")[0],
    wrk: sh("wrk", ["-v"]).split("\n")[0].replace(/ Copyright.*/, ""),
    commit: sh("git", ["-C", repoRoot, "rev-parse", "--short", "HEAD"]),
    uncommittedFiles: sh("git", ["-C", repoRoot, "status", "--porcelain", "--untracked-files=no"]).split("\n").filter(Boolean).length,
  };
}

/** One line for the progress log and the README. */
export function machineLine(m: Machine): string {
  return `${m.nproc} cores, ${m.memTotalGiB} GiB, disk ${m.disk}, kernel ${m.kernel}, node ${m.node}, ${m.deno}, ${m.etcd}, ${m.wrk}; coreplane at ${m.commit} (+${m.uncommittedFiles} uncommitted files)`;
}

// How much CPU other people's processes used while a figure was measured. The machine's two
// cores are shared, so a figure taken while someone else was busy is not comparable; this makes
// that visible (detail.otherCores in the JSON, a warning on the terminal) instead of hidden.
// "Ours" is this process, its live descendants (servers, wrk) and its reaped children (cutime).
// Must not influence a measurement (it only reads /proc before and after).

import { readFileSync } from "node:fs";
import { processTree } from "./servers.ts";

export interface CpuSnapshot {
  atMs: number;
  /** Busy jiffies of the whole machine (all cores): user+nice+system+irq+softirq+steal. */
  busy: number;
  /** Jiffies used by this process tree, including reaped children. */
  ours: number;
}

const ticksPerS = 100; // USER_HZ on Linux

/** Busy jiffies from the first line of /proc/stat (pure; tested). */
export function busyJiffies(procStat: string): number {
  const f = procStat.split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal ...
  return f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0);
}

/** utime+stime (and, with `children`, cutime+cstime) from a /proc/PID/stat line (pure; tested). */
export function processJiffies(stat: string, children: boolean): number {
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
  // after the command: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
  return f[11] + f[12] + (children ? f[13] + f[14] : 0);
}

export function cpuSnapshot(): CpuSnapshot {
  const busy = busyJiffies(readFileSync("/proc/stat", "utf8"));
  let ours = 0;
  for (const pid of processTree(process.pid)) {
    try {
      ours += processJiffies(readFileSync(`/proc/${pid}/stat`, "utf8"), pid === process.pid);
    } catch {
      // exited between listing and reading
    }
  }
  return { atMs: performance.now(), busy, ours };
}

/** Cores' worth of CPU used by processes outside this tree between two snapshots. */
export function otherCores(a: CpuSnapshot, b: CpuSnapshot): number {
  const seconds = (b.atMs - a.atMs) / 1000;
  if (seconds <= 0) return 0;
  const others = (b.busy - a.busy) - (b.ours - a.ours);
  return Math.max(0, others / ticksPerS / seconds);
}

/** Runs `work` and reports how many cores other processes used meanwhile. */
export async function withOtherCores<T>(work: () => Promise<T>): Promise<{ value: T; otherCores: number }> {
  const a = cpuSnapshot();
  const value = await work();
  return { value, otherCores: otherCores(a, cpuSnapshot()) };
}

/** Above this, a figure is flagged as taken on a busy machine. */
export const otherCoresWarn = 0.25;

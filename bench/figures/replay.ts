// Figure 5 (coreplane only): offline replay speed. Runs
// `deno run -A main.ts log replay --data-dir D --to <last index>` on the full-log data dir (every
// entry kept, no snapshot; see big.ts) with no server running, and divides the entries the tool
// says it replayed by the command's wall time (process start and opening the database included,
// so the figure is conservative; the tool's own rate is kept in detail.toolEntriesPerS).
// etcd has no such tool; the bar is absolute. Must not run while a server holds the data dir.

import { join } from "node:path";
import { type Ctx, sideName } from "../context.ts";
import type { Measurement } from "../report.ts";
import { withOtherCores } from "../cpu.ts";
import { runCapture } from "../proc.ts";
import { repoRoot } from "../servers.ts";
import type { BigData } from "./big.ts";

/**
 * The rate line `log replay` prints, e.g. "replayed 1,000,005 entries (1..1000005) from empty in
 * 4.61 s: 216,919 entries/s" (pure; tested).
 */
export function parseReplayLine(text: string): { entries: number; from: string; seconds: number; entriesPerS: number } | undefined {
  const m = /replayed ([0-9,]+) entries \(([^)]*)\) from (.+?) in ([0-9.]+) s: ([0-9,]+) entries\/s/.exec(text);
  if (!m) return undefined;
  const n = (x: string) => Number(x.replace(/,/g, ""));
  return { entries: n(m[1]), from: m[3], seconds: Number(m[4]), entriesPerS: n(m[5]) };
}

export async function measureReplay(ctx: Ctx, big: BigData): Promise<Measurement> {
  const name = sideName(ctx, "coreplane");
  // The last log index: X-Raft-Index after the load, which is at least the number of entries.
  const to = Number.isFinite(big.load.raftIndex) ? big.load.raftIndex : big.load.etcdIndex;
  const deno = join(repoRoot, "node_modules", ".bin", "deno");
  const args = ["run", "-A", "main.ts", "log", "replay", "--data-dir", big.dataDir, "--to", String(to)];
  const { value: r, otherCores } = await withOtherCores(() =>
    ctx.progress.during(
      "replay",
      name,
      `deno run -A main.ts log replay --to ${to}`,
      runCapture("replay", deno, args, { cwd: repoRoot }),
    )
  );
  if (r.code !== 0) throw new Error(`log replay exited ${r.code ?? r.signal}: ${r.stderr.slice(-2000)}`);
  const said = parseReplayLine(r.stdout + "\n" + r.stderr);
  if (!said) throw new Error(`log replay printed no "replayed N entries ... in S s" line:\n${r.stdout.slice(-1000)}`);
  // A replay that started from a snapshot measures loading the snapshot, not replaying the log.
  if (said.entries < big.keys) {
    throw new Error(`log replay replayed only ${said.entries} of ${to} entries (${said.from}); the data dir has a snapshot or a compacted log`);
  }
  const entriesPerS = said.entries / (r.ms / 1000);
  ctx.progress.say(
    "replay",
    name,
    `${said.entries} entries in ${(r.ms / 1000).toFixed(2)} s wall = ${entriesPerS.toFixed(0)} entries/s (tool's own timing: ${said.entriesPerS.toFixed(0)}/s)`,
  );
  return {
    value: entriesPerS,
    detail: {
      otherCores,
      entries: said.entries,
      to,
      wallMs: r.ms,
      toolSeconds: said.seconds,
      toolEntriesPerS: said.entriesPerS,
      keys: big.keys,
      stdoutTail: r.stdout.slice(-1000),
      stderrTail: r.stderr.slice(-1000),
    },
  };
}

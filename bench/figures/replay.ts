// Figure 5 (coreplane only): offline replay speed. Runs
// `deno run -A main.ts log replay --data-dir D --to <last index>` on the loaded data dir with no
// server running, and divides the entries replayed by the command's wall time (process start
// included, so the figure is conservative). etcd has no such tool; the bar is absolute.
// Must not run while a server holds the data dir.

import { join } from "node:path";
import { type Ctx, sideName } from "../context.ts";
import type { Measurement } from "../report.ts";
import { runCapture } from "../proc.ts";
import { repoRoot } from "../servers.ts";
import type { BigData } from "./big.ts";

export async function measureReplay(ctx: Ctx, big: BigData): Promise<Measurement> {
  const name = sideName(ctx, "coreplane");
  // The last log index: X-Raft-Index after the load, which is at least the number of entries.
  const to = Number.isFinite(big.load.raftIndex) ? big.load.raftIndex : big.load.etcdIndex;
  const deno = join(repoRoot, "node_modules", ".bin", "deno");
  const args = ["run", "-A", "main.ts", "log", "replay", "--data-dir", big.dataDir, "--to", String(to)];
  const r = await ctx.progress.during(
    "replay",
    name,
    `deno run -A main.ts log replay --to ${to}`,
    runCapture("replay", deno, args, { cwd: repoRoot }),
  );
  if (r.code !== 0) throw new Error(`log replay exited ${r.code ?? r.signal}: ${r.stderr.slice(-2000)}`);
  const entriesPerS = to / (r.ms / 1000);
  ctx.progress.say("replay", name, `${to} entries in ${(r.ms / 1000).toFixed(2)} s = ${entriesPerS.toFixed(0)} entries/s`);
  return {
    value: entriesPerS,
    detail: { entries: to, wallMs: r.ms, keys: big.keys, stdoutTail: r.stdout.slice(-1000), stderrTail: r.stderr.slice(-1000) },
  };
}

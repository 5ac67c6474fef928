// Runs wrk against a server with one of the Lua scripts in bench/lua/ and returns the parsed
// result. Must not interpret results beyond parsing (figures do that).

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCapture } from "./proc.ts";
import { parseLoadLine, parseWrkOutput, type WrkResult } from "./wrk_output.ts";

const luaDir = join(dirname(fileURLToPath(import.meta.url)), "lua");

export interface WrkRun {
  url: string;
  threads: number;
  connections: number;
  durationS: number;
  /** File name in bench/lua/. */
  script: string;
  scriptArgs?: string[];
  /**
   * For scripts that stop by themselves (load.lua): wrk keeps sleeping until -d runs out, so
   * once this many "THREAD_DONE" lines have appeared it is sent SIGINT.
   */
  stopAfterThreadsDone?: number;
  timeoutS?: number;
}

export interface WrkRunResult extends WrkResult {
  raw: string;
  load?: { ok: number; err: number };
  wallMs: number;
}

export async function runWrk(run: WrkRun): Promise<WrkRunResult> {
  const args = [
    `-t${run.threads}`,
    `-c${run.connections}`,
    `-d${run.durationS}s`,
    "--latency",
    "--timeout",
    `${run.timeoutS ?? 10}s`,
    "-s",
    join(luaDir, run.script),
    run.url,
  ];
  if (run.scriptArgs?.length) args.push("--", ...run.scriptArgs);
  let threadsDone = 0;
  const r = await runCapture("wrk", "wrk", args, {
    onStdoutLine: (line, child) => {
      if (line.trim() !== "THREAD_DONE" || run.stopAfterThreadsDone === undefined) return;
      threadsDone++;
      if (threadsDone === run.stopAfterThreadsDone) {
        try {
          process.kill(child.pid, "SIGINT");
        } catch {
          // exited already
        }
      }
    },
  });
  if (r.code !== 0) throw new Error(`wrk exited with ${r.code ?? r.signal}: ${r.stderr}\n${r.stdout}`);
  return { ...parseWrkOutput(r.stdout), raw: r.stdout, load: parseLoadLine(r.stdout), wallMs: r.ms };
}

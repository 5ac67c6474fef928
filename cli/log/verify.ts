// `coreplane log verify`: prints verify_report.ts's report on a log (text or --json) and, when the
// log is damaged, the command that repairs it (or, for a member of a cluster, how to replace it).
// Exit 0 when clean, 6 when damaged. Must not change the log.

import type { Index } from "../../internal/mod.ts";
import { clusterRepairAdvice } from "../../node/mod.ts";
import { parseFlags } from "../args.ts";
import { type CliIo, ExitCode } from "../io.ts";
import { fmtInt, Progress } from "../progress.ts";
import { dataDirOf, helpOr, noPositionals, openSource, SOURCE_FLAGS } from "./flags.ts";
import { acknowledgedUpTo, type LogSource } from "./source.ts";
import { verifyLog } from "./verify_report.ts";

export const VERIFY_HELP = `Usage: coreplane log verify [--data-dir D | --file F] [--json]

Checks every entry's CRC and decoding, index continuity, terms, the commit index, and each
snapshot: its CRC, and that replaying the log up to it gives the same encoded state (when the log
still reaches back to index 1 or to an older snapshot; otherwise it says what could be checked).
Exit 0 when clean; 6 with the first bad index and the repair command when not.

  --json   print the report as JSON
`;

export async function runVerify(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(argv, { ...SOURCE_FLAGS, json: { type: "boolean" } });
  if (helpOr(values, VERIFY_HELP, io)) return ExitCode.ok;
  noPositionals(positionals);
  const src = await openSource(values, io);
  const progress = new Progress(io, "verify");
  try {
    const rep = verifyLog(src, (d, t) => progress.update(d, t));
    progress.done();
    const dataDir = values.file === undefined ? dataDirOf(values, io) : undefined;
    const repair = rep.badIndex !== undefined ? repairAdvice(rep.badIndex, src, dataDir) : undefined;
    if (values.json) {
      io.out(JSON.stringify({ source: src.description, ok: rep.problems.length === 0, ...rep, repair: repair?.command || null }) + "\n");
    } else {
      let out = `${src.description}: member ${src.memberId}, cluster ${src.clusterId}\n` +
        `  entries ${src.firstIndex}..${src.lastIndex}, commit index ${src.commitIndex}, term ${src.term}, ` +
        `snapshots: ${src.snapshots.length > 0 ? src.snapshots.map((s) => s.index).join(", ") : "none"}\n`;
      for (const c of rep.checks) out += `ok   ${c}\n`;
      for (const p of rep.problems) out += `BAD  ${p}\n`;
      if (rep.problems.length === 0) out += "the log is clean\n";
      else if (repair) out += repair.text;
      io.out(out);
    }
    return rep.problems.length === 0 ? ExitCode.ok : ExitCode.dataError;
  } finally {
    progress.done();
    src.close();
  }
}

/** The repair command for a log damaged from `bad`, and the words around it. */
function repairAdvice(bad: Index, src: LogSource, dataDir: string | undefined): { command: string; text: string } {
  const keep = bad - 1;
  const lost = src.lastIndex - keep;
  const committedLost = Math.max(0, acknowledgedUpTo(src) - keep);
  const newestSnap = src.snapshots.length > 0 ? src.snapshots[src.snapshots.length - 1].index : 0;
  const force = committedLost > 0 || newestSnap > keep;
  const command = `coreplane log repair${dataDir !== undefined ? ` --data-dir ${dataDir}` : ""} --truncate-after ${keep}${force ? " --force" : ""}`;
  if (src.voters.length > 1 && dataDir !== undefined) {
    return { command: "", text: `the log is damaged from index ${bad}; a member will not start on it.\n${clusterRepairAdvice(dataDir)}\n` };
  }
  let text = `the log is damaged from index ${bad}; a member will not start on it.\n` +
    `To drop entry ${bad} and everything after it (${fmtInt(lost)} entries${committedLost > 0 ? `, ${fmtInt(committedLost)} of them committed` : ""}):\n  ${command}\n`;
  if (committedLost > 0) {
    text += `--force is needed because committed (acknowledged) entries are lost. In a cluster this member copies them back from the leader; a single member loses those writes.\n`;
  }
  if (dataDir === undefined) text += `(this is an export file: run repair on the data dir it came from)\n`;
  return { command, text };
}

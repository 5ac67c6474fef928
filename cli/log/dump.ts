// `coreplane log dump`: every entry in a range, one line each (or one JSON object per line), with
// its result as the one applier computes it (walk.ts), in its service's words (views.ts).
// Must not write anything but stdout (and the progress meter on stderr).

import { ExitCode, type CliIo } from "../io.ts";
import { intFlag, parseFlags } from "../args.ts";
import { requestLabel } from "../../node/mod.ts";
import { Progress } from "../progress.ts";
import { helpOr, noPositionals, openSource, SOURCE_FLAGS } from "./flags.ts";
import { isoTime } from "./show.ts";
import { showCommand, showResult } from "./views.ts";
import { describeAvailable, type EntryView, ReplayRangeError, walk } from "./walk.ts";

export const DUMP_HELP = `Usage: coreplane log dump [--data-dir D | --file F] [--from I] [--to I] [--json]

Prints every entry in [from, to], one line each: index, term, time (ISO; the clock of the member
that proposed the entry), proposer and request id, the command, and "=>" its result (computed by
replaying from the newest snapshot at or below --from, or from index 1). Keys are shown as clients
see them ("/foo"); the cluster's internal keys as "(internal)/0/...". Entries whose earlier state
was compacted away show no result.

  --from I   first index (default: the first stored entry)
  --to I     last index (default: the last stored entry)
  --json     one JSON object per line (for jq): index, term, kind, timeMs, time, proposer,
             requestId, command and result with the store's internal paths ("/1/foo")
`;

export async function runDump(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(argv, { ...SOURCE_FLAGS, from: { type: "string" }, to: { type: "string" }, json: { type: "boolean" } });
  if (helpOr(values, DUMP_HELP, io)) return ExitCode.ok;
  noPositionals(positionals);
  const src = await openSource(values, io);
  try {
    const from = intFlag(values, "from", 1) ?? src.firstIndex;
    const to = Math.min(intFlag(values, "to", 0) ?? src.lastIndex, src.lastIndex);
    if (from < src.firstIndex) {
      throw new ReplayRangeError(`--from ${from} is before the first stored entry ${src.firstIndex} (earlier entries were compacted into a snapshot). ${describeAvailable(src)}`);
    }
    const json = Boolean(values.json);
    const progress = new Progress(io, "dump");
    let out = "";
    const flush = () => {
      if (out.length > 0) io.out(out);
      out = "";
    };
    let unknownNoted = false;
    walk(src, {
      from,
      to,
      visit: (v) => {
        if (json) out += JSON.stringify(entryJson(v)) + "\n";
        else {
          if (!v.known && !unknownNoted) {
            unknownNoted = true;
            out += `# results before the first usable snapshot are unknown: ${describeAvailable(src)}\n`;
          }
          out += dumpLine(v) + "\n";
        }
        if (out.length > 1 << 16) flush();
      },
      onProgress: (d, t) => progress.update(d, t),
    });
    progress.done();
    flush();
    return ExitCode.ok;
  } finally {
    src.close();
  }
}

function entryJson(v: EntryView): Record<string, unknown> {
  const e = v.entry;
  const o: Record<string, unknown> = { index: e.index, term: e.term, kind: v.kind };
  if (v.envelope) {
    o.timeMs = v.envelope.timeMs;
    o.time = isoTime(v.envelope.timeMs);
    o.proposer = v.envelope.proposer;
    o.requestId = v.envelope.requestId;
    o.command = v.envelope.command;
    o.result = v.known ? v.result : null;
    if (!v.known) o.resultUnknown = true;
  }
  if (v.confChange) o.confChange = { type: v.confChange.type, nodeId: v.confChange.nodeId, contextBytes: v.confChange.context.length };
  return o;
}

const CONF_CHANGE_NAMES = ["AddNode", "RemoveNode", "UpdateNode", "AddLearnerNode"];

function dumpLine(v: EntryView): string {
  const e = v.entry;
  const head = `${String(e.index).padStart(8)}  t${e.term}`;
  switch (v.kind) {
    case "noop":
      return `${head}  -  -  (leader no-op: a new term begins)`;
    case "conf-change":
      return `${head}  -  -  conf change ${CONF_CHANGE_NAMES[v.confChange!.type] ?? v.confChange!.type} ${v.confChange!.nodeId}`;
    default: {
      const env = v.envelope!;
      const result = v.known ? showResult(v.result, env.command) : "(result unknown: state before this entry was compacted)";
      return `${head}  ${isoTime(env.timeMs)}  ${env.proposer}#${requestLabel(env.requestId)}  ${showCommand(env.command)}  => ${result}`;
    }
  }
}

// `coreplane log history --key K`: every entry that touched a kv key, one line each (or JSON), as
// the one applier (walk.ts) computed it; what "touched" means is the kv view's (KvHistory).
// Must not write anything but stdout (and the progress meter and "nothing found" on stderr).

import { parseFlags, strFlag, UsageError } from "../args.ts";
import { type CliIo, ExitCode } from "../io.ts";
import { Progress } from "../progress.ts";
import { helpOr, noPositionals, openSource, SOURCE_FLAGS } from "./flags.ts";
import { clientKey, type HistoryLine, KvHistory, showHistoryEffect } from "./kv_view.ts";
import { isoTime } from "./show.ts";
import { walk } from "./walk.ts";

export const HISTORY_HELP = `Usage: coreplane log history --key K [--data-dir D | --file F] [--recursive] [--json]

Lists every entry that touched client key K: sets, creates, updates, compare-and-swaps, deletes
and expiries of K, deletions and expiries of a directory above K, and commands on K that the store
rejected. One line each: index, time (the clock of the member that proposed the entry), action,
and the effect (previous -> new value).

  --key K        the client key, e.g. /foo
  --recursive    also keys below K
  --json         one JSON object per line
`;

export async function runHistory(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(argv, { ...SOURCE_FLAGS, key: { type: "string" }, recursive: { type: "boolean", short: "r" }, json: { type: "boolean" } });
  if (helpOr(values, HISTORY_HELP, io)) return ExitCode.ok;
  noPositionals(positionals);
  const key = strFlag(values, "key");
  if (key === undefined) throw new UsageError("--key is required");
  const history = new KvHistory(key, Boolean(values.recursive));
  const src = await openSource(values, io);
  try {
    const json = Boolean(values.json);
    const progress = new Progress(io, "history");
    let out = "";
    let count = 0;
    const emit = (lines: HistoryLine[]) => {
      for (const h of lines) {
        count++;
        if (json) out += JSON.stringify(h) + "\n";
        else out += `${String(h.index).padStart(8)}  ${isoTime(h.timeMs)}  ${h.action.padEnd(16)}  ${clientKey(h.key)}  ${showHistoryEffect(h)}\n`;
      }
    };
    walk(src, {
      from: src.firstIndex,
      to: src.lastIndex,
      onKnown: (states) => history.seed(states),
      visit: (v) => {
        if (v.kind !== "command") return;
        const env = v.envelope!;
        const base = { index: v.entry.index, term: v.entry.term, timeMs: env.timeMs };
        emit(v.known ? history.applied(base, env.command, v.result) : history.unknown(base, env.command));
        if (out.length > 1 << 16) {
          io.out(out);
          out = "";
        }
      },
      onProgress: (d, t) => progress.update(d, t),
    });
    progress.done();
    if (out.length > 0) io.out(out);
    if (count === 0 && !json) io.err(`no entry in ${src.firstIndex}..${src.lastIndex} touched ${key}\n`);
    return ExitCode.ok;
  } finally {
    src.close();
  }
}

// `coreplane log replay`: rebuilds every projection as it was right after an index, through the one
// applier (walk.ts), and prints a summary of each service's state, the whole state as JSON, or one
// kv key (--key); then the replay rate on stderr (bench/figures/replay.ts reads that line).
// Must not write anything but stdout and stderr.

import type { Index } from "../../internal/mod.ts";
import { EntryType } from "../../log/mod.ts";
import { decodeEnvelope } from "../../projections/mod.ts";
import { intFlag, parseFlags, strFlag } from "../args.ts";
import { type CliIo, ExitCode } from "../io.ts";
import { fmtInt, Progress } from "../progress.ts";
import { helpOr, noPositionals, openSource, SOURCE_FLAGS } from "./flags.ts";
import { kvErrorLine, kvLookup } from "./kv_view.ts";
import { isoTime } from "./show.ts";
import type { LogSource } from "./source.ts";
import { summaryJson, summaryLines } from "./views.ts";
import { checkReplayable, walk } from "./walk.ts";

export const REPLAY_HELP = `Usage: coreplane log replay [--data-dir D | --file F] [--to I] [--key K [--recursive]] [--json]

Rebuilds every projection as it was right after entry I, starting from the newest snapshot at or
below I (or from empty when the log reaches back to index 1), and prints:
  without --key: a summary (index, term, the time of the last command, etcd index, number of
                 nodes) and the replay rate; with --json, the whole key tree as etcd would list
                 it (recursive, sorted)
  with --key K:  the etcd v2 node of client key K at that point, as JSON
TTLs are judged at the time of the last command applied (the clock of the member that proposed it).

  --to I         the index (default: the last stored entry)
  --key K        a client key, e.g. /foo
  --recursive    with --key on a directory: include the whole subtree
  --json         JSON output
`;

export async function runReplay(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    ...SOURCE_FLAGS,
    to: { type: "string" },
    key: { type: "string" },
    recursive: { type: "boolean", short: "r" },
    json: { type: "boolean" },
  });
  if (helpOr(values, REPLAY_HELP, io)) return ExitCode.ok;
  noPositionals(positionals);
  const src = await openSource(values, io);
  try {
    const to = intFlag(values, "to", 0) ?? src.lastIndex;
    const start = checkReplayable(src, to);
    const progress = new Progress(io, `replay to ${to}`);
    const t0 = performance.now();
    const r = walk(src, {
      from: to + 1,
      to,
      onProgress: (d, t) => progress.update(d, t),
    });
    const seconds = (performance.now() - t0) / 1000;
    progress.done();
    // The time of the last command applied (its proposer's clock): TTLs are shown as they were then.
    const lastTimeMs = lastCommandTime(src, to);
    const states = r.states!;
    const nowMs = lastTimeMs ?? Date.now();
    const from = start.snapshot ? `the snapshot at ${start.index}` : "empty";
    const secs = Math.max(seconds, 1e-6);
    const rate = `replayed ${fmtInt(r.entries)} entries (${start.index + 1}..${to}) from ${from} in ${seconds.toFixed(2)} s: ${fmtInt(r.entries / secs)} entries/s` +
      (start.snapshot ? `; the state of all ${fmtInt(to)} entries in ${seconds.toFixed(2)} s: ${fmtInt(to / secs)} entries/s\n` : "\n");
    const key = strFlag(values, "key");
    if (key !== undefined) {
      const got = kvLookup(states, key, Boolean(values.recursive), nowMs);
      io.err(rate);
      if ("error" in got) {
        if (values.json) io.out(JSON.stringify(got.error) + "\n");
        io.err(kvErrorLine(got.error) + "\n");
        return ExitCode.serverError;
      }
      io.out(got.json + "\n");
      return ExitCode.ok;
    }
    const term = to >= src.firstIndex ? termAt(src, to) : undefined;
    if (values.json) {
      const head = {
        index: to,
        term: term ?? null,
        timeMs: lastTimeMs ?? null,
        time: lastTimeMs === undefined ? null : isoTime(lastTimeMs),
      };
      const fields = summaryJson(states, nowMs).map(([k, v]) => `,${JSON.stringify(k)}:${v}`).join("");
      io.out(JSON.stringify(head).slice(0, -1) + fields + "}\n");
      io.err(rate);
      return ExitCode.ok;
    }
    io.out(
      `state at index ${to}${term !== undefined ? ` (term ${term}` : " ("}${lastTimeMs !== undefined ? `, time ${isoTime(lastTimeMs)})` : ")"}\n` +
        summaryLines(states).map((l) => l + "\n").join("") +
        rate,
    );
    return ExitCode.ok;
  } finally {
    src.close();
  }
}

function termAt(src: LogSource, i: Index): number | undefined {
  for (const e of src.entries(i, i)) return e.term;
  return src.snapshots.find((s) => s.index === i)?.term;
}

/** The time (the proposer's clock) of the newest command at or below `i`, looking back a little. */
function lastCommandTime(src: LogSource, i: Index): number | undefined {
  const lo = Math.max(src.firstIndex, i - 64);
  let t: number | undefined;
  for (const e of src.entries(lo, i)) {
    if (e.data.length === 0 || e.type !== EntryType.Normal) continue;
    try {
      t = decodeEnvelope(e.data, e.index).timeMs;
    } catch { /* replay would have failed first */ }
  }
  return t;
}

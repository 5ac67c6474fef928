// `coreplane log export`: writes a range of a data dir's log, byte for byte, and the snapshots it can
// replay from, to a portable file (file.ts) that every other log command reads with --file.
// Must not overwrite a file (an export is evidence) and must not write to the data dir.

import { closeSync, openSync } from "node:fs";
import { loadRuntime } from "../../node/mod.ts";
import { intFlag, parseFlags, strFlag, UsageError } from "../args.ts";
import { type CliIo, ExitCode } from "../io.ts";
import { fmtInt, Progress } from "../progress.ts";
import { LOG_FILE_FORMAT, LOG_FILE_VERSION, LogFileWriter } from "./file.ts";
import { dataDirOf, helpOr, noPositionals } from "./flags.ts";
import { openDataDirSource } from "./source.ts";
import { describeAvailable, ReplayRangeError } from "./walk.ts";

export const EXPORT_HELP = `Usage: coreplane log export --out OUT [--data-dir D] [--from I] [--to I]
       coreplane log export --file OUT [--data-dir D] [--from I] [--to I]

Writes a portable log file: a header (format version, member and cluster ids, index range, commit
index, and the stored snapshots the range can replay from) followed by the raw entries, byte for
byte, so their CRCs still verify. Every other log command reads it with --file.

  --file OUT / --out OUT   the file to write (must not exist)
  --from I, --to I         the range (default: every stored entry)
`;

export async function runExport(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    "data-dir": { type: "string" },
    file: { type: "string" },
    out: { type: "string", short: "o" },
    from: { type: "string" },
    to: { type: "string" },
  });
  if (helpOr(values, EXPORT_HELP, io)) return ExitCode.ok;
  noPositionals(positionals);
  const outPath = strFlag(values, "out") ?? strFlag(values, "file");
  if (outPath === undefined) throw new UsageError("--file OUT (or --out OUT) is required: the export file to write");
  if (values.out !== undefined && values.file !== undefined) throw new UsageError("give --file or --out, not both");
  const src = await openDataDirSource(await loadRuntime(), dataDirOf(values, io));
  try {
    const from = intFlag(values, "from", 1) ?? src.firstIndex;
    const to = Math.min(intFlag(values, "to", 0) ?? src.lastIndex, src.lastIndex);
    if (from < src.firstIndex) {
      throw new ReplayRangeError(`--from ${from} is before the first stored entry ${src.firstIndex}. ${describeAvailable(src)}`);
    }
    if (to < from) throw new UsageError(`--to ${to} is before --from ${from}`);
    // Refuse to overwrite: an export is evidence.
    try {
      closeSync(openSync(outPath, "wx"));
    } catch (e) {
      throw new UsageError(`cannot create ${outPath}: ${(e as Error).message}`);
    }
    const snaps = src.snapshots
      .filter((s) => s.index >= from - 1 && s.index <= to)
      .map((s) => ({ index: s.index, term: s.term, data: src.snapshotData(s.index) }));
    const w = new LogFileWriter(outPath, {
      format: LOG_FILE_FORMAT,
      version: LOG_FILE_VERSION,
      memberId: src.memberId,
      clusterId: src.clusterId,
      firstIndex: from,
      lastIndex: to,
      commitIndex: src.commitIndex,
      term: src.term,
      voters: src.voters,
      snapshots: snaps,
      exportedAtMs: Date.now(),
      source: src.description,
    });
    const progress = new Progress(io, "export");
    const total = to - from + 1;
    try {
      for (const e of src.entries(from, to)) {
        w.add(e);
        if ((w.count & 0x3fff) === 0) progress.update(w.count, total);
      }
    } finally {
      w.close();
      progress.done();
    }
    const note = from > 1 && snaps.every((s) => s.index !== from - 1)
      ? snaps.length > 0
        ? ` Results of entries before index ${snaps[0].index + 1} will be unknown to the reader (state before them is not in the file).`
        : ` The file holds no snapshot and does not start at index 1: readers can list its entries but not compute their results.`
      : "";
    io.out(`wrote ${outPath}: entries ${from}..${to} (${fmtInt(w.count)}), ${snaps.length} snapshot(s)${snaps.length ? ` at ${snaps.map((s) => s.index).join(", ")}` : ""}.${note}\n`);
    return ExitCode.ok;
  } finally {
    src.close();
  }
}

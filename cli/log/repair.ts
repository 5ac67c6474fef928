// `coreplane log repair --truncate-after N`: drops a damaged or torn tail of a single member's log
// and lowers the commit index to match. Asks no questions.
// Must not touch a data dir a process holds, a member of a cluster's log (it is replaced instead),
// or acknowledged entries and snapshots without --force.

import { AssertionError } from "../../internal/mod.ts";
import { clusterRepairAdvice, isHeldByAnother, loadRuntime, SqliteStorage } from "../../node/mod.ts";
import { intFlag, parseFlags, UsageError } from "../args.ts";
import { type CliIo, ExitCode } from "../io.ts";
import { fmtInt } from "../progress.ts";
import { dataDirOf, helpOr, noPositionals } from "./flags.ts";
import { acknowledgedUpTo, openDataDirSource } from "./source.ts";

export const REPAIR_HELP = `Usage: coreplane log repair --truncate-after N [--data-dir D] [--force]

Deletes every entry after N (a damaged or torn tail) and lowers the commit index to N. Asks no
questions. Refuses when a member has the data dir open, when N is below the first stored entry,
and, unless --force, when N is below the commit index (acknowledged writes would be lost) or below
the newest snapshot (which --force then deletes too); the lost entries are gone. Refuses, whatever
the flags, on a member of a cluster: the leader counts the entries it acknowledged, so a member
with a damaged log is replaced instead (member remove, a fresh data dir, member add, start it with
--initial-cluster-state existing), and the message says how.

  --truncate-after N   keep entries up to and including N
  --force              allow losing committed entries / snapshots above N
`;

export async function runRepair(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(argv, { "data-dir": { type: "string" }, "truncate-after": { type: "string" }, force: { type: "boolean" } });
  if (helpOr(values, REPAIR_HELP, io)) return ExitCode.ok;
  noPositionals(positionals);
  const n = intFlag(values, "truncate-after", 0);
  if (n === undefined) throw new UsageError("--truncate-after N is required (the last entry to keep)");
  const force = Boolean(values.force);
  const dataDir = dataDirOf(values, io);
  const rt = await loadRuntime();
  if (isHeldByAnother(rt, dataDir)) {
    io.err(`coreplane log repair: a running process (a member?) has ${dataDir} open. Stop it first; nothing was changed.\n`);
    return ExitCode.dataError;
  }
  const src = await openDataDirSource(rt, dataDir);
  const info = {
    first: src.firstIndex,
    last: src.lastIndex,
    commit: src.commitIndex,
    acked: acknowledgedUpTo(src),
    single: src.voters.length <= 1,
    snapshots: src.snapshots.map((s) => s.index),
  };
  src.close();
  const refuse = (why: string) => {
    io.err(`coreplane log repair: ${why}\nNothing was changed.\n`);
    return ExitCode.dataError;
  };
  if (!info.single) return refuse(clusterRepairAdvice(dataDir));
  if (n >= info.last) {
    io.out(`nothing to do: the log ends at ${info.last}, at or before ${n}\n`);
    return ExitCode.ok;
  }
  if (n < info.first - 1) {
    return refuse(`entries up to ${info.first - 1} were compacted into a snapshot; the log cannot be truncated below ${info.first - 1}`);
  }
  const snapsAbove = info.snapshots.filter((s) => s > n);
  if (snapsAbove.length > 0) {
    if (!force) {
      return refuse(`the newest snapshot is at ${snapsAbove[snapsAbove.length - 1]}, after ${n}: truncating would leave a snapshot of entries the log no longer holds. Add --force to delete the snapshot(s) at ${snapsAbove.join(", ")} as well`);
    }
    const remaining = info.snapshots.filter((s) => s <= n && s >= info.first - 1);
    if (info.first > 1 && remaining.length === 0) {
      return refuse(`deleting the snapshot(s) at ${snapsAbove.join(", ")} would leave no starting point: entries before ${info.first} are compacted and no older snapshot meets them`);
    }
  }
  if (n < info.acked && !force) {
    return refuse(
      `entries ${n + 1}..${info.acked} are committed${info.single ? " (a single member commits every entry it has stored)" : ""}: ` +
        `clients may have been told they were written. Add --force to drop them anyway ` +
        `(a single member loses them)`,
    );
  }
  let storage: SqliteStorage;
  try {
    storage = await SqliteStorage.open(rt, dataDir);
  } catch (e) {
    if (e instanceof AssertionError) return refuse(`the log cannot be opened for repair: ${e.message}`);
    throw e;
  }
  let removed: number;
  try {
    // Snapshots first: a crash in between leaves a log longer than it must be, never a snapshot beyond it.
    if (snapsAbove.length > 0) storage.deleteSnapshotsAfter(n);
    removed = storage.truncateAfter(n);
  } finally {
    storage.close();
  }
  io.out(
    `truncated ${dataDir} after index ${n}: removed ${fmtInt(removed)} entries (${n + 1}..${info.last})` +
      `${info.commit > n ? `; commit index lowered from ${info.commit} to ${n}` : ""}` +
      `${snapsAbove.length > 0 ? `; deleted snapshot(s) at ${snapsAbove.join(", ")}` : ""}.\n` +
      `Check it with: coreplane log verify --data-dir ${dataDir}\n`,
  );
  return ExitCode.ok;
}

// `coreplane log dump|replay|history|export|verify|repair`: the offline tools over a data dir
// (opened read-only) or a portable export file (--file). This file picks the subcommand (one file
// each in cli/log/) and turns their errors into messages and exit codes. Every result they show is
// computed by projections/applier.ts, the one applier the live member uses (cli/log/walk.ts).
// Must not modify a data dir, except `repair`, which asks no questions but refuses when a member
// holds the dir or when it would lose acknowledged entries without --force.

import { NoLogError } from "../node/mod.ts";
import { CorruptEntryError } from "../projections/mod.ts";
import { UsageError } from "./args.ts";
import { type CliIo, ExitCode } from "./io.ts";
import { runDump } from "./log/dump.ts";
import { runExport } from "./log/export.ts";
import { LogFileError } from "./log/file.ts";
import { DEFAULT_DATA_DIR } from "./log/flags.ts";
import { runHistory } from "./log/history.ts";
import { runRepair } from "./log/repair.ts";
import { runReplay } from "./log/replay.ts";
import { runVerify } from "./log/verify.ts";
import { ReplayRangeError } from "./log/walk.ts";

const USAGE = `Usage: coreplane log <command> [flags]

Offline tools for a member's log. They read the data dir read-only (safe on a copy, and while a
member runs), or a portable export file given with --file. Every entry carries the time of the
member that proposed it (the one the client talked to); the tools show that time.

Commands:
  dump      print every entry: index, term, time, proposer, command and its result
  replay    rebuild the state as it was at an index; print a summary, the key tree or one key
  history   every entry that touched a key
  export    write a portable log file for a bug report
  verify    check CRCs, index continuity and snapshots; exit 6 when damaged
  repair    drop a damaged tail (--truncate-after N)

Common flags:
  --data-dir D   the member's data dir [COREPLANE_DATA_DIR, default "${DEFAULT_DATA_DIR}"]
  --file F       read an export file (from "coreplane log export") instead of a data dir

Run "coreplane log <command> --help" for a command's flags.
`;

const COMMANDS: Record<string, (argv: string[], io: CliIo) => Promise<number>> = {
  dump: runDump,
  replay: runReplay,
  history: runHistory,
  export: runExport,
  verify: runVerify,
  repair: runRepair,
};

export async function runLog(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") {
    io.out(USAGE);
    return sub === undefined ? ExitCode.usage : ExitCode.ok;
  }
  const cmd = COMMANDS[sub];
  if (!cmd) {
    io.err(`coreplane log: unknown command "${sub}"\n\n${USAGE}`);
    return ExitCode.usage;
  }
  try {
    return await cmd(rest, io);
  } catch (e) {
    return reportError(e, sub, io);
  }
}

function reportError(e: unknown, sub: string, io: CliIo): number {
  if (e instanceof UsageError) {
    io.err(`coreplane log ${sub}: ${e.message}\nRun "coreplane log ${sub} --help" for the flags.\n`);
    return ExitCode.usage;
  }
  if (e instanceof ReplayRangeError) {
    io.err(`coreplane log ${sub}: ${e.message}\n`);
    return ExitCode.usage;
  }
  if (e instanceof NoLogError || e instanceof LogFileError) {
    io.err(`coreplane log ${sub}: ${e.message}\n`);
    return ExitCode.dataError;
  }
  if (e instanceof CorruptEntryError) {
    io.err(`coreplane log ${sub}: ${e.message}\nRun "coreplane log verify" on it for the full picture and the repair command.\n`);
    return ExitCode.dataError;
  }
  const err = e as Error;
  io.err(`coreplane log ${sub}: ${err?.message ?? String(e)}\n`);
  return ExitCode.dataError;
}

// What every `coreplane log` subcommand shares: where the log comes from (--data-dir, or --file for
// an export), --help, and no positional arguments.
// Must not print anything but a subcommand's help, and must not open a data dir for writing.

import { loadRuntime } from "../../node/mod.ts";
import { type FlagValues, strFlag, UsageError } from "../args.ts";
import type { CliIo } from "../io.ts";
import { type LogSource, openDataDirSource, openFileSource } from "./source.ts";

export const DEFAULT_DATA_DIR = "coreplane.data";

/** The flags that pick a log: a data dir, or an export file. */
export const SOURCE_FLAGS = {
  "data-dir": { type: "string" },
  file: { type: "string" },
} as const;

/** --data-dir, else COREPLANE_DATA_DIR, else the default. */
export function dataDirOf(values: FlagValues, io: CliIo): string {
  return strFlag(values, "data-dir") ?? io.env.COREPLANE_DATA_DIR ?? DEFAULT_DATA_DIR;
}

/** The log the flags name: the export file of --file, else the data dir, read-only. */
export async function openSource(values: FlagValues, io: CliIo): Promise<LogSource> {
  const file = strFlag(values, "file");
  if (file !== undefined) {
    if (values["data-dir"] !== undefined) throw new UsageError("give --data-dir or --file, not both");
    return openFileSource(file);
  }
  return openDataDirSource(await loadRuntime(), dataDirOf(values, io));
}

/** Prints `help` and says true when --help was given. */
export function helpOr(values: FlagValues, help: string, io: CliIo): boolean {
  if (values.help) io.out(help);
  return Boolean(values.help);
}

export function noPositionals(positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
}

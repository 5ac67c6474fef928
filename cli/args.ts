// Flag parsing shared by the kv, cluster and log commands: parseArgs from node:util with strict
// checking, turned into a UsageError that names the bad flag, and number flags checked once.
// Must not print (commands do) and must not read the environment (commands pass io.env in).

import { parseArgs, type ParseArgsConfig } from "node:util";

/** Bad command-line arguments: the command prints the message and its --help hint, exit 1. */
export class UsageError extends Error {
  override name = "UsageError";
  readonly code = "cli/usage";
}

type Options = NonNullable<ParseArgsConfig["options"]>;
export type FlagValues = Record<string, string | boolean | string[] | undefined>;

export interface Parsed {
  readonly values: FlagValues;
  readonly positionals: string[];
}

/** Parses `argv` against `options` (plus --help/-h); unknown flags are a UsageError. */
export function parseFlags(argv: readonly string[], options: Options, allowPositionals = true): Parsed {
  try {
    const r = parseArgs({
      args: [...argv],
      options: { help: { type: "boolean", short: "h" }, ...options },
      allowPositionals,
      strict: true,
    });
    return { values: r.values as FlagValues, positionals: r.positionals };
  } catch (e) {
    // node:util's messages are already specific ("Unknown option '--x'", "Option '--to <value>' argument missing").
    throw new UsageError((e as Error).message.replace(/\. To specify a positional argument.*$/s, ""));
  }
}

/** A flag holding a non-negative integer, or undefined when absent. */
export function intFlag(values: FlagValues, name: string, min = 0): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const s = String(v);
  if (!/^\d+$/.test(s) || Number(s) < min || !Number.isSafeInteger(Number(s))) {
    throw new UsageError(`--${name} must be an integer >= ${min}, not "${s}"`);
  }
  return Number(s);
}

export function strFlag(values: FlagValues, name: string): string | undefined {
  const v = values[name];
  return v === undefined ? undefined : String(v);
}

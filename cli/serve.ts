// `coreplane serve`: parses the flags, starts the member, stops it cleanly on SIGINT/SIGTERM.
// Must not hold member logic (node/server.ts and node/node.ts do).

import { ConfigError, createLogger, loadRuntime, parseServeConfig, serveHelp, startMember } from "../node/mod.ts";
import { type CliIo, ExitCode } from "./io.ts";

export async function runServe(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    io.out(serveHelp() + "\n");
    return ExitCode.ok;
  }
  let config;
  try {
    config = parseServeConfig(argv, io.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      io.err(`coreplane serve: ${e.message}\nRun "coreplane serve --help" for the flags.\n`);
      return ExitCode.usage;
    }
    throw e;
  }
  const runtime = await loadRuntime();
  const logger = createLogger(config.logLevel);
  let member;
  try {
    member = await startMember(config, runtime, logger);
  } catch (e) {
    io.err(`coreplane serve: ${(e as Error).message}\n`);
    return ExitCode.dataError;
  }
  const onSignal = () => void member.stop();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const err = await member.done;
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  if (err) {
    io.err(`coreplane serve: stopped: ${err.message}\n`);
    return ExitCode.dataError;
  }
  logger.info("stopped");
  return ExitCode.ok;
}

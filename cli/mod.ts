// Public surface of cli/: run one command line, what a command receives (CliIo), its exit codes,
// and the `log` tools' entry for tests that drive them in-process. A plain list of re-exports.
export { runCli } from "./main.ts";
export type { CliIo } from "./io.ts";
export { ExitCode } from "./io.ts";
export { runLog } from "./log.ts";

// The process entry: reads argv and the environment once, runs one CLI command (cli/), and exits
// with its code. The only file that exits the process. Must not hold command logic.

import { type CliIo, runCli } from "./cli/mod.ts";

const io: CliIo = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
  env: { ...process.env },
  progress: Boolean(process.stderr.isTTY),
};
const code = await runCli(process.argv.slice(2), io);
// Flush stdout before exiting so piped output (| jq) is complete.
process.stdout.write("", () => process.exit(code));

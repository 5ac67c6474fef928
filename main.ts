// The process entry: reads argv and the environment once, runs one CLI command, and exits with
// its code. The only file that exits the process. Must not hold command logic.

import { type CliIo, ExitCode } from "./node/cli.ts";

const USAGE = `coreplane: etcd, fleet, locksmith and update_engine as one daemon over one Raft log

Usage: coreplane <command> [flags]

Commands:
  serve             run a member (etcd's flags: --name, --data-dir, --listen-client-urls, ...)
  kv                get|set|mk|mkdir|rm|rmdir|ls|update|watch keys, etcdctl-like (--endpoints)
  cluster status    show every member's Raft progress
  log               dump|replay|history|export|verify|repair a data dir offline

Run "coreplane <command> --help" for a command's flags.
`;

async function main(argv: string[]): Promise<number> {
  const io: CliIo = {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    env: { ...process.env },
    progress: Boolean(process.stderr.isTTY),
  };
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case "serve":
      return (await import("./node/cli_serve.ts")).runServe(rest, io);
    case "kv":
      return (await import("./node/cli_kv.ts")).runKv(rest, io);
    case "cluster":
      return (await import("./node/cli_cluster.ts")).runCluster(rest, io);
    case "log":
      return (await import("./node/cli_log.ts")).runLog(rest, io);
    case "version":
    case "--version":
      io.out("coreplane 0.1.0 (etcd v2 API 3.4.23)\n");
      return ExitCode.ok;
    case undefined:
    case "help":
    case "--help":
    case "-h":
      io.out(USAGE);
      return cmd === undefined ? ExitCode.usage : ExitCode.ok;
    default:
      io.err(`coreplane: unknown command "${cmd}"\n\n${USAGE}`);
      return ExitCode.usage;
  }
}

const code = await main(process.argv.slice(2));
// Flush stdout before exiting so piped output (| jq) is complete.
process.stdout.write("", () => process.exit(code));

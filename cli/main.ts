// `coreplane <command>`: the top-level usage and the dispatch to one file per command (serve.ts,
// kv.ts, cluster.ts, log.ts). Each command is loaded only when asked for, so `kv get` does not
// load SQLite. Must not exit the process (main.ts does) or read argv and the environment itself.

import { type CliIo, ExitCode } from "./io.ts";

const USAGE = `coreplane: etcd, fleet, locksmith and update_engine as one daemon over one Raft log

Usage: coreplane <command> [flags]

Commands:
  serve             run a member (etcd's flags: --name, --data-dir, --listen-client-urls, ...)
  kv                get|set|mk|mkdir|rm|rmdir|ls|update|watch keys, etcdctl-like (--endpoints)
  cluster status    show every member's Raft progress
  log               dump|replay|history|export|verify|repair a data dir offline

Run "coreplane <command> --help" for a command's flags.
`;

/** Runs the command `argv` names and gives its exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case "serve":
      return (await import("./serve.ts")).runServe(rest, io);
    case "kv":
      return (await import("./kv.ts")).runKv(rest, io);
    case "cluster":
      return (await import("./cluster.ts")).runCluster(rest, io);
    case "log":
      return (await import("./log.ts")).runLog(rest, io);
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

// What every CLI command receives: output streams, the environment and whether stdout is a
// terminal (for progress lines). main.ts builds it once; commands return their exit code.
// Must not exit the process: only main.ts does.

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** True when stderr is a terminal: long commands draw progress there. */
  readonly progress: boolean;
}

/** Exit codes, etcdctl-compatible where etcdctl has one. */
export const ExitCode = Object.freeze({
  ok: 0,
  /** bad arguments */
  usage: 1,
  /** cannot connect */
  badConnection: 2,
  /** the server answered an error */
  serverError: 4,
  /** the cluster is unhealthy */
  unhealthy: 5,
  /** local data problem (corrupt log, missing data dir) */
  dataError: 6,
});

// Structured logs as JSON lines on stderr, one object per event, so `jq` can read a member's log.
// Must not be used for user-facing CLI output (that is plain text on stdout/stderr in main.ts).

export type Level = "debug" | "info" | "warn" | "error";
const rank: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function createLogger(level: Level, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const at = (lv: Level) => (msg: string, fields?: Record<string, unknown>) => {
    if (rank[lv] < rank[level]) return;
    write(JSON.stringify({ ts: new Date().toISOString(), level: lv, msg, ...fields }) + "\n");
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

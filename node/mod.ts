// Public surface of node/ for the CLI (cli/) and the process entry: start a member from its flags,
// the runtime, the logger, and what the offline log tools read and repair a data dir with (the
// schema's typed query builder and the runner that executes it on a read-only connection).
// Must not define anything; a plain list of re-exports.
export type { Config } from "./config.ts";
export { ConfigError, parseServeConfig, serveHelp } from "./config.ts";
export type { Level, Logger } from "./logger.ts";
export { createLogger } from "./logger.ts";
export type { Runtime } from "./runtime.ts";
export { loadRuntime } from "./runtime.ts";
export type { Member } from "./server.ts";
export { startMember } from "./server.ts";
export type { SqliteDb } from "./sqlite.ts";
export { isHeldByAnother, NoLogError, openSqliteReadOnly } from "./sqlite_readonly.ts";
export { DB_FILE, SqliteStorage } from "./storage_sqlite.ts";
export { missingTables, qb } from "./schema.ts";
export { QueryRunner } from "./query_runner.ts";
export { requestLabel } from "./request_id.ts";
export { clusterRepairAdvice } from "./repair_advice.ts";

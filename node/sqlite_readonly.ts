// Opens a data dir's SQLite file READ-ONLY for the offline log tools (dump, replay, history,
// export, verify), so looking at a log can never change it: no migration, no checkpoint on close,
// no write even by mistake. Also the probe that tells whether a member holds the file.
// Must not be used by the daemon (storage_sqlite.ts opens read-write), and must not grow queries.

import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Runtime } from "./runtime.ts";
import type { SqliteDb } from "./sqlite.ts";
import { DB_FILE } from "./storage_sqlite.ts";

/** A data dir that is missing or holds no log: the operator gave the wrong path. */
export class NoLogError extends Error {
  override name = "NoLogError";
  readonly code = "cli/no-log";
}

/** The log file inside a data dir, or throws NoLogError naming what was looked for. */
export function dbPathOf(dataDir: string): string {
  const p = join(dataDir, DB_FILE);
  if (!existsSync(dataDir)) throw new NoLogError(`data dir ${dataDir} does not exist`);
  if (!existsSync(p)) throw new NoLogError(`${dataDir} holds no coreplane log (${DB_FILE} is missing)`);
  return p;
}

/** Opens `<dataDir>/coreplane.db` read-only. */
export function openSqliteReadOnly(rt: Runtime, dataDir: string): Promise<SqliteDb> {
  return Promise.resolve(rt.openSqlite(dbPathOf(dataDir), { readOnly: true }));
}

/**
 * True when another connection (a running member) has the database open. A WAL-mode connection
 * holds a shared lock on the file for as long as it is open, so an exclusive lock with no busy
 * wait fails exactly then. Opens read-write (an exclusive lock needs it) but writes nothing.
 */
export function isHeldByAnother(rt: Runtime, dataDir: string): boolean {
  const db = rt.openSqlite(dbPathOf(dataDir));
  try {
    db.exec("PRAGMA busy_timeout = 0");
    db.exec("PRAGMA locking_mode = EXCLUSIVE");
    db.exec("BEGIN EXCLUSIVE");
    db.exec("COMMIT");
    return false;
  } catch (e) {
    if (/locked|busy/i.test((e as Error).message)) return true;
    throw e;
  } finally {
    db.close();
  }
}

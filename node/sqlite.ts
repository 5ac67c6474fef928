// The small synchronous SQLite surface that node:sqlite (Deno) and better-sqlite3 (Node) share,
// so storage code is written once. The runtime files open it; nothing else knows which it is.
// Must not grow driver-specific options: if one driver lacks a call, it does not belong here.

export interface SqliteStatement {
  run(...params: unknown[]): { changes: number | bigint; lastInsertRowid: number | bigint };
  get(...params: unknown[]): Record<string, unknown> | undefined;
  all(...params: unknown[]): Record<string, unknown>[];
  iterate(...params: unknown[]): IterableIterator<Record<string, unknown>>;
}

export interface SqliteDb {
  exec(sql: string): void;
  prepare(sql: string): SqliteStatement;
  close(): void;
}

/** An SQLite failure, with SQLite's error text; `diskFull` when the disk or database is full. */
export class StorageError extends Error {
  override name = "StorageError";
  readonly code: "storage/disk-full" | "storage/io";
  constructor(message: string, diskFull: boolean) {
    super(message);
    this.code = diskFull ? "storage/disk-full" : "storage/io";
  }
  get diskFull(): boolean {
    return this.code === "storage/disk-full";
  }
}

/** Wraps a driver error: SQLITE_FULL and ENOSPC become disk-full. */
export function toStorageError(e: unknown, what: string): StorageError {
  if (e instanceof StorageError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: unknown })?.code;
  const full = /database or disk is full|SQLITE_FULL|ENOSPC|no space left/i.test(msg) || code === "SQLITE_FULL";
  return new StorageError(`${what}: ${msg}`, full);
}

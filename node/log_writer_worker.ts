// The log writer thread: owns a second SQLite connection and commits each batch the member sends
// (one transaction, one fsync, and SQLite's WAL checkpoints) while the main thread goes on parsing
// requests. Must not decide anything: it writes what it is given, in order, and says how it went.

import { parentPort, workerData } from "node:worker_threads";
import type { Entry, EntryType, HardState, Snapshot } from "../log/types.ts";
import { loadRuntime } from "./runtime.ts";
import { configureConnection, prepareStatements, writeBatch } from "./storage_sqlite.ts";
import { toStorageError } from "./sqlite.ts";

export interface WriteRequest {
  readonly id: number;
  readonly lastBefore: number;
  /** [index, term, type, data] per entry: cheaper to clone than objects. */
  readonly entries: [number, number, number, Uint8Array][];
  readonly hardState?: HardState;
  readonly snapshot?: Snapshot;
}

export type WriteReply =
  | { readonly id: number; readonly ok: true }
  | { readonly id: number; readonly ok: false; readonly message: string; readonly diskFull: boolean };

const port = parentPort!;
const rt = await loadRuntime();
const db = rt.openSqlite((workerData as { dbPath: string }).dbPath);
configureConnection(db);
const st = prepareStatements(db);

port.on("message", (m: WriteRequest | "close") => {
  if (m === "close") {
    db.close();
    port.postMessage("closed");
    return;
  }
  const entries: Entry[] = m.entries.map(([index, term, type, data]) => ({ index, term, type: type as EntryType, data }));
  try {
    writeBatch(db, st, { entries, hardState: m.hardState, snapshot: m.snapshot }, m.lastBefore);
    port.postMessage({ id: m.id, ok: true } satisfies WriteReply);
  } catch (e) {
    const se = toStorageError(e, "saving the log");
    port.postMessage({ id: m.id, ok: false, message: se.message, diskFull: se.diskFull } satisfies WriteReply);
  }
});
port.postMessage("ready");

// The read side of the log that the Raft core needs, defined here by its consumer (raft_log.ts).
// node/storage_sqlite.ts and log/memory_storage.ts implement it; tests/log/storage_contract.ts
// runs one suite against both. Must not write: writes go through the driver's save(), not the core.

import type { Index, Term } from "../internal/mod.ts";
import type { ConfState, Entry, HardState, Snapshot } from "./types.ts";

/** Asked for entries that were compacted away into a snapshot. */
export class CompactedError extends Error {
  override name = "CompactedError";
  readonly code = "log/compacted";
}
/** Asked for entries past the last index. */
export class UnavailableError extends Error {
  override name = "UnavailableError";
  readonly code = "log/unavailable";
}
/** A newer snapshot than the one requested is already in place. */
export class SnapshotOutOfDateError extends Error {
  override name = "SnapshotOutOfDateError";
  readonly code = "log/snapshot-out-of-date";
}

export interface InitialState {
  readonly hardState: HardState;
  readonly confState: ConfState;
}

/** Synchronous on purpose: the core is a pure state machine; implementations serve from memory or a cache. */
export interface LogStorage {
  initialState(): InitialState;
  /** Entries in [lo, hi), at most maxBytes of data (at least one entry if any). Throws CompactedError/UnavailableError. */
  entries(lo: Index, hi: Index, maxBytes: number): Entry[];
  /** Term of entry i; i may be the snapshot index. Throws CompactedError/UnavailableError. */
  term(i: Index): Term;
  firstIndex(): Index;
  lastIndex(): Index;
  snapshot(): Snapshot;
}
